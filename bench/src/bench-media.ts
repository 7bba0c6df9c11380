/**
 * `npm run bench:media`: the media path on this machine, end to end.
 *
 * 1. Generates a 60 s 1080p30 clip with ffmpeg's own sources (test pattern + tone) and
 *    transcodes it to the full HLS ladder, AES-128 encrypted, with media's `transcodeHls`
 *    (the same call the transcoding jobs make); `transcode_realtime_factor` is clip seconds per
 *    wall-clock second for all rungs together, `rungs` how many it made.
 * 2. Serves the result from media's origin (`mediaOriginRoutes` on LocalStorage, in a child
 *    process of its own) and through the nginx edge (`infra/edge/start.sh`, njs checking every
 *    signed link). The load comes from wrk (installed from Debian when missing; a generator in
 *    Node would need more CPU than the nginx it measures): BENCH_CLIENTS (50) keep-alive
 *    connections per phase, for BENCH_SECONDS (8), after a second's unmeasured warm-up:
 *    - playlists from the origin (master and media playlists), each client asking again a
 *      random 0–20 ms after its answer, as players do (≈ 5,000 req/s): `playlist_p99_ms`; the
 *      same back to back (saturation) and through the edge go to stderr;
 *    - segments from the origin, back to back: `segment_p99_ms`, `origin_segment_mb_s`;
 *    - segments from the edge, back to back, starting with a cold cache: `edge_segment_mb_s`,
 *      `edge_hit_ratio` (HIT in the edge's access log over every request of the phase).
 * Prints one JSON line with those fields; details (ffmpeg used, counts) go to stderr.
 * Bounded: each phase stops on time, and the whole run gives up after 15 minutes.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { LocalStorage, locateFfmpeg, MediaSigner, mediaOriginRoutes, transcodeHls } from "@marquee/media";
import { createLogger } from "@marquee/runtime";
import Fastify from "fastify";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CLIP_S = Number(process.env.BENCH_CLIP_SECONDS ?? 60);
const TITLE = "bench_title";
/** Mean pause of a client between playlist requests (uniform 0–2×), in the playlist phases. */
const PLAYLIST_THINK_MS = 10;
const WRK_SCRIPT = fileURLToPath(new URL("../wrk/paths.lua", import.meta.url));
const run = promisify(execFile);
const log = (msg: string, obj: object = {}) => process.stderr.write(`bench:media ${msg} ${JSON.stringify(obj)}\n`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** The child: an origin on `root`, signing secret from the environment, its port on stdout. */
async function serveOrigin(root: string, port: number) {
  const logger = createLogger({ service: "bench-media-origin", level: "warn" });
  const app = Fastify();
  await app.register(mediaOriginRoutes, {
    storage: new LocalStorage(root),
    signer: new MediaSigner(process.env.MEDIA_SIGNING_SECRET ?? ""),
    // Keys are not what is measured: every viewer here may play.
    key: async () => Buffer.alloc(16),
    accessLog: () => {},
    logger,
  });
  await app.listen({ host: "127.0.0.1", port });
  process.stdout.write(`ready ${port}\n`);
}

interface Phase {
  requests: number;
  bytes: number;
  errors: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  seconds: number;
}

/** wrk (C, epoll) drives the load: a load generator in Node would need more CPU than the nginx edge it measures. */
async function ensureWrk(): Promise<string> {
  const found = await run("bash", ["-c", "command -v wrk"]).catch(() => null);
  if (found?.stdout.trim()) return found.stdout.trim();
  log("installing wrk (Debian's package)");
  await run("bash", ["-c", `. "${path.join(REPO, "infra/lib.sh")}" && apt_install wrk`], { maxBuffer: 1 << 24 });
  return "wrk";
}

/**
 * `clients` keep-alive connections (over two wrk threads) walking `urls` for `seconds`, each
 * request sent as soon as the connection's previous answer arrived.
 */
async function load(
  wrk: string,
  base: string,
  urls: string[],
  clients: number,
  seconds: number,
  work: string,
  options: { threads?: number; thinkMs?: number } = {},
) {
  const list = path.join(work, `paths-${randomBytes(4).toString("hex")}.txt`);
  writeFileSync(list, `${urls.join("\n")}\n`);
  const { stdout } = await run(
    wrk,
    [
      "-t",
      String(options.threads ?? 2),
      "-c",
      String(clients),
      "-d",
      `${seconds}s`,
      "--timeout",
      "5s",
      "-s",
      WRK_SCRIPT,
      base,
    ],
    { env: { ...process.env, PATHS: list, THINK_MS: String(options.thinkMs ?? "") }, maxBuffer: 1 << 22 },
  );
  const line = stdout.split("\n").find((l) => l.startsWith("{"));
  if (!line) throw new Error(`wrk printed no figures:\n${stdout}`);
  const r = JSON.parse(line) as Record<string, number>;
  const phase: Phase = {
    requests: r.requests ?? 0,
    bytes: r.bytes ?? 0,
    errors: (r.errors ?? 0) + (r.status_errors ?? 0),
    p50_ms: Math.round((r.p50_us ?? 0) / 10) / 100,
    p90_ms: Math.round((r.p90_us ?? 0) / 10) / 100,
    p99_ms: Math.round((r.p99_us ?? 0) / 10) / 100,
    seconds: (r.duration_us ?? 1) / 1e6,
  };
  return phase;
}

/** X-Cache HIT over every answer the edge logged after line `from` (its access log, one line per request). */
function edgeHits(logFile: string, from: number): { lines: number; hits: number } {
  const lines = readFileSync(logFile, "utf8").split("\n").filter(Boolean).slice(from);
  return { lines: lines.length, hits: lines.filter((l) => l.split(" ")[3] === "HIT").length };
}
const logLines = (logFile: string) => readFileSync(logFile, "utf8").split("\n").filter(Boolean).length;

const mbs = (p: Phase) => Math.round((p.bytes / 1e6 / p.seconds) * 10) / 10;

async function main() {
  const work = mkdtempSync(path.join(os.tmpdir(), "marquee-bench-media-"));
  // nginx's workers (nobody, when run as root) keep their cache in here.
  chmodSync(work, 0o755);
  const children: ChildProcess[] = [];
  const edgeDir = path.join(work, "edge");
  const secret = randomBytes(32).toString("hex");
  const edgeEnv = { ...process.env, EDGE_DIR: edgeDir, MEDIA_SIGNING_SECRET: secret };
  let edgeStarted = false;
  const giveUp = setTimeout(() => {
    log("gave up after 15 minutes");
    process.exit(1);
  }, 15 * 60_000);
  giveUp.unref();
  try {
    const ffmpeg = await locateFfmpeg();
    log("ffmpeg", { path: ffmpeg.ffmpeg, version: ffmpeg.version, source: ffmpeg.source });
    const source = path.join(work, "source.mp4");
    // The source itself is not timed: a high-quality 1080p mezzanine, as a seller would upload.
    await run(
      ffmpeg.ffmpeg,
      [
        ...["-nostdin", "-v", "error", "-y"],
        ...["-f", "lavfi", "-i", `testsrc2=size=1920x1080:rate=30:duration=${CLIP_S}`],
        ...["-f", "lavfi", "-i", `sine=frequency=440:duration=${CLIP_S}`],
        ...["-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p"],
        ...["-c:a", "aac", "-b:a", "192k", source],
      ],
      { maxBuffer: 1 << 20 },
    );

    const root = path.join(work, "storage");
    const assetId = `bench_${Date.now().toString(36)}`;
    const outDir = path.join(root, "titles", TITLE, "film", assetId);
    const result = await transcodeHls({ ffmpeg, source, outDir, encryption: { key: randomBytes(16) } });
    log("transcoded", { elapsed_s: result.elapsed_s, rungs: result.rungs.map((r) => r.name) });

    const originPort = await freePort();
    const origin = spawn(
      process.execPath,
      ["--import", "tsx", fileURLToPath(import.meta.url), "--serve-origin", root, String(originPort)],
      { env: { ...process.env, MEDIA_SIGNING_SECRET: secret }, stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(origin);
    await new Promise<void>((resolve, reject) => {
      origin.stdout?.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
      origin.on("exit", (code) => reject(new Error(`the origin exited (${code})`)));
    });
    const originUrl = `http://127.0.0.1:${originPort}`;

    const edgePort = await freePort();
    const { stdout } = await run("bash", [path.join(REPO, "infra/edge/start.sh")], {
      env: { ...edgeEnv, EDGE_PORT: String(edgePort), EDGE_ORIGIN: `127.0.0.1:${originPort}` },
    });
    edgeStarted = true;
    const edgeUrl = stdout.trim().split("\n").pop() ?? "";

    const token = new MediaSigner(secret).sign({
      root: `titles/${TITLE}/film/${assetId}`,
      uid: "bench-user",
      pid: "bench-profile",
      tid: TITLE,
      aid: assetId,
      ent: "bench-entitlement",
      sid: "bench-stream",
      rent: false,
      exp: Math.floor(Date.now() / 1000) + 3600,
    });
    const signed = (p: string) => `/media/s/${token}/${p}`;
    const playlists = [result.master, ...result.rungs.map((r) => r.playlist)].map(signed);
    if (result.audio) playlists.push(signed(result.audio.playlist));
    const segments: string[] = [];
    for (const folder of [...result.rungs.map((r) => r.name), ...(result.audio ? ["audio"] : [])])
      for (const f of readdirSync(path.join(outDir, folder)).sort())
        if (f.endsWith(".ts") || f.endsWith(".m4s")) segments.push(signed(`${folder}/${f}`));

    const wrk = await ensureWrk();
    // A second's warm-up (JIT, 50 new connections), not measured: a serving origin is warm.
    await load(wrk, originUrl, [...playlists, ...segments], CLIENTS, 1, work);
    // Playlist latency as players see it: each client asks again a random 0–20 ms after its
    // answer (≈ 5,000 playlist requests a second from 50 clients, a hundred times what 50
    // viewers starting and switching renditions ask for), on one wrk thread so the origin
    // keeps a core. Back to back (saturation) is measured too, for the log.
    const plMax = await load(wrk, originUrl, playlists, CLIENTS, Math.min(SECONDS, 4), work, { threads: 1 });
    const pl = await load(wrk, originUrl, playlists, CLIENTS, Math.min(SECONDS, 5), work, {
      threads: 1,
      thinkMs: PLAYLIST_THINK_MS,
    });
    const seg = await load(wrk, originUrl, segments, CLIENTS, SECONDS, work);
    const accessLog = path.join(edgeDir, "access.log");
    const before = logLines(accessLog);
    // Starts with a cold cache: every file's first request is a MISS the edge fetches once.
    const edge = await load(wrk, edgeUrl, segments, CLIENTS, SECONDS, work);
    const cache = edgeHits(accessLog, before);
    // What a viewer behind the edge gets: playlists cached there for seconds, shared by viewers.
    await load(wrk, edgeUrl, playlists, CLIENTS, 1, work, { threads: 1 });
    const edgePl = await load(wrk, edgeUrl, playlists, CLIENTS, Math.min(SECONDS, 4), work, {
      threads: 1,
      thinkMs: PLAYLIST_THINK_MS,
    });
    log("phases", {
      clients: CLIENTS,
      load_generator: "wrk (one thread for playlists, two for segments)",
      origin_playlists: {
        requests: pl.requests,
        errors: pl.errors,
        rps: Math.round(pl.requests / pl.seconds),
        p50_ms: pl.p50_ms,
        p99_ms: pl.p99_ms,
      },
      origin_playlists_back_to_back: {
        rps: Math.round(plMax.requests / plMax.seconds),
        p50_ms: plMax.p50_ms,
        p99_ms: plMax.p99_ms,
      },
      edge_playlists: {
        requests: edgePl.requests,
        errors: edgePl.errors,
        p50_ms: edgePl.p50_ms,
        p99_ms: edgePl.p99_ms,
      },
      origin_segments: { requests: seg.requests, errors: seg.errors, mb: Math.round(seg.bytes / 1e6) },
      edge_segments: {
        requests: edge.requests,
        errors: edge.errors,
        logged: cache.lines,
        hits: cache.hits,
        p99_ms: edge.p99_ms,
      },
      segment_files: segments.length,
    });
    if (pl.errors + plMax.errors + seg.errors + edge.errors + edgePl.errors > 0)
      log("some requests failed: the figures are not valid");
    process.stdout.write(
      `${JSON.stringify({
        transcode_realtime_factor: result.realtime_factor,
        rungs: result.rungs.length,
        playlist_p99_ms: pl.p99_ms,
        segment_p99_ms: seg.p99_ms,
        origin_segment_mb_s: mbs(seg),
        edge_segment_mb_s: mbs(edge),
        edge_hit_ratio: cache.lines ? Math.round((cache.hits / cache.lines) * 1000) / 1000 : 0,
      })}\n`,
    );
  } finally {
    if (edgeStarted) await run("bash", [path.join(REPO, "infra/edge/stop.sh")], { env: edgeEnv }).catch(() => {});
    for (const c of children) c.kill("SIGTERM");
    if (process.env.BENCH_KEEP) log("kept", { work });
    else rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--serve-origin") {
  await serveOrigin(process.argv[3] ?? "", Number(process.argv[4]));
} else {
  await main();
}
