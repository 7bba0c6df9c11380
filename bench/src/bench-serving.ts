/**
 * `npm run bench:serving`: the scoring API (`marquee serve`, its own process) under a fixed
 * request rate, at catalogue scale.
 *
 * 1. World (seeded, deterministic; BENCH_USERS 100k viewers × BENCH_ITEMS 20k titles). The
 *    models are synthetic but shaped like trained ones, written straight into the registry in
 *    contracts' layouts (POPULARITY_FILES, ITEM_TO_ITEM_FILES, PERSONAL_FILES): fitting the real
 *    item-to-item and EASE models on 100k × 20k would take longer than the whole bench on two
 *    cores (EASE inverts a 20k × 20k Gram matrix), and what serving's speed depends on is the
 *    structure, not the fit:
 *    - 18 genres of uneven size, each title in one or two; power-law popularity (Zipf, s 0.9,
 *      over a shuffled order; trending is popularity with noise); release dates over 3 years;
 *    - item-to-item k = 50 and personal k = 200 neighbours per title, 80 % from the title's own
 *      genres, sampled by √popularity, weights descending (as training keeps them);
 *    - every viewer a history in the online store (a private Redis, `infra/redis/start.sh`,
 *      written with runtime's RedisOnlineStore.append, as the loader does): 1–3 favourite
 *      genres, 1–100 interactions (log-normal, median ≈ 16) over the last 30 days, a mix of
 *      clicks, trailer plays, plays (some in progress), completions, ratings, purchases,
 *      rentals, watchlist adds and "not interested";
 *    - the published catalogue in chDB's `titles` dimension (closed before serve opens it).
 * 2. `marquee serve` (cli/src/main.ts, the command operators run) on that data folder with
 *    REDIS_URL, as a child process; BENCH_PROFILE=DIR runs it with `node --cpu-prof`, the profile written there on exit.
 * 3. Load: GET /v1/users/{id}/rows over loopback keep-alive HTTP, OPEN LOOP. The generator is
 *    written here (≈ 60 lines, no dependency) and runs in a child process of its own, so it
 *    shares no event loop with the bench or the server: request i is due at t0 + i / rate and
 *    its latency is measured from that due time, so a stalled server's queue is in the figures
 *    (no coordinated omission). autocannon's overallRate paces each connection and times from
 *    when a request was actually written, so a stall hides the requests that waited; wrk has
 *    no constant-rate mode (wrk2 is not packaged). Each request goes to a random viewer: with
 *    BENCH_NEWCOMERS (0.1) probability a newcomer (a fresh anonymous `a_…` id, no credentials,
 *    so a first visit: empty online store, ClickHouse read-through), else one of the viewers
 *    with history (`u_…`, with the server key, as the storefront's backend calls it).
 *    A 5 s warm-up at half the rate (JIT, connections) is not measured. Then BENCH_RATE (1,000)
 *    req/s for BENCH_SECONDS (30): `p50_ms`, `p99_ms`, `errors` (any answer but 200, a socket
 *    error, or no answer within 2 s). Then BENCH_RATES (1,500, 2,000, 2,500, 3,000, 4,000,
 *    5,000) for BENCH_STEP_SECONDS (10) each, stopping at the first that misses p99 ≤ 10 ms
 *    with no errors (below 1,000 when 1,000 itself misses): `max_rps` is the highest that held.
 *    Before each phase the server is left to drain what an overloaded phase queued (until a
 *    newcomer's rows answer within 50 ms three times running, at most 30 s).
 * Prints one JSON line; per-phase details (generator lag, serve CPU) go to stderr. `rss_mb` is
 * the serve process's VmRSS after the run. Bounded: each phase stops on time, the whole run
 * gives up after 15 minutes; Redis, serve and the data folder go away at the end
 * (BENCH_KEEP=1 keeps the folder).
 */
