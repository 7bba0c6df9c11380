export * from "./api.ts";
export * from "./catalog.ts";
export * from "./event-fast.ts";
export * from "./event-row.ts";
export * from "./events.ts";
export * from "./ids.ts";
export * from "./models.ts";
export * from "./topics.ts";
