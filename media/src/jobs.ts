import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { type Logger, rowsOf, sql } from "@marquee/runtime";
import { and, eq, ne } from "drizzle-orm";
import { MediaAssets, type MediaDb } from "./assets.ts";
import { placeCaptions } from "./captions.ts";
import type { FfmpegInfo } from "./ffmpeg.ts";
import { MediaRejected, type ProbedVideo, probeMedia } from "./probe.ts";
import { mediaAssets, mediaJobs } from "./schema.ts";
import type { MediaStorage } from "./storage.ts";
import { type TranscodeResult, transcodeHls } from "./transcode.ts";

export interface MediaWorkerOptions {
  db: MediaDb;
  storage: MediaStorage;
  ffmpeg: FfmpegInfo;
  logger: Logger;
  /** Names this worker in `locked_by` (default host:pid:random). */
  workerId?: string;
  /** How long a claim holds without a heartbeat (ms, default 60 s): a dead worker's job is due again after it. */
  leaseMs?: number;
  /** Heartbeat period (ms, default a third of the lease). */
  heartbeatMs?: number;
  /** How often an idle worker looks for due jobs (ms, default 1 s). */
  pollMs?: number;
  /** First retry delay (ms, default 10 s); doubles with each failed attempt. */
  backoffMs?: number;
  /** Progress is written at most this often (ms, default 2 s). */
  progressEveryMs?: number;
  /**
   * Embedded mode: this process is the only one on the database (PGlite allows one), so a job
   * still `running` under a worker of another process was left by a crash or restart; take it
   * back at once instead of waiting for its lease to run out (jobs of this process's other
   * workers are left alone).
   */
  resumeOnStart?: boolean;
  /** Where sources and renditions are staged (default the OS temp folder). */
  tmpDir?: string;
  /** Passed to transcodeHls (tests: one preset for all rungs). */
  preset?: string;
}

interface ClaimedJob {
  id: string;
  asset_id: string;
  attempts: number;
  max_attempts: number;
  title_id: string;
  kind: string;
  source_key: string;
  root: string;
  encrypted: boolean;
  key: Buffer | Uint8Array | null;
}

/**
 * Names this process in its workers' ids, so `resumeOnStart` takes back only jobs a previous
 * process left running, never those a sibling worker of this process has just claimed.
 */
const PROCESS_TAG = randomBytes(6).toString("hex");

/** Files uploaded to media storage at once per job. */
const UPLOAD_PARALLEL = 8;

/**
 * The asset a job transcodes and every asset linked to it (demo titles sharing a pool clip:
 * same root, same key), while not ready: they move through the states together.
 */
function sameRendition(root: string) {
  return and(eq(mediaAssets.root, root), ne(mediaAssets.status, "ready"));
}

/** Why a job stopped without finishing: its worker is stopping, or another worker took its lease. */
class Interrupted extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "Interrupted";
  }
}

/**
 * The transcode worker: claims due jobs from `media_jobs` (FOR UPDATE SKIP LOCKED, so several
 * workers on one Postgres share the queue, each job to one of them), holds them with a lease
 * it renews, and runs each: source from storage to a temporary folder → probe → HLS ladder →
 * every file to storage under the asset's root (playlists last, the master very last) →
 * `ready`. A failure is retried with exponential backoff until the job's `max_attempts`, then
 * the asset is `failed` with the reason; a file that can never transcode (MediaRejected) fails
 * at once. A worker that dies leaves its job `running` with a lease that runs out; the next
 * worker to look takes it (and counts the attempt).
 */
export class MediaWorker {
  readonly workerId: string;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly pollMs: number;
  private readonly backoffMs: number;
  private readonly progressEveryMs: number;
  private running = false;
  private loop: Promise<void> | null = null;
  private current: AbortController | null = null;
  private wake: (() => void) | null = null;
  private readonly log: Logger;

  constructor(private readonly options: MediaWorkerOptions) {
    this.workerId =
      options.workerId ?? `${os.hostname()}:${process.pid}:${PROCESS_TAG}:${Math.random().toString(36).slice(2, 8)}`;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.heartbeatMs = options.heartbeatMs ?? Math.max(200, Math.floor(this.leaseMs / 3));
    this.pollMs = options.pollMs ?? 1000;
    this.backoffMs = options.backoffMs ?? 10_000;
    this.progressEveryMs = options.progressEveryMs ?? 2000;
    this.log = options.logger.child({ component: "media-worker", worker: this.workerId });
  }

