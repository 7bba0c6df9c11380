import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createRequestHandler, type ServerBuild } from "@remix-run/node";
import { openTestStore, type TestStore } from "./test-services";

/**
 * What the storefront's request-level tests share: the built app (`npm run build:storefront`
 * writes it; without one they skip, and CI fails) called with Fetch Requests, on a real test
 * store, and the two ways they read its pages.
 */
export const BUILD_PATH = fileURLToPath(new URL("../build/server/index.js", import.meta.url));
export const hasBuild = existsSync(BUILD_PATH);

export type AppHandler = ReturnType<typeof createRequestHandler>;

/** The built app's request handler and a fresh store (the caller closes it, in its afterAll). */
export async function openBuiltApp(
  options?: Parameters<typeof openTestStore>[0],
): Promise<{ handler: AppHandler; store: TestStore }> {
  const build = (await import(pathToFileURL(BUILD_PATH).href)) as ServerBuild;
  return { handler: createRequestHandler(build, "production"), store: await openTestStore(options) };
}

/** The CSRF token a page's forms carry. */
export const csrfIn = (html: string) => /name="_csrf" value="([^"]*)"/.exec(html)?.[1] ?? "";

/** A page's HTML with React's text separators and the entities it escapes undone, to match on words. */
export const text = (html: string) =>
  html
    .replace(/<!-- -->/g, "")
    .replace(/&#x27;/g, "'")
    .replace(/&quot;/g, '"');
