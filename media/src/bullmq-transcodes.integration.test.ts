import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger, createPostgres, type PostgresHandle, rowsOf, sql } from "@marquee/runtime";
import { serviceSuite } from "@marquee/runtime/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MEDIA_MIGRATIONS, MEDIA_MIGRATIONS_TABLE, MediaAssets, mediaId, sourceKeyOf } from "./assets.ts";
import { BullMqTranscodes } from "./bullmq-transcodes.ts";
import { generateDemoClip } from "./demo-clips.ts";
import { type FfmpegInfo, locateFfmpeg } from "./ffmpeg.ts";
import { MediaWorker } from "./jobs.ts";
import { mediaSchema } from "./schema.ts";
import { LocalStorage } from "./storage.ts";

const lines: string[] = [];
const logger = createLogger({ service: "test", level: "info", destination: { write: (s: string) => lines.push(s) } });

serviceSuite("media transcodes dispatched by BullMQ on Redis", process.env.TEST_REDIS_URL, (redisUrl) => {
  const prefix = `marquee-test-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`;
  let pg: PostgresHandle<typeof mediaSchema>;
  let dir: string;
  let storage: LocalStorage;
  let ff: FfmpegInfo;
  let assets: MediaAssets;
  let clip: string;
  const dispatchers: BullMqTranscodes[] = [];

  const dispatcher = (workerId: string, extra: Partial<ConstructorParameters<typeof MediaWorker>[0]> = {}) => {
    const worker = new MediaWorker({
      db: pg.db,
      storage,
      ffmpeg: ff,
      logger,
      workerId,
      tmpDir: dir,
      preset: "ultrafast",
      leaseMs: 2000,
      ...extra,
    });
    const d = new BullMqTranscodes({ redisUrl, db: pg.db, worker, logger, prefix, lockMs: 2000, sweepMs: 1000 });
    dispatchers.push(d);
    return d;
  };
  const until = async (f: () => Promise<boolean>, ms = 60_000) => {
    const end = Date.now() + ms;
    while (!(await f())) {
      if (Date.now() > end) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const jobsOf = async () =>
    rowsOf<{ asset_id: string; status: string; attempts: number }>(
      await pg.db.execute(sql`select asset_id, status, attempts from media_jobs order by created_at`),
    );

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "marquee-bullmq-"));
    storage = new LocalStorage(path.join(dir, "storage"));
    pg = await createPostgres({ DATABASE_URL: undefined, dataDir: dir }, mediaSchema, { inMemory: true });
    await pg.migrate(MEDIA_MIGRATIONS, { table: MEDIA_MIGRATIONS_TABLE });
    assets = new MediaAssets(pg.db);
    ff = await locateFfmpeg();
    clip = path.join(dir, "clip.mp4");
    await generateDemoClip({
      ffmpeg: ff.ffmpeg,
      out: clip,
      title: "Bull",
      seed: 6,
      duration_s: 2,
      width: 320,
      height: 180,
    });
  });
  afterAll(async () => {
    for (const d of dispatchers) await d.stop().catch(() => undefined);
    const cleanup = dispatcher("cleanup");
    await cleanup.queue.obliterate({ force: true });
    await cleanup.stop();
    await pg?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("two processes share the transcodes announced on Redis, each transcoded once", async () => {
    const a = dispatcher("bull-a");
    const b = dispatcher("bull-b");
    await Promise.all([a.start(), b.start()]);
    const queued = [];
    for (const t of ["t_b1", "t_b2", "t_b3"]) {
      const id = mediaId("ma");
      const sourceKey = sourceKeyOf(t, id, ".mp4");
      await storage.putFile(sourceKey, clip);
      const asset = await assets.create({ id, titleId: t, kind: "trailer", sourceKey });
      queued.push(asset);
      // Announced twice (the uploader, and both sweeps soon after): still one transcode each.
      await a.announceAsset(asset.id);
      await b.announceAsset(asset.id);
    }
    await until(async () => (await jobsOf()).every((j) => j.status === "done"));
    expect((await jobsOf()).map((j) => j.attempts)).toEqual([1, 1, 1]);
    const started = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "transcode started");
    expect(started.map((l) => l.asset_id).sort()).toEqual(queued.map((q) => q.id).sort());
    await Promise.all([a.stop(), b.stop()]);
  });

  it("a transcode whose process died is picked up by another once its lease lapses", async () => {
    const dead = dispatcher("bull-dead");
    await dead.start();
    const id = mediaId("ma");
    const sourceKey = sourceKeyOf("t_bdead", id, ".mp4");
    await storage.putFile(sourceKey, clip);
    const asset = await assets.create({ id, titleId: "t_bdead", kind: "trailer", sourceKey });
    await dead.announceAsset(asset.id);
    await until(async () => (await assets.get(asset.id))?.status === "transcoding");
    await dead.stop();
    const heir = dispatcher("bull-heir");
    await heir.start();
    await until(async () => (await assets.get(asset.id))?.status === "ready");
    expect((await jobsOf()).find((j) => j.asset_id === asset.id)).toMatchObject({ status: "done", attempts: 2 });
    await heir.stop();
  });

  it("a failure is retried with the row's backoff as BullMQ's delay, then the asset fails with the reason", async () => {
    const d = dispatcher("bull-retry", { backoffMs: 100 });
    await d.start();
    const asset = await assets.create({
      titleId: "t_bfail",
      kind: "trailer",
      sourceKey: "sources/t_bfail/x/source.mp4",
      maxAttempts: 3,
    });
    await d.announceAsset(asset.id);
    await until(async () => (await assets.get(asset.id))?.status === "failed", 20_000);
    const job = (await jobsOf()).find((j) => j.asset_id === asset.id);
    expect(job).toMatchObject({ status: "failed", attempts: 3 });
    expect((await assets.get(asset.id))?.error).toMatch(/^transcoding failed/);
    await d.stop();
  });
});