import { type ChildProcess, execFile, fork, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { migrateClickHouse, upsertTitleDimension } from "@marquee/analytics";
import { ITEM_TO_ITEM_FILES, MODEL_NAMES, type ModelItems, PERSONAL_FILES, POPULARITY_FILES } from "@marquee/contracts";
import {
  createClickHouse,
  freePort,
  loadConfig,
  ModelStore,
  type RecentInteraction,
  RedisOnlineStore,
} from "@marquee/runtime";
import { mulberry32 } from "@marquee/training";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const ITEMS = Number(process.env.BENCH_ITEMS ?? 20_000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 10);
const RATES = (process.env.BENCH_RATES ?? "1500,2000,2500,3000,4000,5000").split(",").map(Number);
const NEWCOMERS = Number(process.env.BENCH_NEWCOMERS ?? 0.1);
const P99_TARGET_MS = 10;
const REQUEST_TIMEOUT_MS = 2000;
const GIVE_UP_MS = 15 * 60_000;
const run = promisify(execFile);
const log = (msg: string, obj: object = {}) => process.stderr.write(`bench:serving ${msg} ${JSON.stringify(obj)}\n`);

/** The world is the same on every run: training's seeded PRNG. */
const rng = mulberry32;

const GENRES = [
  "Drama",
  "Comedy",
  "Thriller",
  "Action",
  "Romance",
  "Documentary",
  "Horror",
  "Crime",
  "Adventure",
  "Sci-Fi",
  "Family",
  "Animation",
  "Fantasy",
  "Mystery",
  "War",
  "Music",
  "Western",
  "History",
];
const RATINGS = ["G", "PG", "PG-13", "R", "NC-17"] as const;
const userId = (u: number) => `u_bench${u.toString(36).padStart(6, "0")}`;

/** Weighted sampling by binary search over cumulative weights. */
class Sampler {
  private readonly cum: Float64Array;
  constructor(
    readonly ids: Int32Array,
    weight: (i: number) => number,
  ) {
    this.cum = new Float64Array(ids.length);
    let s = 0;
    for (let j = 0; j < ids.length; j++) {
      s += weight(ids[j] as number);
      this.cum[j] = s;
    }
  }
  pick(r: () => number): number {
    const x = r() * (this.cum[this.cum.length - 1] as number);
    let lo = 0;
    let hi = this.cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.cum[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return this.ids[lo] as number;
  }
}

interface World {
  items: ModelItems;
  popular: number[];
  genreOf: number[][];
  /** By genre, titles sampled by popularity (histories) and by √popularity (neighbours). */
  byGenre: Sampler[];
  byGenreFlat: Sampler[];
  all: Sampler;
  allFlat: Sampler;
}

function buildCatalogue(r: () => number): World {
  // Genre sizes are uneven (Drama and Comedy large, Western small): weight 1/(g+2).
  const genreSampler = new Sampler(Int32Array.from(GENRES.keys()), (g) => 1 / (g + 2));
  const order = Int32Array.from({ length: ITEMS }, (_, i) => i);
  for (let i = ITEMS - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const popular = new Array<number>(ITEMS);
  for (let rank = 0; rank < ITEMS; rank++) popular[order[rank] as number] = 1 / (rank + 1) ** 0.9;
  const genreOf: number[][] = [];
  const items: ModelItems = [];
  for (let i = 0; i < ITEMS; i++) {
    const g = [genreSampler.pick(r)];
    if (r() < 0.4) {
      const second = genreSampler.pick(r);
      if (second !== g[0]) g.push(second);
    }
    genreOf.push(g);
    items.push({
      id: `t${i.toString().padStart(5, "0")}`,
      title: `Bench Title ${i}`,
      genres: g.map((x) => GENRES[x] as string),
      year: 1950 + Math.floor(r() * 77),
    });
  }
  const members = GENRES.map(() => [] as number[]);
  genreOf.forEach((gs, i) => {
    for (const g of gs) members[g]?.push(i);
  });
  const pop = (i: number) => popular[i] as number;
  const flat = (i: number) => Math.sqrt(popular[i] as number);
  return {
    items,
    popular,
    genreOf,
    byGenre: members.map((m) => new Sampler(Int32Array.from(m), pop)),
    byGenreFlat: members.map((m) => new Sampler(Int32Array.from(m), flat)),
    all: new Sampler(order, pop),
    allFlat: new Sampler(order, flat),
  };
}

/** k neighbours per title: 80 % from its own genres by √popularity, weights descending. */
function neighbourFiles(w: World, r: () => number, k: number, top: number, decay: number) {
  const nb = new Int32Array(ITEMS * k).fill(-1);
  const wt = new Float32Array(ITEMS * k);
  const seen = new Set<number>();
  for (let i = 0; i < ITEMS; i++) {
    seen.clear();
    seen.add(i);
    const gs = w.genreOf[i] as number[];
    const want = Math.min(k, ITEMS - 1);
    const weights: number[] = [];
    for (let tries = 0; seen.size - 1 < want && tries < want * 20; tries++) {
      const from = r() < 0.8 ? (w.byGenreFlat[gs[Math.floor(r() * gs.length)] as number] as Sampler) : w.allFlat;
      const j = from.pick(r);
      if (seen.has(j)) continue;
      seen.add(j);
      weights.push(top * Math.exp(-weights.length / decay) * (0.7 + 0.3 * r()));
    }
    weights.sort((a, b) => b - a);
    let slot = 0;
    for (const j of seen) {
      if (j === i) continue;
      nb[i * k + slot] = j;
      wt[i * k + slot] = weights[slot] as number;
      slot++;
    }
  }
  return { neighbors: new Uint8Array(nb.buffer), weights: new Uint8Array(wt.buffer) };
}

async function publish(store: ModelStore, name: string, files: Record<string, string | Uint8Array>, k?: number) {
  const meta = await store.write(
    {
      name,
      data_until: new Date().toISOString(),
      metrics: {},
      backend: "synthetic",
      git_sha: null,
      params: { algorithm: "synthetic (bench:serving)", ...(k ? { k } : {}) },
    },
    files,
  );
  await store.setCurrent(name, meta.version);
}

async function writeModels(w: World, r: () => number, dir: string) {
  const store = new ModelStore(dir);
  const top = Math.max(...w.popular);
  const popular = w.popular.map((p) => p / top);
  const noisy = popular.map((p) => p * Math.exp((r() - 0.5) * 1.5));
  const topTrending = Math.max(...noisy);
  await publish(store, MODEL_NAMES.popularity, {
    [POPULARITY_FILES.items]: JSON.stringify(w.items),
    [POPULARITY_FILES.scores]: JSON.stringify({ popular, trending: noisy.map((p) => p / topTrending) }),
  });
  const i2i = neighbourFiles(w, r, 50, 0.9, 20);
  await publish(
    store,
    MODEL_NAMES.itemToItem,
    {
      [ITEM_TO_ITEM_FILES.items]: JSON.stringify(w.items),
      [ITEM_TO_ITEM_FILES.neighbors]: i2i.neighbors,
      [ITEM_TO_ITEM_FILES.similarity]: i2i.weights,
    },
    50,
  );
  const personal = neighbourFiles(w, r, 200, 0.05, 60);
  await publish(
    store,
    MODEL_NAMES.personal,
    {
      [PERSONAL_FILES.items]: JSON.stringify(w.items),
      [PERSONAL_FILES.neighbors]: personal.neighbors,
      [PERSONAL_FILES.weights]: personal.weights,
    },
    200,
  );
}

async function writeCatalogue(w: World, r: () => number, dataDir: string) {
  const clickhouse = await createClickHouse(loadConfig({ DATA_DIR: dataDir }));
  try {
    await migrateClickHouse(clickhouse.client);
    const now = Date.now();
    await upsertTitleDimension(
      clickhouse.client,
      w.items.map((t) => ({
        ...t,
        age_rating: RATINGS[Math.min(4, Math.floor(r() * r() * 6))] as string,
        status: "published",
        published_at: now - Math.floor(r() * 3 * 365 * 86_400_000),
      })),
    );
  } finally {
    await clickhouse.close();
  }
}

/** Interaction types and how often a viewer's history holds each. */
const TYPES: [type: string, share: number][] = [
  ["click", 0.3],
  ["play_start", 0.18],
  ["play_progress", 0.14],
  ["play_complete", 0.1],
  ["rating", 0.08],
  ["trailer_play", 0.06],
  ["purchase", 0.04],
  ["rental_start", 0.04],
  ["watchlist_add", 0.04],
  ["not_interested", 0.02],
];

function history(w: World, r: () => number, now: number): RecentInteraction[] {
  const favourites = Array.from({ length: 1 + Math.floor(r() * 3) }, () => Math.floor(r() * GENRES.length));
  // Log-normal length, median e^2.8 ≈ 16, capped at the online store's 100.
  const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const n = Math.max(1, Math.min(100, Math.round(Math.exp(2.8 + 0.8 * z))));
  const out: RecentInteraction[] = [];
  for (let j = 0; j < n; j++) {
    const from = r() < 0.8 ? (w.byGenre[favourites[Math.floor(r() * favourites.length)] as number] as Sampler) : w.all;
    const item = w.items[from.pick(r)]?.id as string;
    let x = r();
    let type = "click";
    for (const [t, share] of TYPES) {
      x -= share;
      if (x < 0) {
        type = t;
        break;
      }
    }
    const at = now - Math.floor(r() * 30 * 86_400_000);
    const value =
      type === "play_progress"
        ? 0.05 + 0.85 * r()
        : type === "play_complete"
          ? 0.95
          : type === "rating"
            ? 1 + Math.floor(r() * 5)
            : undefined;
    out.push({ item_id: item, type, at, ...(value === undefined ? {} : { value }) });
  }
  return out;
}

async function writeHistories(w: World, r: () => number, redisUrl: string): Promise<number> {
  const online = new RedisOnlineStore(redisUrl, { capacity: 100 });
  let total = 0;
  try {
    const now = Date.now();
    const BATCH = 1000;
    for (let u = 0; u < USERS; u += BATCH) {
      const writes: Promise<void>[] = [];
      for (let v = u; v < Math.min(USERS, u + BATCH); v++) {
        const h = history(w, r, now);
        total += h.length;
        writes.push(online.append(userId(v), h));
      }
      await Promise.all(writes);
    }
  } finally {
    await online.close();
  }
  return total;
}

// ---------------------------------------------------------------- the load generator (child)

interface PhaseResult {
  rate: number;
  seconds: number;
  sent: number;
  ok: number;
  errors: number;
  statuses: Record<string, number>;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  /** How late the generator itself sent requests (p99, ms): large means the figures are the generator's. */
  send_lag_p99_ms: number;
  generator_cpu_pct: number;
}

const pct = (sorted: Float64Array, q: number) =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
const ms2 = (x: number) => Math.round(x * 100) / 100;

function loadGenerator() {
  const base = new URL(process.env.BENCH_TARGET ?? "");
  const key = process.env.BENCH_KEY ?? "";
  const users = Number(process.env.BENCH_TARGET_USERS);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const r = rng(Number(process.env.BENCH_LOAD_SEED ?? 7));
  const anonymous = () => {
    let s = "a_";
    for (let i = 0; i < 20; i++) s += "0123456789abcdefghijklmnopqrstuvwxyz"[Math.floor(r() * 36)];
    return s;
  };

  function phase(rate: number, seconds: number): Promise<PhaseResult> {
    const n = Math.max(1, Math.round(rate * seconds));
    const latencies = new Float64Array(n).fill(Number.NaN);
    const lags = new Float64Array(n);
    const statuses: Record<string, number> = {};
    let errors = 0;
    let finished = 0;
    let next = 0;
    const cpu = process.cpuUsage();
    const t0 = performance.now() + 10;
    const due = (i: number) => t0 + (i * 1000) / rate;
    return new Promise((resolve) => {
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        clearTimeout(hardStop);
        const answered = latencies.filter((x) => !Number.isNaN(x)).sort();
        const used = process.cpuUsage(cpu);
        const missing = n - finished;
        const sortedLags = lags.slice(0, next).sort();
        resolve({
          rate,
          seconds,
          sent: next,
          ok: answered.length - errors,
          errors: errors + missing,
          statuses,
          p50_ms: ms2(pct(answered, 0.5)),
          p90_ms: ms2(pct(answered, 0.9)),
          p99_ms: ms2(pct(answered, 0.99)),
          max_ms: ms2(answered[answered.length - 1] ?? 0),
          send_lag_p99_ms: ms2(pct(sortedLags, 0.99)),
          generator_cpu_pct: Math.round(((used.user + used.system) / 1000 / (seconds * 1000)) * 100),
        });
      };
      // Every request has answered or timed out by now; whatever has not is an error.
      const hardStop = setTimeout(finish, seconds * 1000 + REQUEST_TIMEOUT_MS + 1000);
      const settle = (i: number, failed: boolean, status: string) => {
        if (!Number.isNaN(latencies[i] as number)) return;
        latencies[i] = performance.now() - due(i);
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (failed) errors++;
        if (++finished === n) finish();
      };
      const send = (i: number) => {
        lags[i] = performance.now() - due(i);
        const newcomer = r() < NEWCOMERS;
        const id = newcomer ? anonymous() : userId(Math.floor(r() * users));
        const req = http.get(
          {
            agent,
            host: base.hostname,
            port: base.port,
            path: `/v1/users/${id}/rows`,
            headers: newcomer ? {} : { authorization: `Bearer ${key}` },
          },
          (res) => {
            res.on("data", () => {});
            res.on("end", () => settle(i, res.statusCode !== 200, String(res.statusCode)));
            res.on("error", () => settle(i, true, "aborted"));
          },
        );
        req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error("timeout")));
        req.on("error", (err) => settle(i, true, err.message === "timeout" ? "timeout" : "socket"));
      };
      const tick = () => {
        const now = performance.now();
        while (next < n && due(next) <= now) send(next++);
        if (next < n) setTimeout(tick, Math.max(0, Math.min(1, due(next) - performance.now())));
      };
      setTimeout(tick, 10);
    });
  }

  process.on("message", async (m: { rate: number; seconds: number }) => {
    process.send?.(await phase(m.rate, m.seconds));
  });
}

