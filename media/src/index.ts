/**
 * Media: uploads, ffmpeg transcoding to an HLS ladder, AES-128 keys, signed playback URLs, the
 * origin server. See README.md.
 */

export * from "./accept-upload.ts";
export * from "./assets.ts";
export * from "./bullmq-transcodes.ts";
export * from "./captions.ts";
export * from "./create-storage.ts";
export * from "./demo-clips.ts";
export * from "./demo-media.ts";
export * from "./ffmpeg.ts";
export * from "./jobs.ts";
export * from "./ladder.ts";
export * from "./origin.ts";
export * from "./playback.ts";
export * from "./playback-routes.ts";
export * from "./playback-types.ts";
export * from "./probe.ts";
export * from "./s3-storage.ts";
export * from "./schema.ts";
export * from "./signing.ts";
export * from "./storage.ts";
export * from "./stream-sessions.ts";
export * from "./transcode.ts";
export * from "./uploads.ts";
