import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createLogger } from "@marquee/runtime";
import { afterAll, describe, expect, it } from "vitest";
import { tryLock } from "./lock.ts";
import { RetrainScheduler } from "./scheduler.ts";

const dir = await mkdtemp(path.join(tmpdir(), "marquee-locks-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
const logger = createLogger({ service: "test", level: "silent" });

describe("single-flight retraining", () => {
  it("two schedulers sharing a registry never train at once", async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const job = {
      name: "full",
      cron: "0 3 * * *",
      run: async () => {
        active++;
        runs++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 50));
        active--;
      },
    };
    const a = new RetrainScheduler([job], { lockDir: dir, logger });
    const b = new RetrainScheduler([job], { lockDir: dir, logger });
    const outcomes = await Promise.all([a.runNow("full"), b.runNow("full"), a.runNow("full")]);
    expect(outcomes.filter((o) => o.ran)).toHaveLength(1);
    expect(maxActive).toBe(1);
    expect(runs).toBe(1);
    // The lock is released: the next run goes ahead.
    expect((await b.runNow("full")).ran).toBe(true);
  });

  it("a lock held by a live process elsewhere blocks; a dead holder's lock is taken over", async () => {
    const file = path.join(dir, "x.lock");
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 10000)"], { stdio: "ignore" });
    const { hostname } = await import("node:os");
    await writeFile(
      file,
      JSON.stringify({ pid: child.pid, host: hostname(), since: new Date().toISOString(), job: "x" }),
    );
    expect(await tryLock(file, "x")).toBeNull();
    child.kill();
    await new Promise((r) => child.once("exit", r));
    const release = await tryLock(file, "x");
    expect(release).not.toBeNull();
    await release?.();
    // Older than staleMs: taken over whoever held it.
    await writeFile(file, JSON.stringify({ pid: 1, host: "elsewhere", since: "2000-01-01T00:00:00Z", job: "x" }));
    expect(await tryLock(file, "x", { staleMs: 60_000 })).toBeNull();
    expect(await tryLock(file, "x", { staleMs: -1 })).not.toBeNull();
  });

  it("rejects a bad cron expression", () => {
    expect(
      () => new RetrainScheduler([{ name: "x", cron: "every night", run: async () => 1 }], { lockDir: dir, logger }),
    ).toThrow(/invalid cron/);
  });
});
