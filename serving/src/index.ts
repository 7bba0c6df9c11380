export * from "./access.ts";
export * from "./client.ts";
export * from "./models.ts";
export * from "./recommender.ts";
export * from "./routes.ts";
