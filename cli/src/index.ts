/**
 * What other workspaces may reuse of the composition root: only the bench scripts (bench/),
 * which start the very loader process `marquee loader` runs, so they measure the real thing.
 */
export { type LoaderProcess, startLoaderProcess } from "./loader-process.ts";
