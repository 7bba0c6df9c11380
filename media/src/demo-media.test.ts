import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger, createPostgres, type PostgresHandle } from "@marquee/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MEDIA_MIGRATIONS, MEDIA_MIGRATIONS_TABLE, MediaAssets } from "./assets.ts";
import { seedDemoMedia } from "./demo-media.ts";
import { type FfmpegInfo, locateFfmpeg } from "./ffmpeg.ts";
import { MediaWorker } from "./jobs.ts";
import { mediaSchema } from "./schema.ts";
import { LocalStorage } from "./storage.ts";

const logger = createLogger({ service: "test", level: "silent" });

describe("demo media for the seeded world", () => {
  let pg: PostgresHandle<typeof mediaSchema>;
  let dir: string;
  let storage: LocalStorage;
  let ff: FfmpegInfo;
  let assets: MediaAssets;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "marquee-demo-media-"));
    storage = new LocalStorage(path.join(dir, "storage"));
    pg = await createPostgres({ DATABASE_URL: undefined, dataDir: dir }, mediaSchema, { inMemory: true });
    await pg.migrate(MEDIA_MIGRATIONS, { table: MEDIA_MIGRATIONS_TABLE });
    assets = new MediaAssets(pg.db);
    ff = await locateFfmpeg();
  });
  afterAll(async () => {
    await pg?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("generates a small pool of clips, links every other title to one, and all play once the pool is transcoded", async () => {
    const titles = [
      { id: "t_a", title: "Alpha" },
      { id: "t_b", title: "Bravo" },
      { id: "t_c", title: "Charlie" },
    ];
    const small = { duration_s: 3, width: 320, height: 180 };
    // `tmpDir` (like $DATA_DIR/tmp on a first start) does not exist yet: it is made.
    const seeded = await seedDemoMedia({
      assets,
      storage,
      ffmpeg: ff,
      logger,
      titles,
      poolSize: 1,
      film: small,
      trailer: small,
      tmpDir: path.join(dir, "data", "tmp"),
    });
    expect(seeded).toEqual({ generated: 2, titles: 3 });
    // Until the pool is transcoded, every title says "preparing".
    for (const t of titles) expect((await assets.titleStatus(t.id)).items[0]?.status).toBe("queued");

    const worker = new MediaWorker({
      db: pg.db,
      storage,
      ffmpeg: ff,
      logger,
      tmpDir: path.join(dir, "data", "tmp"),
      preset: "ultrafast",
    });
    expect(await worker.drain()).toBe(2); // one film, one trailer: nothing twice
    const films = await Promise.all(titles.map((t) => assets.current(t.id, "film")));
    const trailers = await Promise.all(titles.map((t) => assets.current(t.id, "trailer")));
    expect(films.map((f) => f?.status)).toEqual(["ready", "ready", "ready"]);
    expect(new Set(films.map((f) => f?.root)).size).toBe(1);
    expect(trailers.every((t) => t?.status === "ready" && !t.encrypted)).toBe(true);
    const keys = await Promise.all(films.map((f) => assets.keyOf(f?.id ?? "")));
    expect(keys[0]).toHaveLength(16);
    expect(keys[1]?.equals(keys[0] as Buffer)).toBe(true);
    expect((await assets.titleStatus("t_c")).film_ready).toBe(true);
    expect(await storage.stat(`${films[2]?.root}master.m3u8`)).not.toBeNull();

    // A seeded world of thousands of titles links in a few statements, no clip made again.
    const many = [...titles, ...Array.from({ length: 1200 }, (_, i) => ({ id: `t_m${i}`, title: `Many ${i}` }))];
    const started = Date.now();
    expect(await seedDemoMedia({ assets, storage, ffmpeg: ff, logger, titles: many, poolSize: 1 })).toEqual({
      generated: 0,
      titles: 1200,
    });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect((await assets.titleStatus("t_m1199")).film_ready).toBe(true);
    expect((await assets.current("t_m7", "trailer"))?.root).toBe(trailers[0]?.root);

    // Seeding again changes nothing.
    expect(
      await seedDemoMedia({ assets, storage, ffmpeg: ff, logger, titles, poolSize: 1, film: small, trailer: small }),
    ).toEqual({
      generated: 0,
      titles: 0,
    });
  });
});
