/** Drizzle's SQL template, for packages that reach Postgres only through runtime (e.g. the outbox relay). */
export { sql } from "drizzle-orm";
export * from "./bus.ts";
export * from "./clickhouse.ts";
export * from "./config.ts";
export * from "./content-model.ts";
export * from "./errors.ts";
export * from "./free-port.ts";
export * from "./http.ts";
export * from "./kafka/index.ts";
export * from "./logger.ts";
export * from "./metrics.ts";
export * from "./model-artifacts.ts";
export * from "./model-store.ts";
export * from "./online-store.ts";
export * from "./postgres.ts";
export * from "./readiness.ts";
export * from "./redis-online-store.ts";
export * from "./top-picks.ts";
