import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger, createPostgres, type PostgresHandle } from "@marquee/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUploadAcceptor } from "./accept-upload.ts";
import { MEDIA_MIGRATIONS, MEDIA_MIGRATIONS_TABLE, MediaAssets } from "./assets.ts";
import { generateDemoClip } from "./demo-clips.ts";
import { type FfmpegInfo, locateFfmpeg, runCapture } from "./ffmpeg.ts";
import { MediaWorker } from "./jobs.ts";
import type { PlaybackAssets } from "./playback.ts";
import { MediaRejected } from "./probe.ts";
import { mediaSchema } from "./schema.ts";
import { LocalStorage } from "./storage.ts";
import type { FinishedUpload, UploadAcceptor } from "./uploads.ts";

const logger = createLogger({ service: "test", level: "silent" });

describe("taking a finished upload", () => {
  let pg: PostgresHandle<typeof mediaSchema>;
  let dir: string;
  let storage: LocalStorage;
  let assets: MediaAssets;
  let accept: UploadAcceptor;
  let clip: string;
  let ff: FfmpegInfo;
  const queued: string[] = [];

  const upload = (file: string, kind: FinishedUpload["kind"], extra: Partial<FinishedUpload> = {}): FinishedUpload => ({
    id: "u1",
    file,
    size: 1,
    titleId: "t_up",
    kind,
    filename: path.basename(file),
    lang: null,
    userId: "u_seller",
    ...extra,
  });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "marquee-accept-"));
    storage = new LocalStorage(path.join(dir, "storage"));
    pg = await createPostgres({ DATABASE_URL: undefined, dataDir: dir }, mediaSchema, { inMemory: true });
    await pg.migrate(MEDIA_MIGRATIONS, { table: MEDIA_MIGRATIONS_TABLE });
    assets = new MediaAssets(pg.db);
    ff = await locateFfmpeg();
    accept = createUploadAcceptor({ assets, storage, ffmpeg: ff, onQueued: (id) => queued.push(id) });
    clip = path.join(dir, "film.mp4");
    await generateDemoClip({
      ffmpeg: ff.ffmpeg,
      out: clip,
      title: "Up",
      seed: 9,
      duration_s: 3,
      width: 320,
      height: 180,
    });
    await runCapture(ff.ffmpeg, [
      "-v",
      "error",
      "-y",
      "-i",
      clip,
      "-frames:v",
      "1",
      "-update",
      "1",
      path.join(dir, "poster.jpg"),
    ]);
  });
  afterAll(async () => {
    await pg?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("queues a film, its source kept outside the served root", async () => {
    const r = await accept(upload(clip, "film"));
    expect(r.status).toBe("queued");
    expect(queued).toEqual([r.asset_id]);
    const a = await assets.get(r.asset_id);
    expect(a).toMatchObject({ kind: "film", encrypted: true, width: 320, height: 180, uploadedBy: "u_seller" });
    expect(a?.sourceKey.startsWith("sources/t_up/")).toBe(true);
    expect(a?.sourceKey.startsWith(a?.root ?? "")).toBe(false);
    expect(await storage.stat(a?.sourceKey ?? "")).not.toBeNull();
  });

  it("stores a poster ready under its root, and captions that are WebVTT", async () => {
    const p = await accept(upload(path.join(dir, "poster.jpg"), "poster"));
    expect(p.status).toBe("ready");
    const poster = await assets.get(p.asset_id);
    expect(poster?.sourceKey).toBe(`${poster?.root}poster.jpg`);
    const vtt = path.join(dir, "en.vtt");
    writeFileSync(vtt, "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nHello\n");
    const c = await accept(upload(vtt, "captions", { lang: "en" }));
    expect((await assets.get(c.asset_id))?.lang).toBe("en");
  });

  it("puts captions where the film's playback finds them, whichever arrives first, and playback sees root, status and captions", async () => {
    const worker = new MediaWorker({ db: pg.db, storage, ffmpeg: ff, logger, tmpDir: dir, preset: "ultrafast" });
    // What MediaPlayback takes: this must stay assignable to its PlaybackAssets.
    const playback = assets.playbackAssets() satisfies PlaybackAssets;
    // The film queued by the first test, with English captions accepted before it was ready.
    expect(await playback.currentAsset("t_up", "film")).toMatchObject({ status: "preparing", captions: [] });
    expect(await worker.drain()).toBe(1);
    const film = await playback.currentAsset("t_up", "film");
    expect(film).toMatchObject({
      status: "ready",
      captions: [{ lang: "en", label: "English", path: "captions/en.vtt" }],
    });
    expect(film?.root).toBe(`titles/t_up/film/${film?.id}`);
    expect(await storage.stat(`${film?.root}/captions/en.vtt`)).not.toBeNull();
    // Captions after the film: straight into its root.
    const fr = path.join(dir, "fr.vtt");
    writeFileSync(fr, "\uFEFFWEBVTT\n\n00:00:00.000 --> 00:00:01.000\nBonjour\n");
    await accept(upload(fr, "captions", { lang: "fr" }));
    expect(await storage.stat(`${film?.root}/captions/fr.vtt`)).not.toBeNull();
    expect((await playback.currentAsset("t_up", "film"))?.captions.map((c) => c.label)).toEqual(["French", "English"]);
    expect(await playback.currentAsset("t_none", "trailer")).toBeNull();
    expect(await playback.keyOf(film?.id ?? "")).toHaveLength(16);
  });

  it("refuses a text file renamed .mp4, a film as a poster, and captions that are not WebVTT, with reasons", async () => {
    const fake = path.join(dir, "fake.mp4");
    writeFileSync(fake, "hello, I am text\n".repeat(40));
    await expect(accept(upload(fake, "trailer"))).rejects.toThrow(MediaRejected);
    await expect(accept(upload(fake, "trailer"))).rejects.toThrow(/not a video ffmpeg can read/);
    await expect(accept(upload(clip, "poster"))).rejects.toThrow(/JPEG, PNG or WebP/);
    await expect(accept(upload(fake, "captions", { lang: "en" }))).rejects.toThrow(/WebVTT/);
    expect((await assets.titleStatus("t_up")).items.find((i) => i.kind === "trailer")?.status).toBe("none");
  });
});
