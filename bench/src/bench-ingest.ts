/**
 * `npm run bench:ingest`: events through the HTTP collector into ClickHouse, timed end to end.
 *
 *   npm run bench:ingest -- [--events 300000] [--modes kafka,embedded] [--concurrency 32]
 *                           [--batch 500]     (events per request, 1-500)
 *                           [--profile DIR]   (V8 CPU profiles of the collector and loader)
 *                           [--verbose]       (timings and insert sizes on stderr)
 *
 * Per mode it starts what it needs on loopback (a private Kafka broker through
 * infra/kafka/start.sh unless KAFKA_BROKERS is set; the collector and, for Kafka, the loader as
 * separate processes, each with a fresh chDB data folder; a broker started here first gets an
 * unreported warm-up pass), posts a fixed number of events in requests of `--batch` events from
 * `--concurrency` clients, waits until every one is in ClickHouse, and prints one JSON line:
 *   {"mode","events","events_per_s","collector_p99_ms","lag_p99_ms","lost","duplicated"}
 * events_per_s: events / (first request sent → last event stored). collector_p99_ms: HTTP
 * request latency seen by the client. 32 clients saturate the two cores, and most of their
 * latency is queueing (Little's law: 8 clients gave ~5-10% fewer events/s at a third of it).
 * Embedded mode needs the many clients: its bus answers a request once its insert landed. lag_p99_ms: per event, collector
 * receive time → its ClickHouse insert landed. lost / duplicated: from count() and
 * uniqExact(event_id) of the stored rows.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { migrateClickHouse } from "@marquee/analytics";
import { startLoaderProcess } from "@marquee/cli";
import { TOPICS } from "@marquee/contracts";
import { collectorRoutes, startLoader } from "@marquee/ingest";
import {
  createClickHouse,
  createLogger,
  type EventBus,
  freePort,
  httpErrorHandler,
  InProcessBus,
  KafkaBus,
  loadConfig,
  MemoryOnlineStore,
} from "@marquee/runtime";
import Fastify from "fastify";

const SELF = fileURLToPath(import.meta.url);
const REPO = path.resolve(path.dirname(SELF), "../..");
/** Events per request, unless --batch says otherwise (the collector takes up to 500). */
const MAX_BATCH = 500;
const execFileAsync = promisify(execFile);

interface ChildReport {
  lag_p99_ms: number;
  /** CPU seconds the child used, all its threads (diagnostics, with --verbose). */
  cpu_s?: number;
  /** The same by thread name, since the child started. */
  threads?: Record<string, number>;
  /** ClickHouse inserts made (diagnostics, with --verbose). */
  inserts?: number;
  rows: number;
  unique: number;
}

/** Records per-event lag (ms) of each insert; p99 on demand. */
class LagRecorder {
  private lags: number[] = [];
  inserts = 0;
  record(receivedAt: string[]): void {
    this.inserts++;
    const now = Date.now();
    // One request's events share their received_at: parse each distinct one once.
    let last = "";
    let at = 0;
    for (const r of receivedAt) {
      if (r !== last) {
        last = r;
        at = Date.parse(r);
      }
      this.lags.push(now - at);
    }
  }
  p99(): number {
    if (this.lags.length === 0) return 0;
    const sorted = Float64Array.from(this.lags).sort();
    return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
  }
}

/** Children's report lines start with this, so they stand apart from log lines on stdout. */
const MARK = "@bench ";
const report = (obj: object) => process.stdout.write(`${MARK}${JSON.stringify(obj)}\n`);
/** This process's CPU time so far (user + system, every thread), in seconds. */
const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
/**
 * This process's CPU seconds by thread name (Linux /proc; diagnostics with --verbose): which of
 * the JS thread, V8's GC helpers, libuv's pool and ClickHouse's threads did the work; counted
 * from the child's ready report unless told otherwise.
 */
