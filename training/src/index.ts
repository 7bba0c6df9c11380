export * from "./item-to-item.ts";
export * from "./popularity.ts";
export * from "./refresh.ts";
