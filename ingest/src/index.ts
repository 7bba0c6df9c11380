export * from "./catalog-loader.ts";
export * from "./collector.ts";
export * from "./event-row.ts";
export * from "./loader.ts";
export * from "./outbox-relay.ts";
export * from "./routes.ts";
