/**
 * Media: uploads, ffmpeg transcoding to an HLS ladder, AES-128 keys, signed playback URLs, the
 * origin server. See README.md.
 */

export * from "./create-storage.ts";
export * from "./origin.ts";
export * from "./playback.ts";
export * from "./playback-routes.ts";
export * from "./playback-types.ts";
export * from "./s3-storage.ts";
export * from "./signing.ts";
export * from "./storage.ts";
export * from "./stream-sessions.ts";
export * from "./uploads.ts";
