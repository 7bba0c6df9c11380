import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { COMMERCE_MIGRATIONS } from "@marquee/commerce";
import { createLogger, createPostgres, type PostgresHandle, rowsOf, sql } from "@marquee/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MEDIA_MIGRATIONS, MEDIA_MIGRATIONS_TABLE, MediaAssets, mediaId, sourceKeyOf } from "./assets.ts";
import { generateDemoClip } from "./demo-clips.ts";
import { type FfmpegInfo, locateFfmpeg } from "./ffmpeg.ts";
import { MediaWorker } from "./jobs.ts";
import { mediaSchema } from "./schema.ts";
import { LocalStorage } from "./storage.ts";

const lines: string[] = [];
const logger = createLogger({ service: "test", level: "info", destination: { write: (s: string) => lines.push(s) } });

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the durable transcode queue (PGlite, local storage, real ffmpeg)", () => {
  let pg: PostgresHandle<typeof mediaSchema>;
  let dir: string;
  let storage: LocalStorage;
  let ff: FfmpegInfo;
  let assets: MediaAssets;
  let longClip: string;
  let shortClip: string;

  const job = async (assetId: string) =>
    rowsOf<{ status: string; attempts: number; locked_by: string | null; last_error: string | null }>(
      await pg.db.execute(
        sql`select status, attempts, locked_by, last_error from media_jobs where asset_id = ${assetId}`,
      ),
    )[0];

  const upload = async (titleId: string, kind: "film" | "trailer", file: string, maxAttempts?: number) => {
    const id = mediaId("ma");
    const sourceKey = sourceKeyOf(titleId, id, ".mp4");
    await storage.putFile(sourceKey, file);
    return assets.create({ id, titleId, kind, sourceKey, maxAttempts });
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "marquee-jobs-"));
    storage = new LocalStorage(path.join(dir, "storage"));
    pg = await createPostgres({ DATABASE_URL: undefined, dataDir: dir }, mediaSchema, { inMemory: true });
    // Both workspaces' migrations on one database, each with its own bookkeeping table.
    await pg.migrate(COMMERCE_MIGRATIONS);
    await pg.migrate(MEDIA_MIGRATIONS, { table: MEDIA_MIGRATIONS_TABLE });
    await pg.migrate(MEDIA_MIGRATIONS, { table: MEDIA_MIGRATIONS_TABLE });
    assets = new MediaAssets(pg.db);
    ff = await locateFfmpeg();
    longClip = path.join(dir, "long.mp4");
    shortClip = path.join(dir, "short.mp4");
    await generateDemoClip({
      ffmpeg: ff.ffmpeg,
      out: longClip,
      title: "Restart",
      seed: 3,
      duration_s: 10,
      width: 640,
      height: 360,
    });
    await generateDemoClip({
      ffmpeg: ff.ffmpeg,
      out: shortClip,
      title: "Short",
      seed: 4,
      duration_s: 3,
      width: 320,
      height: 180,
    });
  });
  afterAll(async () => {
    await pg?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a job killed mid-transcode completes on a new worker once the dead one's lease runs out", async () => {
    const asset = await upload("t_restart", "film", longClip);
    expect(asset.status).toBe("queued");
    expect(await assets.keyOf(asset.id)).toHaveLength(16);
    const opts = {
      db: pg.db,
      storage,
      ffmpeg: ff,
      logger,
      leaseMs: 1500,
      pollMs: 50,
      progressEveryMs: 100,
      tmpDir: dir,
    };
    const first = new MediaWorker({ ...opts, workerId: "w1" });
    await first.start();
    // Mid-transcode: ffmpeg has reported progress.
    await until("progress", async () => {
      const a = await assets.get(asset.id);
      return a?.status === "transcoding" && (a.progress ?? 0) > 0 && (a.progress ?? 0) < 100 && a;
    });
    const status = await assets.titleStatus("t_restart");
    expect(status.items[0]).toMatchObject({ kind: "film", status: "transcoding" });
    expect(status.items[0]?.progress).toBeGreaterThan(0);
    expect(status.film_ready).toBe(false);
    await first.stop(); // as a crash leaves it: still running, under w1's lease
    expect(await job(asset.id)).toMatchObject({ status: "running", attempts: 1, locked_by: "w1" });
    expect(await storage.stat(`${asset.root}master.m3u8`)).toBeNull();

    const second = new MediaWorker({ ...opts, workerId: "w2" });
    await second.start();
    const ready = await until("ready", async () => {
      const a = await assets.get(asset.id);
      return a?.status === "ready" && a;
    });
    await second.stop();
    expect(await job(asset.id)).toMatchObject({ status: "done", attempts: 2, locked_by: null });
    expect(ready).toMatchObject({
      encrypted: true,
      width: 640,
      height: 360,
      progress: 100,
      ffmpeg: ff.ffmpeg,
      ffmpegVersion: ff.version,
    });
    expect(ready.rungs?.map((r) => r.height)).toEqual([234, 360]);
    const files = await storage.list(ready.root);
    for (const f of [
      "master.m3u8",
      "v234/index.m3u8",
      "v360/index.m3u8",
      "audio/index.m3u8",
      "poster.jpg",
      "thumbs/sprite.jpg",
      "thumbs/thumbs.vtt",
    ])
      expect(files).toContain(`${ready.root}${f}`);
    // The key lives in Postgres only, never in storage or the logs.
    const key = (await assets.keyOf(asset.id)) as Buffer;
    for (const f of files) expect(readFileSync(storage.pathOf(f)).includes(key)).toBe(false);
    const log = lines.join("");
    expect(log).not.toContain(key.toString("hex"));
    expect(log).not.toContain(key.toString("base64"));
    const started = lines
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === "transcode started" && l.asset_id === asset.id);
    expect(started.map((l) => l.worker)).toEqual([expect.stringContaining("w1"), expect.stringContaining("w2")]);
    expect(started[1]).toMatchObject({ ffmpeg: ff.ffmpeg, ffmpeg_version: ff.version, attempt: 2 });
    expect(await assets.current("t_restart", "film")).toMatchObject({ id: asset.id });
    expect((await assets.titleStatus("t_restart")).film_ready).toBe(true);
  });

  it("in embedded mode a restart resumes an unfinished job at once, without waiting for its lease", async () => {
    const asset = await upload("t_resume", "trailer", shortClip);
    const opts = { db: pg.db, storage, ffmpeg: ff, logger, leaseMs: 10 * 60_000, pollMs: 50, tmpDir: dir };
    // The process before the restart (its workers' ids are not this process's).
    const before = new MediaWorker({ ...opts, workerId: "host:1234:previous:w" });
    await before.start();
    await until("claimed", async () => (await job(asset.id))?.status === "running");
    await before.stop();
    const after = new MediaWorker({ ...opts, resumeOnStart: true });
    await after.start();

    const ready = await until(
      "ready",
      async () => {
        const a = await assets.get(asset.id);
        return a?.status === "ready" && a;
      },
      30_000,
    );
    await after.stop();
    // A trailer is public: no key, and its playlists say so.
    expect(ready.encrypted).toBe(false);
    expect(await assets.keyOf(asset.id)).toBeNull();
    const playlist = await storage.read(`${ready.root}v234/index.m3u8`);
    let text = "";
    for await (const c of playlist) text += c;
    expect(text).not.toContain("EXT-X-KEY");
  });

  it("resuming on start takes back only what another process left running, never a sibling worker's job", async () => {
    const sibling = new MediaWorker({ db: pg.db, storage, ffmpeg: ff, logger });
    const mine = await assets.create({ titleId: "t_sib", kind: "trailer", sourceKey: "sources/t_sib/a/source.mp4" });
    const left = await assets.create({ titleId: "t_sib", kind: "trailer", sourceKey: "sources/t_sib/b/source.mp4" });
    const hold = (assetId: string, by: string) =>
      pg.db.execute(
        sql`update media_jobs set status = 'running', locked_by = ${by}, lease_until = now() + interval '10 minutes' where asset_id = ${assetId}`,
      );
    await hold(mine.id, sibling.workerId);
    await hold(left.id, "other-host:1:deadbeef0000:w");
    // Not started: nothing may be claimed, only the resume on start is under test.
    const starting = new MediaWorker({ db: pg.db, storage, ffmpeg: ff, logger, resumeOnStart: true, pollMs: 60_000 });
    await starting.start();
    await starting.stop();
    expect(await job(mine.id)).toMatchObject({ status: "running", locked_by: sibling.workerId });
    const resumed = await job(left.id);
    // Taken back (and, the worker having looked once, maybe claimed and handed back again).
    expect(resumed?.locked_by).not.toBe("other-host:1:deadbeef0000:w");
    expect(["queued", "failed"]).toContain(resumed?.status);
    await pg.db.execute(
      sql`update media_jobs set status = 'failed', locked_by = null where asset_id in (${mine.id}, ${left.id})`,
    );
  });

  it("a file that is not a video fails at once with the reason; a transient failure retries with backoff, then fails", async () => {
    const junk = path.join(dir, "junk.mp4");
    writeFileSync(junk, "not a film at all\n".repeat(100));
    const rejected = await upload("t_fail", "film", junk, 3);
    const missing = await assets.create({
      titleId: "t_fail2",
      kind: "film",
      sourceKey: "sources/t_fail2/gone/source.mp4",
      maxAttempts: 3,
    });
    const worker = new MediaWorker({ db: pg.db, storage, ffmpeg: ff, logger, pollMs: 20, backoffMs: 100, tmpDir: dir });
    await worker.start();
    const failed = await until(
      "both failed",
      async () => {
        const a = await assets.get(rejected.id);
        const b = await assets.get(missing.id);
        return a?.status === "failed" && b?.status === "failed" && ([a, b] as const);
      },
      20_000,
    );
    await worker.stop();
    expect(failed[0].error).toMatch(/not a video ffmpeg can read/);
    expect(await job(rejected.id)).toMatchObject({ status: "failed", attempts: 1 });
    expect(failed[1].error).toMatch(/^transcoding failed: /);
    expect(await job(missing.id)).toMatchObject({ status: "failed", attempts: 3 });
    const status = await assets.titleStatus("t_fail");
    expect(status.items.find((i) => i.kind === "film")).toMatchObject({ status: "failed", error: failed[0].error });
    expect(status.film_ready).toBe(false);
    // Backoff: 100 ms, then 200 ms between the three attempts.
    const retries = lines.map((l) => JSON.parse(l)).filter((l) => l.asset_id === missing.id && l.retry_in_ms);
    expect(retries.map((l) => l.retry_in_ms)).toEqual([100, 200]);
  });

  it("posters and captions are ready as stored; the seller sees every kind", async () => {
    const poster = await assets.create({
      titleId: "t_p",
      kind: "poster",
      sourceKey: "titles/t_p/poster/x/poster.jpg",
      width: 600,
      height: 900,
    });
    expect(poster.status).toBe("ready");
    expect(await job(poster.id)).toBeUndefined();
    const status = await assets.titleStatus("t_p");
    expect(status.items.map((i) => [i.kind, i.status])).toEqual([
      ["film", "none"],
      ["trailer", "none"],
      ["poster", "ready"],
      ["captions", "none"],
    ]);
    expect(existsSync(dir)).toBe(true);
  });
});
