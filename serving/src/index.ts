export * from "./access.ts";
export * from "./audience.ts";
export * from "./client.ts";
export * from "./models.ts";
export * from "./recommender.ts";
export * from "./routes.ts";
export * from "./titles.ts";