  /** Starts the loop (idempotent). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.options.resumeOnStart) {
      const resumed = rowsOf<{ id: string }>(
        await this.options.db.execute(
          sql`update media_jobs set status = 'queued', locked_by = null, lease_until = null, run_after = now(), updated_at = now()
              where status = 'running' and (locked_by is null or position(${`:${PROCESS_TAG}:`} in locked_by) = 0)
              returning id`,
        ),
      );
      if (resumed.length > 0) this.log.info({ jobs: resumed.length }, "resuming transcodes left running");
    }
    this.log.info(
      {
        ffmpeg: this.options.ffmpeg.ffmpeg,
        ffmpeg_version: this.options.ffmpeg.version,
        source: this.options.ffmpeg.source,
      },
      "media worker started",
    );
    this.loop = this.run();
  }

  /** A job was queued: look now rather than at the next poll. */
  poke(): void {
    this.wake?.();
  }

  /**
   * Stops: the job in hand is abandoned as a crash would leave it (ffmpeg killed, the row still
   * `running` under this worker's lease), so another worker, or this process after a restart,
   * picks it up again.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.current?.abort(new Interrupted("worker stopping"));
    this.wake?.();
    await this.loop;
    this.loop = null;
  }

  /**
   * Runs one job by id if it is due (the BullMQ dispatcher's processor): `done`, `failed` (for
   * good), `retry` (a failure with attempts left, due again at `at`), `busy` (another worker's
   * lease holds it), `waiting` (not due until `at`) or `gone` (finished earlier, or no such job).
   */
  async runJob(
    jobId: string,
  ): Promise<{ outcome: "done" | "failed" | "retry" | "busy" | "waiting" | "gone"; at?: Date }> {
    const job = await this.claim(jobId);
    if (job) await this.execute(job);
    const [row] = rowsOf<{
      status: string;
      run_after: Date | string;
      lease_until: Date | string | null;
      now: Date | string;
    }>(
      await this.options.db.execute(
        sql`select status, run_after, lease_until, now() as now from media_jobs where id = ${jobId}`,
      ),
    );
    if (!row) return { outcome: "gone" };
    if (row.status === "done") return { outcome: job ? "done" : "gone" };
    if (row.status === "failed") return { outcome: job ? "failed" : "gone" };
    if (row.status === "running")
      return { outcome: "busy", at: row.lease_until ? new Date(row.lease_until) : undefined };
    return { outcome: job ? "retry" : "waiting", at: new Date(row.run_after) };
  }

