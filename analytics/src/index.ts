export * from "./migrations.ts";
export * from "./queries.ts";
