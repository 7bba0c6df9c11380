export * from "./offline.ts";
export * from "./online.ts";
export * from "./titles.ts";
export * from "./weights.ts";