let threadsAtReady: Record<string, number> = {};
function threadCpuSeconds(
  since: Record<string, number> = threadsAtReady,
  pid: number | "self" = "self",
): Record<string, number> | undefined {
  if (!process.env.BENCH_VERBOSE) return undefined;
  const byName: Record<string, number> = {};
  for (const [name, cpu] of Object.entries(since)) byName[name] = -cpu;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).replace(/[-0-9]+$/, "");
      const name = pid === "self" && Number(tid) === process.pid ? "js-main" : comm;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cpu = (Number(fields[11]) + Number(fields[12])) / 100;
      byName[name] = Math.round(((byName[name] ?? 0) + cpu) * 100) / 100;
    }
  } catch {
    return undefined;
  }
  return byName;
}
/** CPU seconds of another process (the broker), from /proc; undefined where that is unreadable. */
function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat(5): 12 and 13 after the command name.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

const receivedTimes = (batch: { messages: { value: { received_at: string } }[] }) =>
  batch.messages.map((m) => m.value.received_at);

// ---------------------------------------------------------------------------------------------
// Child roles: the collector (both modes) and the Kafka loader. Each reports one JSON line.

async function runCollector(mode: "kafka" | "embedded", topic: string): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ service: "bench-collector", level: "warn" });
  const lag = new LagRecorder();
  let bus: EventBus;
  let totals: () => Promise<ChildReport> = async () => ({ lag_p99_ms: 0, rows: 0, unique: 0 });
  let closeStores = async () => undefined as unknown;
  if (mode === "kafka") {
    if (!config.KAFKA_BROKERS) throw new Error("KAFKA_BROKERS is not set");
    bus = await KafkaBus.connect({
      brokers: config.KAFKA_BROKERS,
      logger,
      compression: config.KAFKA_COMPRESSION,
      topics: [{ name: topic, partitions: config.KAFKA_PARTITIONS }],
      maxPendingMessages: 2_000_000,
    });
  } else {
    const ch = await createClickHouse(config);
    await migrateClickHouse(ch.client);
    bus = new InProcessBus({ lingerMs: 5, maxBatch: 50_000 });
    await startLoader(
      bus,
      {
        clickhouse: ch.client,
        online: new MemoryOnlineStore({ capacity: 100 }),
        logger,
        onInserted: ({ batch }) => lag.record(receivedTimes(batch as never)),
      },
      { topic },
    );
    totals = async () => {
      const rs = await ch.client.query({
        query: "SELECT count() AS rows, uniqExact(event_id) AS unique FROM events",
        format: "JSONEachRow",
      });
      const [r] = await rs.json<{ rows: number; unique: number }>();
      return {
        lag_p99_ms: lag.p99(),
        inserts: lag.inserts,
        rows: Number(r?.rows ?? 0),
        unique: Number(r?.unique ?? 0),
      };
    };
    closeStores = () => ch.close();
  }
  const app = Fastify({ loggerInstance: logger });
  app.setErrorHandler(httpErrorHandler);
  await app.register(collectorRoutes, { bus, logger, topic });
  const address = await app.listen({ host: "127.0.0.1", port: 0 });
  threadsAtReady = threadCpuSeconds({}) ?? {};
  report({ ready: address, cpu_s: cpuSeconds() });
  process.once("SIGTERM", async () => {
    await app.close();
    await bus.close();
    const r = await totals();
    await closeStores();
    report({ ...r, cpu_s: cpuSeconds(), threads: threadCpuSeconds() });
    process.exit(0);
  });
}

async function runLoader(topic: string): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ service: "bench-loader", level: "warn" });
  const lag = new LagRecorder();
  // The same loader as `marquee loader`, with a hook that records each insert's lag.
  const loader = await startLoaderProcess(config, logger, {
    onInserted: ({ batch }) => lag.record(receivedTimes(batch as never)),
  });
  threadsAtReady = threadCpuSeconds({}) ?? {};
  report({ ready: true, cpu_s: cpuSeconds() });
  process.once("SIGTERM", async () => {
    await loader.bus.close();
    const rs = await loader.clickhouse.client.query({
      query: "SELECT count() AS rows, uniqExact(event_id) AS unique FROM events WHERE source_topic = {topic:String}",
      query_params: { topic },
      format: "JSONEachRow",
    });
    const [r] = await rs.json<{ rows: number; unique: number }>();
    await loader.close();
    report({
      lag_p99_ms: lag.p99(),
      inserts: lag.inserts,
      rows: Number(r?.rows ?? 0),
      unique: Number(r?.unique ?? 0),
      cpu_s: cpuSeconds(),
      threads: threadCpuSeconds(),
    });
    process.exit(0);
  });
}