  /** Runs due jobs until none is left (tests and one-off CLI use). Returns how many it ran. */
  async drain(): Promise<number> {
    let n = 0;
    for (;;) {
      const job = await this.claim();
      if (!job) return n;
      await this.execute(job);
      n++;
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      let job: ClaimedJob | null = null;
      try {
        job = await this.claim();
        // Stopped while claiming: hand the job straight back rather than start a transcode.
        if (job && !this.running) await this.release(job);
        else if (job) await this.execute(job);
      } catch (err) {
        this.log.error({ err }, "media worker loop error");
      }
      if (!job && this.running)
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.pollMs);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      this.wake = null;
    }
  }

  /** One due job, leased to this worker: queued and due, or running with a lapsed lease. */
  private async claim(jobId?: string): Promise<ClaimedJob | null> {
    const lease = `${this.leaseMs} milliseconds`;
    const only = jobId === undefined ? sql`true` : sql`id = ${jobId}`;
    const rows = rowsOf<ClaimedJob>(
      await this.options.db.execute(sql`
        with due as (
          select id from media_jobs
          where ${only} and ((status = 'queued' and run_after <= now()) or (status = 'running' and lease_until < now()))
          order by run_after, created_at
          limit 1
          for update skip locked
        ), claimed as (
          update media_jobs j
          set status = 'running', locked_by = ${this.workerId}, lease_until = now() + ${lease}::interval,
              attempts = j.attempts + 1, updated_at = now()
          from due where j.id = due.id
          returning j.id, j.asset_id, j.attempts, j.max_attempts
        )
        select c.id, c.asset_id, c.attempts, c.max_attempts, a.title_id, a.kind, a.source_key, a.root, a.encrypted, a.key
        from claimed c join media_assets a on a.id = c.asset_id`),
    );
    const job = rows[0] ?? null;
    if (job)
      await this.options.db
        .update(mediaAssets)
        .set({ status: "transcoding", attempts: job.attempts, progress: 0, etaS: null, updatedAt: new Date() })
        .where(sameRendition(job.root));
    return job;
  }

  /** Gives back a job this worker claimed but did not start (the attempt is not counted). */
  private async release(job: ClaimedJob): Promise<void> {
    await this.options.db.execute(sql`
      update media_jobs set status = 'queued', locked_by = null, lease_until = null, attempts = attempts - 1, updated_at = now()
      where id = ${job.id} and locked_by = ${this.workerId}`);
    await this.options.db
      .update(mediaAssets)
      .set({ status: "queued", updatedAt: new Date() })
      .where(sameRendition(job.root));
  }

  /** Renews the lease; false when this worker no longer holds the job. */
  private async heartbeat(job: ClaimedJob): Promise<boolean> {
    const rows = rowsOf<{ id: string }>(
      await this.options.db.execute(sql`
        update media_jobs set lease_until = now() + ${`${this.leaseMs} milliseconds`}::interval, updated_at = now()
        where id = ${job.id} and locked_by = ${this.workerId} and status = 'running' returning id`),
    );
    return rows.length > 0;
  }

  private async execute(job: ClaimedJob): Promise<void> {
    const { ffmpeg } = this.options;
    const log = this.log.child({ job_id: job.id, asset_id: job.asset_id, title_id: job.title_id, kind: job.kind });
    // Which binary did this: the first thing to know when a transcode looks wrong.
    log.info(
      { attempt: job.attempts, ffmpeg: ffmpeg.ffmpeg, ffmpeg_version: ffmpeg.version, ffmpeg_source: ffmpeg.source },
      "transcode started",
    );
    const abort = new AbortController();
    this.current = abort;
    const beat = setInterval(() => {
      this.heartbeat(job)
        .then((held) => {
          if (!held) abort.abort(new Interrupted("lease lost to another worker"));
        })
        .catch((err) => log.warn({ err }, "heartbeat failed"));
    }, this.heartbeatMs);
    const base = this.options.tmpDir ?? os.tmpdir();
    await mkdir(base, { recursive: true });
    const work = await mkdtemp(path.join(base, "marquee-transcode-"));
    try {
      const result = await this.transcode(job, work, abort.signal, log);
      if (abort.signal.aborted) throw abort.signal.reason;
      await this.finish(job, result);
      log.info(
        {
          duration_s: result.duration_s,
          rungs: result.rungs.map((r) => r.height),
          elapsed_s: result.elapsed_s,
          realtime_factor: result.realtime_factor,
          ffmpeg_version: ffmpeg.version,
        },
        "transcode ready",
      );
    } catch (err) {
      if (err instanceof Interrupted || abort.signal.reason instanceof Interrupted) {
        log.info(
          { reason: (abort.signal.reason as Error | undefined)?.message ?? String(err) },
          "transcode interrupted",
        );
        return;
      }
      await this.failed(job, err, log);
    } finally {
      clearInterval(beat);
      this.current = null;
      await rm(work, { recursive: true, force: true });
    }
  }

  private async transcode(job: ClaimedJob, work: string, signal: AbortSignal, log: Logger): Promise<TranscodeResult> {
    const { storage, ffmpeg, db } = this.options;
    const source = path.join(work, `source${path.extname(job.source_key)}`);
    await pipeline(await storage.read(job.source_key), createWriteStream(source), { signal });
    const probe = (await probeMedia(source, { ...ffmpeg, expect: "video" })) as ProbedVideo;
    let lastWrite = 0;
    let lastLog = 0;
    let pending: Promise<unknown> = Promise.resolve();
    const outDir = path.join(work, "out");
    await mkdir(outDir, { recursive: true });
    const result = await transcodeHls({
      ffmpeg,
      source,
      outDir,
      probe,
      signal,
      preset: this.options.preset,
      encryption: job.encrypted && job.key ? { key: Buffer.from(job.key) } : undefined,
      onProgress: (p) => {
        const now = Date.now();
        if (now - lastWrite < this.progressEveryMs || p.percent >= 100) return;
        lastWrite = now;
        pending = pending.then(() =>
          db
            .update(mediaAssets)
            .set({ progress: p.percent, etaS: p.eta_s, updatedAt: new Date() })
            .where(and(eq(mediaAssets.root, job.root), eq(mediaAssets.status, "transcoding")))
            .catch((err) => log.warn({ err }, "progress not recorded")),
        );
        if (now - lastLog >= 10_000) {
          lastLog = now;
          log.info({ percent: p.percent, eta_s: p.eta_s, speed: p.speed }, "transcoding");
        }
      },
    });
    await pending;
    if (signal.aborted) throw signal.reason;
    // Segments first, then media playlists, the master last: a reader never finds a playlist
    // naming a file that is not there yet.
    // Within a stage, UPLOAD_PARALLEL at a time: a feature is thousands of segments, and each
    // is a round trip to S3.
    const rank = (f: string) => (f === "master.m3u8" ? 2 : f.endsWith(".m3u8") ? 1 : 0);
    for (const stage of [0, 1, 2]) {
      const files = result.files.filter((f) => rank(f) === stage);
      let next = 0;
      const lane = async () => {
        while (next < files.length) {
          const f = files[next++] as string;
          if (signal.aborted) throw signal.reason;
          await storage.putFile(`${job.root}${f}`, path.join(outDir, f));
        }
      };
      await Promise.all(Array.from({ length: Math.min(UPLOAD_PARALLEL, files.length) }, lane));
    }
    if (job.kind === "film") await placeCaptions(new MediaAssets(db), storage, job.title_id, job.root);
    return result;
  }

  private async finish(job: ClaimedJob, r: TranscodeResult): Promise<void> {
    const { db, ffmpeg } = this.options;
    await db.transaction(async (tx) => {
      const held = await tx
        .update(mediaJobs)
        .set({ status: "done", lockedBy: null, leaseUntil: null, lastError: null, updatedAt: new Date() })
        .where(and(eq(mediaJobs.id, job.id), eq(mediaJobs.lockedBy, this.workerId)))
        .returning({ id: mediaJobs.id });
      if (held.length === 0) throw new Interrupted("lease lost to another worker");
      await tx
        .update(mediaAssets)
        .set({
          status: "ready",
          progress: 100,
          etaS: 0,
          error: null,
          durationS: r.duration_s,
          width: r.width,
          height: r.height,
          rungs: r.rungs.map(({ name, width, height, bandwidth, average_bandwidth, codecs }) => ({
            name,
            width,
            height,
            bandwidth,
            average_bandwidth,
            codecs,
          })),
          ffmpeg: ffmpeg.ffmpeg,
          ffmpegVersion: ffmpeg.version,
          readyAt: new Date(),
          updatedAt: new Date(),
        })
        .where(sameRendition(job.root));
    });
  }

  private async failed(job: ClaimedJob, err: unknown, log: Logger): Promise<void> {
    const permanent = err instanceof MediaRejected;
    const reason = permanent
      ? (err as MediaRejected).reason
      : `transcoding failed: ${(err as Error)?.message?.split("\n")[0]?.slice(0, 500) ?? String(err)}`;
    const final = permanent || job.attempts >= job.max_attempts;
    const delayMs = this.backoffMs * 2 ** Math.max(0, job.attempts - 1);
    await this.options.db.transaction(async (tx) => {
      const held = await tx
        .update(mediaJobs)
        .set({
          status: final ? "failed" : "queued",
          lockedBy: null,
          leaseUntil: null,
          lastError: reason,
          runAfter: final ? undefined : new Date(Date.now() + delayMs),
          updatedAt: new Date(),
        })
        .where(and(eq(mediaJobs.id, job.id), eq(mediaJobs.lockedBy, this.workerId)))
        .returning({ id: mediaJobs.id });
      if (held.length === 0) return;
      await tx
        .update(mediaAssets)
        .set(
          final
            ? { status: "failed", error: reason, etaS: null, updatedAt: new Date() }
            : { status: "queued", etaS: null, updatedAt: new Date() },
        )
        .where(sameRendition(job.root));
    });
    if (final) log.warn({ err, attempt: job.attempts, reason }, "transcode failed for good");
    else log.warn({ err, attempt: job.attempts, retry_in_ms: delayMs }, "transcode failed; will retry");
  }
}
