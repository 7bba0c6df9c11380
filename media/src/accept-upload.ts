import { open } from "node:fs/promises";
import path from "node:path";
import { assetPrefix, type MediaAssets, mediaId, sourceKeyOf } from "./assets.ts";
import { placeCaptions } from "./captions.ts";
import type { FfmpegInfo } from "./ffmpeg.ts";
import { MediaRejected, probeMedia } from "./probe.ts";
import type { MediaStorage } from "./storage.ts";
import type { FinishedUpload, UploadAcceptor } from "./uploads.ts";

const IMAGE_EXT: Record<string, string> = { mjpeg: ".jpg", png: ".png", webp: ".webp" };
const LANG = /^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$/;

async function startsWithWebVtt(file: string): Promise<boolean> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(16);
    const { bytesRead } = await fh.read(buf, 0, 16, 0);
    const head = buf
      .subarray(0, bytesRead)
      .toString("utf8")
      .replace(/^\uFEFF/, "");
    return /^WEBVTT(?:[ \t\r\n]|$)/.test(head);
  } finally {
    await fh.close();
  }
}

export interface UploadAcceptorOptions {
  assets: MediaAssets;
  storage: MediaStorage;
  ffmpeg: FfmpegInfo;
  /** Called after a film or trailer is queued (e.g. `worker.poke()`), so the transcode starts now. */
  onQueued?: (assetId: string) => void;
}

/**
 * What `mediaUploadRoutes` calls with a complete upload: probes it (a video for films and
 * trailers, a JPEG/PNG/WebP for posters, WebVTT for captions) and refuses anything else with a
 * MediaRejected (422 with the reason); stores it and records the asset. Films and trailers are
 * queued for transcoding (their source kept outside the served root); posters and captions are
 * stored under their root and ready at once.
 */
export function createUploadAcceptor(options: UploadAcceptorOptions): UploadAcceptor {
  const { assets, storage, ffmpeg } = options;
  return async (upload: FinishedUpload) => {
    const id = mediaId("ma");
    const root = assetPrefix(upload.titleId, upload.kind, id);
    if (upload.kind === "film" || upload.kind === "trailer") {
      const probe = await probeMedia(upload.file, { ...ffmpeg, expect: "video" });
      const ext = path.extname(upload.filename ?? "") || ".mp4";
      const sourceKey = sourceKeyOf(upload.titleId, id, ext);
      await storage.putFile(sourceKey, upload.file);
      const asset = await assets.create({
        id,
        titleId: upload.titleId,
        kind: upload.kind,
        sourceKey,
        filename: upload.filename,
        uploadedBy: upload.userId,
        width: probe.width,
        height: probe.height,
        durationS: probe.kind === "video" ? probe.duration_s : null,
      });
      options.onQueued?.(asset.id);
      return { asset_id: asset.id, status: asset.status };
    }
    if (upload.kind === "poster") {
      const probe = await probeMedia(upload.file, { ...ffmpeg, expect: "image" });
      const sourceKey = `${root}poster${IMAGE_EXT[probe.video_codec] ?? ".jpg"}`;
      await storage.putFile(sourceKey, upload.file);
      const asset = await assets.create({
        id,
        titleId: upload.titleId,
        kind: "poster",
        sourceKey,
        filename: upload.filename,
        uploadedBy: upload.userId,
        width: probe.width,
        height: probe.height,
      });
      return { asset_id: asset.id, status: asset.status };
    }
    const lang = upload.lang ?? "und";
    if (lang !== "und" && !LANG.test(lang))
      throw new MediaRejected("captions need a language code such as en or pt-BR");
    if (!(await startsWithWebVtt(upload.file)))
      throw new MediaRejected("captions must be a WebVTT file (it starts with the line WEBVTT)");
    const sourceKey = `${root}captions.vtt`;
    await storage.putFile(sourceKey, upload.file);
    const asset = await assets.create({
      id,
      titleId: upload.titleId,
      kind: "captions",
      sourceKey,
      filename: upload.filename,
      lang,
      uploadedBy: upload.userId,
    });
    // Into the film that plays now; a film transcoded later gets them when it is ready (jobs.ts).
    const film = await assets.current(upload.titleId, "film");
    if (film && film.titleId === upload.titleId && film.root.startsWith(`titles/${upload.titleId}/`))
      await placeCaptions(assets, storage, upload.titleId, film.root);
    return { asset_id: asset.id, status: asset.status };
  };
}
