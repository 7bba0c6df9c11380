/**
 * Media: uploads, ffmpeg transcoding to an HLS ladder, AES-128 keys, signed playback URLs, the
 * origin server. See README.md.
 */

export * from "./playback-types.ts";
export * from "./create-storage.ts";
export * from "./s3-storage.ts";
export * from "./storage.ts";
export * from "./uploads.ts";