// ---------------------------------------------------------------------------------------------
// The driver.

interface Child {
  process: ChildProcess;
  /** Resolves with each JSON line the child prints, in order. */
  next(): Promise<Record<string, unknown>>;
}

function startChild(args: string[], env: NodeJS.ProcessEnv): Child {
  // --profile DIR: each child writes a V8 CPU profile there (named by role) when it exits.
  const profile = env.BENCH_PROFILE_DIR
    ? ["--cpu-prof", `--cpu-prof-dir=${path.join(env.BENCH_PROFILE_DIR, `${args[1]}-${Date.now()}`)}`]
    : [];
  const flags = env.BENCH_NODE_FLAGS ? env.BENCH_NODE_FLAGS.split(" ") : [];
  const child = spawn(process.execPath, [...flags, ...profile, "--import", "tsx", SELF, ...args], {
    env,
    cwd: REPO,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: ((v: Record<string, unknown>) => void)[] = [];
  let buffer = "";
  child.stdout?.on("data", (d) => {
    buffer += String(d);
    let i = buffer.indexOf("\n");
    while (i >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      i = buffer.indexOf("\n");
      if (!line.startsWith(MARK)) continue; // logs share stdout
      const obj = JSON.parse(line.slice(MARK.length)) as Record<string, unknown>;
      const w = waiters.shift();
      if (w) w(obj);
      else lines.push(obj);
    }
  });
  let exit: string | null = null;
  const failures: ((e: Error) => void)[] = [];
  child.once("exit", (code, signal) => {
    exit = `child ${args.join(" ")} exited (${code ?? signal}) without reporting`;
    for (const f of failures.splice(0)) f(new Error(exit));
  });
  return {
    process: child,
    next: () =>
      new Promise((resolve, reject) => {
        const ready = lines.shift();
        if (ready) return resolve(ready);
        if (exit) return reject(new Error(exit));
        waiters.push(resolve);
        failures.push(reject);
      }),
  };
}

/** Request bodies of `batch` events each, without event ids: the collector assigns unique ones. */
function makeBodies(count: number, batch: number): Buffer[] {
  const types = ["impression", "impression", "impression", "click", "play_start", "trailer_play"];
  const bodies: Buffer[] = [];
  for (let b = 0; b < count; b++) {
    const events = Array.from({ length: batch }, (_, i) => {
      const n = b * batch + i;
      return {
        type: types[n % types.length],
        user_id: `u${(n * 7919) % 100_000}`,
        item_id: `t${String((n * 104_729) % 20_000).padStart(5, "0")}`,
        session_id: `s${n % 50_000}`,
        context: { device: "desktop", page: "home", row: "top_picks", position: n % 20, model_version: "pop-1" },
      };
    });
    bodies.push(Buffer.from(JSON.stringify({ events })));
  }
  return bodies;
}

async function drive(
  port: number,
  total: number,
  concurrency: number,
  batch: number,
): Promise<{ latencies: number[]; started: number; failed: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const bodies = makeBodies(64, batch);
  const requests = Math.ceil(total / batch);
  const latencies: number[] = [];
  let sent = 0;
  let failed = 0;
  const post = (body: Buffer) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          path: "/v1/events",
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": body.length },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  const started = Date.now();
  const worker = async () => {
    while (sent < requests) {
      const body = bodies[sent++ % bodies.length] as Buffer;
      const t0 = performance.now();
      let status = await post(body);
      // A 503 means nothing was accepted: the client retries, as a browser tracker would.
      while (status === 503) {
        failed++;
        await new Promise((r) => setTimeout(r, 100));
        status = await post(body);
      }
      if (status !== 200) throw new Error(`collector answered ${status}`);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return { latencies, started, failed };
}

const p99 = (xs: number[]) => {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] ?? 0;
};
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

async function benchMode(
  mode: "kafka" | "embedded",
  events: number,
  load: { concurrency: number; batch: number },
  brokers: string | undefined,
  print = true,
  brokerPid?: number,
): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `marquee-bench-${mode}-`));
  const topic = `bench.events.${Date.now().toString(36)}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    KAFKA_EVENTS_TOPIC: topic,
    LOADER_GROUP: `bench-loader-${topic}`,
  };
  delete env.CLICKHOUSE_URL;
  delete env.REDIS_URL;
  if (brokers) env.KAFKA_BROKERS = brokers;
  const children: Child[] = [];
  try {
    let loader: Child | undefined;
    let loaderStartCpu = 0;
    if (mode === "kafka") {
      loader = startChild(["--role", "loader", "--topic", topic], env);
      children.push(loader);
      loaderStartCpu = Number((await loader.next()).cpu_s ?? 0);
    }
    const collector = startChild(["--role", "collector", "--mode", mode, "--topic", topic], {
      ...env,
      DATA_DIR: path.join(dataDir, "collector"),
    });
    children.push(collector);
    const { ready, cpu_s: collectorStartCpu } = (await collector.next()) as { ready: string; cpu_s: number };
    const port = Number(new URL(ready).port);

    const brokerCpu0 = brokerPid ? processCpuSeconds(brokerPid) : undefined;
    const brokerThreads0 = brokerPid ? (threadCpuSeconds({}, brokerPid) ?? {}) : {};
    const driverCpu0 = cpuSeconds();
    const { latencies, started } = await drive(port, events, load.concurrency, load.batch);
    const sent = Date.now();
    // Where the loader stood when the last request was answered: the rest is the tail.
    const loaderCpuAtSent = loader?.process.pid ? processCpuSeconds(loader.process.pid) : undefined;
    let loaderTailCpu: number | undefined;
    let finished = sent;
    let brokerCpu: number | undefined;
    let brokerThreads: Record<string, number> | undefined;
    if (mode === "kafka") {
      // Stored = the loader group's committed offsets reached the end of the topic.
      const probe = await KafkaBus.connect({ brokers: (brokers ?? "").split(","), logger: silent });
      const admin = probe.admin();
      await admin.connect();
      const deadline = Date.now() + 300_000;
      for (;;) {
        const ends = await admin.fetchTopicOffsets(topic);
        const [committed] = await admin.fetchOffsets({ groupId: `bench-loader-${topic}`, topics: [topic] });
        const done = ends.every(
          (e) => committed?.partitions.find((p) => p.partition === e.partition)?.offset === e.high,
        );
        if (done) break;
        if (Date.now() > deadline) throw new Error("loader did not catch up within 300 s");
        await new Promise((r) => setTimeout(r, 20));
      }
      finished = Date.now();
      if (loader?.process.pid && loaderCpuAtSent !== undefined) {
        loaderTailCpu = (processCpuSeconds(loader.process.pid) ?? 0) - loaderCpuAtSent;
      }
      brokerCpu = brokerPid && brokerCpu0 !== undefined ? (processCpuSeconds(brokerPid) ?? 0) - brokerCpu0 : undefined;
      brokerThreads = brokerPid ? threadCpuSeconds(brokerThreads0, brokerPid) : undefined;
      await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
      await admin.disconnect();
      await probe.close();
    }
    collector.process.kill("SIGTERM");
    const collectorReport = (await collector.next()) as unknown as ChildReport;
    let result = collectorReport;
    if (loader) {
      loader.process.kill("SIGTERM");
      result = (await loader.next()) as unknown as ChildReport;
    }
    const seconds = (finished - started) / 1000;
    if (!print) return;
    if (process.env.BENCH_VERBOSE) {
      // Diagnostics on stderr; stdout keeps its one line per mode.
      process.stderr.write(
        `${JSON.stringify({
          mode,
          sent_s: (sent - started) / 1000,
          stored_s: seconds,
          // CPU cores the loader kept busy between the last answer and the last commit.
          loader_tail_cores:
            loaderTailCpu === undefined ? undefined : round(loaderTailCpu / ((finished - sent) / 1000 || 1), 2),
          inserts: result.inserts,
          rows_per_insert: result.inserts ? Math.round(result.rows / result.inserts) : undefined,
          // CPU seconds from the children's ready (past their start-up) to their report.
          cpu_s: {
            collector: round((collectorReport.cpu_s ?? 0) - collectorStartCpu, 2),
            loader: loader ? round((result.cpu_s ?? 0) - loaderStartCpu, 2) : undefined,
            broker: brokerCpu === undefined ? undefined : round(brokerCpu, 2),
            driver: round(cpuSeconds() - driverCpu0, 2),
          },
          threads: {
            collector: collectorReport.threads,
            loader: loader ? result.threads : undefined,
            broker: brokerThreads
              ? Object.fromEntries(Object.entries(brokerThreads).filter(([, cpu]) => cpu >= 0.05))
              : undefined,
          },
        })}\n`,
      );
    }
    process.stdout.write(
      `${JSON.stringify({
        mode,
        events,
        events_per_s: Math.round(events / seconds),
        collector_p99_ms: round(p99(latencies)),
        lag_p99_ms: round(result.lag_p99_ms),
        lost: events - result.unique,
        duplicated: result.rows - result.unique,
      })}\n`,
    );
  } finally {
    // A child that reported is exiting (and may be writing its CPU profile): give it a moment.
    await Promise.all(
      children.map(async (c) => {
        if (c.process.exitCode !== null || c.process.signalCode !== null) return;
        const exited = new Promise((r) => c.process.once("exit", r));
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill("SIGKILL");
      }),
    );
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const silent = createLogger({ service: "bench-ingest", level: "silent" });

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: "string" },
      mode: { type: "string", default: "embedded" },
      topic: { type: "string", default: TOPICS.events },
      events: { type: "string", default: "300000" },
      modes: { type: "string", default: "kafka,embedded" },
      concurrency: { type: "string", default: "32" },
      batch: { type: "string", default: String(MAX_BATCH) },
      profile: { type: "string" },
      verbose: { type: "boolean", default: false },
    },
  });
  if (values.role === "collector") return runCollector(values.mode === "kafka" ? "kafka" : "embedded", values.topic);
  if (values.role === "loader") return runLoader(values.topic);

  const batch = Math.max(1, Math.min(MAX_BATCH, Number(values.batch) || MAX_BATCH));
  // A whole number of requests.
  const events = Math.ceil(Math.max(batch, Math.min(5_000_000, Number(values.events))) / batch) * batch;
  const concurrency = Math.max(1, Math.min(64, Number(values.concurrency)));
  const modes = values.modes.split(",").map((m) => m.trim());
  let brokers = process.env.KAFKA_BROKERS;
  let kafkaDir: string | undefined;
  let brokerPid: number | undefined;
  const kafkaEnv = { ...process.env };
  if (values.profile) process.env.BENCH_PROFILE_DIR = path.resolve(values.profile);
  if (values.verbose) process.env.BENCH_VERBOSE = "1";
  try {
    if (modes.includes("kafka") && !brokers) {
      kafkaDir = mkdtempSync(path.join(os.tmpdir(), "marquee-bench-kafka-"));
      Object.assign(kafkaEnv, {
        KAFKA_DIR: kafkaDir,
        KAFKA_PORT: String(await freePort()),
        KAFKA_CONTROLLER_PORT: String(await freePort()),
      });
      const { stdout } = await execFileAsync("bash", [path.join(REPO, "infra/kafka/start.sh")], {
        env: kafkaEnv,
        timeout: 180_000,
      });
      brokers = stdout.trim().split("\n").pop()?.replace("KAFKA_BROKERS=", "");
      brokerPid = Number(readFileSync(path.join(kafkaDir, "kafka.pid"), "utf8").trim()) || undefined;
    }
    for (const mode of modes) {
      if (mode !== "kafka" && mode !== "embedded") throw new Error(`unknown mode ${mode}`);
      // A broker started just now spends its first tens of seconds compiling (JIT): warm it
      // with an unreported pass, so the figures are the steady state a running broker gives.
      const load = { concurrency, batch };
      const warmUp = Math.min(events, Math.floor(300_000 / batch) * batch);
      if (mode === "kafka" && kafkaDir) await benchMode(mode, warmUp, load, brokers, false);
      await benchMode(mode, events, load, brokers, true, brokerPid);
    }
  } finally {
    if (kafkaDir) {
      await execFileAsync("bash", [path.join(REPO, "infra/kafka/stop.sh"), "--purge"], { env: kafkaEnv }).catch(
        () => undefined,
      );
      rmSync(kafkaDir, { recursive: true, force: true });
    }
  }
}

main().then(
  () => {
    // Children roles keep running (their servers hold the loop); the driver is done.
    if (!process.argv.includes("--role")) process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`bench-ingest: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
