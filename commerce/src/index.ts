export * from "./catalog.ts";
export * from "./migrate.ts";
export * from "./outbox.ts";
export * from "./schema.ts";
