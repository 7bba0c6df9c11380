/**
 * What other workspaces may reuse of the composition root, all of it to run the real thing:
 * the app factory `marquee start` runs (e2e/ builds the whole store with it), and the loader
 * process `marquee loader` runs (bench/ measures it, e2e/ crashes it).
 */
export { createMarquee, type Marquee } from "./app.ts";
export { type LoaderProcess, startLoaderProcess } from "./loader-process.ts";
