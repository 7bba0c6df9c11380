export * from "./migrations.ts";
export * from "./queries.ts";
export * from "./titles.ts";
