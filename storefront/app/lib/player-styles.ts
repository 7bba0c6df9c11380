import type { LinkDescriptor } from "@remix-run/node";
import videoJsCss from "video.js/dist/video-js.min.css?url";

/** video.js's stylesheet, for the `links` of a page that shows a player (linked, never inline: the CSP). */
export const playerStylesheets: LinkDescriptor[] = [{ rel: "stylesheet", href: videoJsCss }];
