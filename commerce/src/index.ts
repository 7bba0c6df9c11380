export * from "./catalog.ts";
export * from "./migrate.ts";
export * from "./schema.ts";
