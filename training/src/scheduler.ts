import path from "node:path";
import type { Logger } from "@marquee/runtime";
import cron, { type ScheduledTask } from "node-cron";
import { tryLock } from "./lock.ts";

export interface ScheduledJob<T = unknown> {
  name: string;
  /** A cron expression (node-cron, with optional seconds field). */
  cron: string;
  run: () => Promise<T>;
}

export type RunOutcome<T> = { ran: true; result: T; seconds: number } | { ran: false; reason: string };

/**
 * Runs training jobs on cron expressions, single-flight across processes: before a run the
 * job takes `<lockDir>/<job>.lock` (tryLock: exclusive create, stale-lock take-over); a tick
 * that finds the lock held — by this process or another — is skipped and logged. Within one
 * process, `runNow` while a run is going joins nothing and reports the skip.
 */
export class RetrainScheduler {
  private tasks: ScheduledTask[] = [];
  private running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly jobs: ScheduledJob[],
    private readonly options: { lockDir: string; logger: Logger; staleMs?: number; timezone?: string },
  ) {
    for (const job of jobs) {
      if (!cron.validate(job.cron)) throw new Error(`job ${job.name}: invalid cron expression '${job.cron}'`);
    }
  }

  start(): void {
    if (this.tasks.length > 0) return;
    const log = this.options.logger;
    for (const job of this.jobs) {
      this.tasks.push(
        cron.schedule(
          job.cron,
          async () => {
            await this.runNow(job.name).catch((err) => log.error({ err, job: job.name }, "scheduled job failed"));
          },
          {
            name: job.name,
            noOverlap: true,
            unref: true, // a schedule alone never keeps a process alive
            ...(this.options.timezone ? { timezone: this.options.timezone } : {}),
            logger: {
              info: (m) => log.debug({ job: job.name }, m),
              warn: (m) => log.warn({ job: job.name }, m),
              error: (m, err) => log.error({ job: job.name, err: err ?? m }, "cron error"),
              debug: (m) => log.debug({ job: job.name }, String(m)),
            },
          },
        ),
      );
    }
    log.info({ jobs: this.jobs.map((j) => ({ name: j.name, cron: j.cron })) }, "retraining scheduled");
  }

  async runNow<T>(name: string): Promise<RunOutcome<T>> {
    const job = this.jobs.find((j) => j.name === name) as ScheduledJob<T> | undefined;
    if (!job) throw new Error(`no job named ${name}`);
    const log = this.options.logger.child({ job: name });
    if (this.running.has(name)) {
      log.info("skipped: already running in this process");
      return { ran: false, reason: "already running in this process" };
    }
    const release = await tryLock(path.join(this.options.lockDir, `${name}.lock`), name, {
      ...(this.options.staleMs ? { staleMs: this.options.staleMs } : {}),
    });
    if (!release) {
      log.info("skipped: another process holds the lock");
      return { ran: false, reason: "locked by another run" };
    }
    const started = performance.now();
    const run = job.run();
    this.running.set(name, run);
    try {
      const result = await run;
      const seconds = Math.round(performance.now() - started) / 1000;
      log.info({ seconds }, "job finished");
      return { ran: true, result, seconds };
    } finally {
      this.running.delete(name);
      await release();
    }
  }

  async stop(): Promise<void> {
    for (const t of this.tasks) await t.stop();
    this.tasks = [];
    await Promise.allSettled([...this.running.values()]);
  }
}

/** Defaults: the full retrain nightly at 03:00, the fast models hourly. */
export const DEFAULT_RETRAIN_CRON = { full: "0 3 * * *", fast: "0 * * * *" } as const;
