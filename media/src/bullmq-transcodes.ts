import type { Logger } from "@marquee/runtime";
import { rowsOf, sql } from "@marquee/runtime";
import { type Job, Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import type { MediaDb } from "./assets.ts";
import type { MediaWorker } from "./jobs.ts";

export const TRANSCODE_QUEUE = "media-transcode";

export interface BullMqTranscodesOptions {
  redisUrl: string;
  db: MediaDb;
  /** Runs each job (`runJob`); its own poll loop is not started. */
  worker: MediaWorker;
  logger: Logger;
  queueName?: string;
  /** Redis key prefix (default `bull`); tests use one of their own. */
  prefix?: string;
  /** Transcodes at once in this process (default 1: ffmpeg uses every core it is given). */
  concurrency?: number;
  /**
   * BullMQ's job lock (ms, default 60 s): a process that dies holding a job has it moved back
   * to waiting after this; keep it equal to the MediaWorker's lease.
   */
  lockMs?: number;
  /** How often due Postgres jobs are (re)announced on Redis (ms, default 30 s). */
  sweepMs?: number;
}

/**
 * Scaled mode's dispatch: BullMQ on Redis hands transcode jobs to the worker processes, so
 * they start the moment they are queued and several processes share them. Postgres stays the
 * record (`media_jobs`: attempts, backoff, failures, the asset's progress; enqueued in the
 * same transaction as the asset), and a BullMQ job only says "run media job X now":
 * `MediaWorker.runJob` claims the row (FOR UPDATE SKIP LOCKED, leased), so a message
 * delivered twice, or to two processes, transcodes once. A retry is announced again with the
 * row's backoff as BullMQ's delay; a job whose process died comes back through BullMQ's stalled
 * check (its lock lapses) and through the sweep, which also announces jobs queued while Redis
 * was away.
 */
export class BullMqTranscodes {
  readonly queue: Queue;
  private bull: Worker | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  private readonly connections: Redis[] = [];
  private readonly log: Logger;
  private readonly name: string;

  constructor(private readonly o: BullMqTranscodesOptions) {
    this.name = o.queueName ?? TRANSCODE_QUEUE;
    this.log = o.logger.child({ component: "media-bullmq", queue: this.name });
    this.queue = new Queue(this.name, { connection: this.connection(), prefix: o.prefix });
  }

  private connection(): Redis {
    // BullMQ's blocking commands need ioredis to retry for ever rather than fail a request.
    const c = new Redis(this.o.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
    c.on("error", (err) => this.log.warn({ err }, "redis connection error"));
    this.connections.push(c);
    return c;
  }

  /**
   * Announces media job `jobId` (after `delayMs`). The BullMQ id names the attempt, so the
   * sweep and the uploader announcing the same attempt make one message.
   */
  async announce(jobId: string, attempt: number, delayMs = 0): Promise<void> {
    await this.queue.add(
      "transcode",
      { jobId },
      {
        jobId: `${jobId}-${attempt}`,
        delay: Math.max(0, Math.round(delayMs)),
        removeOnComplete: true,
        removeOnFail: 1000,
        // Only "busy" (another live lease) throws; try again a lease later.
        attempts: 50,
        backoff: { type: "fixed", delay: this.o.lockMs ?? 60_000 },
      },
    );
  }

  /** Announces the transcode of an asset just queued (`createUploadAcceptor`'s `onQueued`). */
  async announceAsset(assetId: string): Promise<void> {
    const rows = rowsOf<{ id: string; attempts: number }>(
      await this.o.db.execute(
        sql`select id, attempts from media_jobs where asset_id = ${assetId} and status = 'queued'`,
      ),
    );
    for (const r of rows) await this.announce(r.id, r.attempts);
  }

  /** Announces every queued job (with its remaining backoff) and every running one whose lease lapsed. */
  async sweep(): Promise<number> {
    const rows = rowsOf<{ id: string; attempts: number; delay_ms: number }>(
      await this.o.db.execute(sql`
        select id, attempts, greatest(0, extract(epoch from (run_after - now())) * 1000)::float8 as delay_ms
        from media_jobs
        where status = 'queued' or (status = 'running' and lease_until < now())`),
    );
    for (const r of rows) await this.announce(r.id, r.attempts, Number(r.delay_ms));
    return rows.length;
  }

  async start(): Promise<void> {
    if (this.bull) return;
    this.bull = new Worker(this.name, (job: Job<{ jobId: string }>) => this.process(job), {
      connection: this.connection(),
      prefix: this.o.prefix,
      concurrency: this.o.concurrency ?? 1,
      lockDuration: this.o.lockMs ?? 60_000,
      stalledInterval: Math.max(500, Math.floor((this.o.lockMs ?? 60_000) / 2)),
    });
    this.bull.on("error", (err) => this.log.warn({ err }, "bullmq worker error"));
    await this.sweep();
    this.sweeper = setInterval(
      () => void this.sweep().catch((err) => this.log.warn({ err }, "transcode sweep failed")),
      this.o.sweepMs ?? 30_000,
    );
    this.sweeper.unref();
  }

  private async process(job: Job<{ jobId: string }>): Promise<string> {
    const r = await this.o.worker.runJob(job.data.jobId);
    if (r.outcome === "retry" || r.outcome === "waiting") {
      const [row] = rowsOf<{ attempts: number }>(
        await this.o.db.execute(sql`select attempts from media_jobs where id = ${job.data.jobId}`),
      );
      await this.announce(job.data.jobId, row?.attempts ?? 0, (r.at?.getTime() ?? Date.now()) - Date.now());
    }
    if (r.outcome === "busy") throw new Error("another worker holds this transcode; trying again after its lease");
    return r.outcome;
  }

  /** Stops taking jobs; a transcode in hand is abandoned like a crash (its lease lets another process take it). */
  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    await this.o.worker.stop();
    await this.bull?.close(true);
    this.bull = null;
    await this.queue.close();
    for (const c of this.connections) c.disconnect();
  }
}
