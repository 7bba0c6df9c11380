import { fileURLToPath } from "node:url";

export type { StorefrontContext, StorefrontLog, StorefrontServices, TitleCard } from "../app/context.ts";
export { remixRoutes } from "./fastify-adapter.ts";

/**
 * Where `remix vite:build` puts the storefront, for the server that hosts it: the server
 * bundle to import and the folder of static client assets (hashed files under `assets/`).
 */
export const STOREFRONT_BUILD = {
  server: fileURLToPath(new URL("../build/server/index.js", import.meta.url)),
  client: fileURLToPath(new URL("../build/client", import.meta.url)),
} as const;
