/**
 * Media: uploads, HLS transcoding, signed playback URLs, the origin server. Nothing is exported
 * yet — this workspace is filled by the media step; the folder exists so the import boundaries
 * of DESIGN.md are enforced from day one.
 */
export const MEDIA_STATUS = "not built yet" as const;
