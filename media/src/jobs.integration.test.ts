import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger, createPostgres, type PostgresHandle, rowsOf, sql } from "@marquee/runtime";
import { serviceSuite } from "@marquee/runtime/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MEDIA_MIGRATIONS, MEDIA_MIGRATIONS_TABLE, MediaAssets, mediaId, sourceKeyOf } from "./assets.ts";
import { generateDemoClip } from "./demo-clips.ts";
import { type FfmpegInfo, locateFfmpeg } from "./ffmpeg.ts";
import { MediaWorker } from "./jobs.ts";
import { mediaSchema } from "./schema.ts";
import { LocalStorage } from "./storage.ts";

const lines: string[] = [];
const logger = createLogger({ service: "test", level: "info", destination: { write: (s: string) => lines.push(s) } });

serviceSuite("media jobs on Postgres", process.env.TEST_DATABASE_URL, (url) => {
  const name = `marquee_media_test_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  let pg: PostgresHandle<typeof mediaSchema>;
  let dir: string;
  let storage: LocalStorage;
  let ff: FfmpegInfo;
  let assets: MediaAssets;
  let clip: string;

  const admin = () => createPostgres({ DATABASE_URL: url, dataDir: "" }, {});
  const queue = async (titleId: string) => {
    const id = mediaId("ma");
    const sourceKey = sourceKeyOf(titleId, id, ".mp4");
    await storage.putFile(sourceKey, clip);
    return assets.create({ id, titleId, kind: "trailer", sourceKey });
  };
  const until = async (f: () => Promise<boolean>, ms = 60_000) => {
    const end = Date.now() + ms;
    while (!(await f())) {
      if (Date.now() > end) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    const a = await admin();
    await a.db.execute(sql.raw(`create database ${name}`));
    await a.close();
    const u = new URL(url);
    u.pathname = `/${name}`;
    pg = await createPostgres({ DATABASE_URL: u.toString(), dataDir: "" }, mediaSchema);
    await pg.migrate(MEDIA_MIGRATIONS, { table: MEDIA_MIGRATIONS_TABLE });
    assets = new MediaAssets(pg.db);
    dir = mkdtempSync(path.join(os.tmpdir(), "marquee-jobs-pg-"));
    storage = new LocalStorage(path.join(dir, "storage"));
    ff = await locateFfmpeg();
    clip = path.join(dir, "clip.mp4");
    await generateDemoClip({
      ffmpeg: ff.ffmpeg,
      out: clip,
      title: "Shared",
      seed: 5,
      duration_s: 2,
      width: 320,
      height: 180,
    });
  });
  afterAll(async () => {
    await pg?.close();
    const b = await admin();
    await b.db.execute(sql.raw(`drop database if exists ${name} with (force)`));
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("three workers share four jobs, each job transcoded exactly once", async () => {
    const queued = await Promise.all(["t_1", "t_2", "t_3", "t_4"].map(queue));
    const workers = [1, 2, 3].map(
      (i) =>
        new MediaWorker({
          db: pg.db,
          storage,
          ffmpeg: ff,
          logger,
          workerId: `pg-w${i}`,
          pollMs: 20,
          tmpDir: dir,
          preset: "ultrafast",
        }),
    );
    await Promise.all(workers.map((w) => w.start()));
    await until(async () => {
      const rows = rowsOf<{ n: number }>(
        await pg.db.execute(sql`select count(*)::int as n from media_jobs where status = 'done'`),
      );
      return rows[0]?.n === 4;
    });
    await Promise.all(workers.map((w) => w.stop()));
    const jobs = rowsOf<{ attempts: number }>(await pg.db.execute(sql`select attempts from media_jobs`));
    expect(jobs.map((j) => j.attempts)).toEqual([1, 1, 1, 1]);
    const started = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "transcode started");
    expect(started.map((l) => l.asset_id).sort()).toEqual(queued.map((a) => a.id).sort());
    for (const a of queued) expect((await assets.get(a.id))?.status).toBe("ready");
  });

  it("a job whose worker died is taken by another once the lease lapses", async () => {
    const asset = await queue("t_dead");
    const dead = new MediaWorker({
      db: pg.db,
      storage,
      ffmpeg: ff,
      logger,
      workerId: "pg-dead",
      leaseMs: 1000,
      pollMs: 20,
      tmpDir: dir,
    });
    await dead.start();
    await until(async () => (await assets.get(asset.id))?.status === "transcoding");
    await dead.stop();
    const heir = new MediaWorker({
      db: pg.db,
      storage,
      ffmpeg: ff,
      logger,
      workerId: "pg-heir",
      leaseMs: 1000,
      pollMs: 20,
      tmpDir: dir,
    });
    await heir.start();
    await until(async () => (await assets.get(asset.id))?.status === "ready");
    await heir.stop();
    const [job] = rowsOf<{ attempts: number; status: string }>(
      await pg.db.execute(sql`select attempts, status from media_jobs where asset_id = ${asset.id}`),
    );
    expect(job).toEqual({ attempts: 2, status: "done" });
  });
});
