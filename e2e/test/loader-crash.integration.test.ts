import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createLogger, KafkaBus } from "@marquee/runtime";
import { serviceSuite } from "@marquee/runtime/testing";
import { v7 as uuidv7 } from "uuid";
import { afterAll, expect, it } from "vitest";

const execFileAsync = promisify(execFile);
const REPO = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = path.join(REPO, "cli/src/main.ts");
const FIXTURE = path.join(REPO, "e2e/test/fixtures/loader-fixture.ts");
const logger = createLogger({ service: "test", level: "silent" });
const RUN = `${Date.now().toString(36)}-${process.pid}`;
const BROKERS = process.env.TEST_KAFKA_BROKERS ?? "";

// Every ClickHouse access happens in child processes (chDB: one data directory per process,
// and the loader process owns it while it runs), one after the other.
serviceSuite("Loader crash (SIGKILL)", BROKERS ? `kafka://${BROKERS.split(",")[0]}` : undefined, () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "marquee-loader-crash-"));
  const topic = `test.crash.${RUN}`;
  const group = `loader-${topic}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    KAFKA_BROKERS: BROKERS,
    KAFKA_EVENTS_TOPIC: topic,
    KAFKA_PARTITIONS: "2",
    LOADER_GROUP: group,
    LOADER_BATCH_ROWS: "250",
    LOADER_BATCH_MS: "50",
    LOG_LEVEL: "warn",
  };
  delete env.CLICKHOUSE_URL;
  delete env.REDIS_URL;
  const children: ChildProcess[] = [];
  let bus: KafkaBus | undefined;

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    if (bus) {
      const admin = bus.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
      await admin.deleteGroups([group]).catch(() => undefined);
      await admin.disconnect();
      await bus.close();
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  const count = async () => {
    const { stdout } = await execFileAsync(process.execPath, ["--import", "tsx", FIXTURE, "count"], {
      env,
      cwd: REPO,
      timeout: 60_000,
    });
    return JSON.parse(stdout.trim().split("\n").pop() as string) as { rows: number; unique: number };
  };

  const exited = (c: ChildProcess) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) resolve({ code: c.exitCode, signal: c.signalCode });
      else c.once("exit", (code, signal) => resolve({ code, signal }));
    });

  /** Committed offset of the group per partition equals the end of the topic. */
  const caughtUp = async () => {
    const admin = (bus as KafkaBus).admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return ends.every((e) => committed?.partitions.find((p) => p.partition === e.partition)?.offset === e.high);
    } finally {
      await admin.disconnect();
    }
  };

  it("killed after an insert and before its commit, then restarted: still exactly N rows", async () => {
    const N = 2_000;
    bus = await KafkaBus.connect({
      brokers: BROKERS.split(","),
      logger,
      topics: [{ name: topic, partitions: 2 }],
    });
    const now = Date.now();
    await bus.publish(
      topic,
      Array.from({ length: N }, (_, i) => ({
        key: `u${i % 13}`,
        value: {
          event_id: uuidv7(),
          type: "click",
          user_id: `u${i % 13}`,
          item_id: `t${i % 300}`,
          occurred_at: new Date(now - 1000).toISOString(),
          received_at: new Date(now).toISOString(),
          context: { device: "tv" },
        },
      })),
    );

    // 1. A loader that dies by SIGKILL right after its first insert landed.
    const crashing = spawn(process.execPath, ["--import", "tsx", FIXTURE, "crash-after-insert"], {
      env,
      cwd: REPO,
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(crashing);
    let out = "";
    crashing.stdout?.on("data", (d) => {
      out += String(d);
    });
    expect(await exited(crashing)).toEqual({ code: null, signal: "SIGKILL" });
    const line = out.split("\n").find((l) => l.startsWith('{"inserted"'));
    const inserted = line ? (JSON.parse(line) as { inserted: number }).inserted : 0;
    expect(inserted).toBeGreaterThan(0);
    const afterCrash = await count();
    expect(afterCrash.rows).toBe(inserted); // the insert is in ClickHouse ...
    expect(await caughtUp()).toBe(false); // ... and its offsets were never committed

    // 2. The real `marquee loader` picks up from the last commit: a replay of that batch.
    const loader = spawn(process.execPath, ["--import", "tsx", MAIN, "loader"], {
      env,
      cwd: REPO,
      stdio: ["ignore", "ignore", "inherit"],
    });
    children.push(loader);
    const deadline = Date.now() + 90_000;
    while (!(await caughtUp())) {
      if (Date.now() > deadline) throw new Error("loader did not catch up in 90 s");
      if (loader.exitCode !== null) throw new Error(`loader exited with ${loader.exitCode}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    // Graceful stop: SIGTERM drains and exits 0.
    loader.kill("SIGTERM");
    expect(await exited(loader)).toEqual({ code: 0, signal: null });

    expect(await count()).toEqual({ rows: N, unique: N });
  }, 240_000);
});