// ---------------------------------------------------------------- the bench (parent)

/** utime + stime of a process, in seconds (/proc/<pid>/stat; Linux). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

async function main() {
  const started = performance.now();
  const work = mkdtempSync(path.join(os.tmpdir(), "marquee-bench-serving-"));
  const children: ChildProcess[] = [];
  const redisEnv = { ...process.env, REDIS_DIR: path.join(work, "redis"), REDIS_PORT: String(await freePort()) };
  let redisStarted = false;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
    // The serve process writes its CPU profile on exit: give it the time to.
    await Promise.all(
      children.map((c) =>
        c.exitCode !== null
          ? null
          : new Promise((res) => {
              setTimeout(res, 10_000).unref();
              c.once("exit", res);
            }),
      ),
    );
    if (redisStarted) await run("bash", [path.join(REPO, "infra/redis/stop.sh")], { env: redisEnv }).catch(() => {});
    if (process.env.BENCH_KEEP) log("kept", { work });
    else rmSync(work, { recursive: true, force: true });
  };
  const giveUp = setTimeout(() => {
    log("gave up after 15 minutes");
    void cleanup().finally(() => process.exit(1));
  }, GIVE_UP_MS);
  giveUp.unref();
  try {
    const { stdout } = await run("bash", [path.join(REPO, "infra/redis/start.sh")], {
      env: { ...redisEnv, REDIS_MAXMEMORY: "4gb" },
    });
    redisStarted = true;
    const redisUrl = stdout.trim().split("\n").pop() ?? "";

    const r = rng(12);
    const world = buildCatalogue(r);
    await writeModels(world, r, path.join(work, "models"));
    await writeCatalogue(world, r, work);
    const modelsAt = performance.now();
    const interactions = await writeHistories(world, r, redisUrl);
    const worldS = Math.round((performance.now() - started) / 100) / 10;
    log("world", {
      users: USERS,
      items: ITEMS,
      interactions,
      models_and_catalogue_s: Math.round((modelsAt - started) / 100) / 10,
      total_s: worldS,
      redis_used_memory: (await run("redis-cli", ["-p", redisEnv.REDIS_PORT, "info", "memory"])).stdout.match(
        /used_memory_human:(\S+)/,
      )?.[1],
    });

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const key = randomBytes(24).toString("hex");
    const profileDir = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : null;
    // Node 20 refuses --cpu-prof in NODE_OPTIONS: it goes on the command line.
    const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
    const serve = spawn(
      process.execPath,
      [...profile, "--import", "tsx", path.join(REPO, "cli/src/main.ts"), "serve"],
      {
        cwd: REPO,
        env: {
          NODE_ENV: "production",
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "",
          DATA_DIR: work,
          REDIS_URL: redisUrl,
          HOST: "127.0.0.1",
          PORT: String(port),
          LOG_LEVEL: "warn",
          SERVING_API_KEY: key,
          // Every newcomer here comes from one loopback address; behind a real load balancer
          // they come from many, so the per-address limit for anonymous callers is off.
          SERVING_RATE_LIMIT: "0",
        },
        stdio: ["ignore", "inherit", "inherit"],
      },
    );
    children.push(serve);
    const deadline = Date.now() + 180_000;
    for (;;) {
      const ready = await fetch(`${base}/ready`).catch(() => null);
      if (ready?.status === 200) break;
      if (serve.exitCode !== null || Date.now() > deadline) throw new Error("marquee serve did not get ready");
      await new Promise((res) => setTimeout(res, 250));
    }
    const pid = serve.pid as number;
    log("serve ready", { pid, ready_s: Math.round((performance.now() - started) / 100) / 10 - worldS });

    // What is measured is real rows: a viewer with history gets personal Top picks.
    const sample = await fetch(`${base}/v1/users/${userId(1)}/rows`, { headers: { authorization: `Bearer ${key}` } });
    const body = (await sample.json()) as { rows?: { id: string; model_version: string; items: unknown[] }[] };
    if (sample.status !== 200 || !body.rows?.some((row) => row.id === "top-picks"))
      throw new Error(`unexpected rows answer ${sample.status}: ${JSON.stringify(body).slice(0, 300)}`);
    log("sample rows", {
      rows: body.rows.map((row) => `${row.id}(${row.items.length})`),
      model_version: body.rows[0]?.model_version,
    });

    const generator = fork(fileURLToPath(import.meta.url), ["--load"], {
      execArgv: ["--import", "tsx"],
      env: { ...process.env, BENCH_TARGET: base, BENCH_KEY: key, BENCH_TARGET_USERS: String(USERS) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    children.push(generator);
    const phase = (rate: number, seconds: number) =>
      new Promise<PhaseResult & { serve_cpu_pct: number }>((resolve, reject) => {
        const cpu0 = cpuSeconds(pid);
        const t0 = performance.now();
        const onExit = () => reject(new Error("the load generator exited"));
        generator.once("exit", onExit);
        generator.once("message", (m: PhaseResult) => {
          generator.off("exit", onExit);
          const wall = (performance.now() - t0) / 1000;
          resolve({ ...m, serve_cpu_pct: Math.round(((cpuSeconds(pid) - cpu0) / wall) * 100) });
        });
        generator.send({ rate, seconds });
      });
    const passes = (p: PhaseResult) => p.errors === 0 && p.p99_ms <= P99_TARGET_MS;
    // An overloaded phase leaves work queued in the server (requests the generator gave up on,
    // ClickHouse read-throughs) that would land on the next phase: wait until a newcomer's rows
    // (the slowest path) answer promptly again, up to 30 s.
    const drain = async () => {
      const t0 = performance.now();
      let quick = 0;
      while (quick < 3 && performance.now() - t0 < 30_000) {
        const t = performance.now();
        const res = await fetch(`${base}/v1/users/a_${randomBytes(10).toString("hex").slice(0, 20)}/rows`).catch(
          () => null,
        );
        await res?.arrayBuffer();
        quick = res?.status === 200 && performance.now() - t < 50 ? quick + 1 : 0;
        await new Promise((r) => setTimeout(r, 200));
      }
      return Math.round(performance.now() - t0);
    };

    log("warm-up (not measured)", await phase(Math.round(RATE / 2), 5));
    const warmDrain = await drain();
    const steady = await phase(RATE, SECONDS);
    log("phase", { ...steady, drained_ms: warmDrain });
    let maxRps = passes(steady) ? RATE : 0;
    const steps = passes(steady) ? RATES.filter((x) => x > RATE) : [0.75, 0.5, 0.25].map((f) => Math.round(RATE * f));
    for (const rate of steps) {
      const drained_ms = await drain();
      const p = await phase(rate, STEP_SECONDS);
      log("phase", { ...p, drained_ms });
      if (passes(p)) maxRps = Math.max(maxRps, rate);
      if (passes(p) !== passes(steady)) break;
    }
    const rss = rssMb(pid);
    if (steady.errors > 0) log("some requests failed at the main rate", steady.statuses);
    process.stdout.write(
      `${JSON.stringify({
        users: USERS,
        items: ITEMS,
        rps_target: RATE,
        p50_ms: steady.p50_ms,
        p99_ms: steady.p99_ms,
        max_rps: maxRps,
        errors: steady.errors,
        rss_mb: rss,
      })}\n`,
    );
  } finally {
    await cleanup();
    if (process.env.BENCH_PROFILE) log("cpu profile written", { dir: path.resolve(process.env.BENCH_PROFILE) });
  }
}

if (process.argv[2] === "--load") {
  loadGenerator();
} else {
  await main();
}
