/**
 * `npm run bench:media`: the media path on this machine, end to end.
 *
 * 1. Generates a 60 s 1080p30 clip with ffmpeg's own sources (test pattern + tone) and
 *    transcodes it to the full HLS ladder, AES-128 encrypted, with media's `transcodeHls`
 *    (the same call the transcoding jobs make); `transcode_realtime_factor` is clip seconds per
 *    wall-clock second for all rungs together, `rungs` how many it made.
 * 2. Serves the result from media's origin (`mediaOriginRoutes` on LocalStorage, in a child
 *    process of its own so the load generator does not share its event loop) and through the
 *    nginx edge (`infra/edge/start.sh`, njs checking every signed link), and runs
 *    BENCH_CLIENTS (50) concurrent keep-alive clients against each for BENCH_SECONDS (8) per phase:
 *    - playlists from the origin (master and media playlists): `playlist_p99_ms`;
 *    - segments from the origin: `segment_p99_ms`, `origin_segment_mb_s`;
 *    - segments from the edge, starting with a cold cache: `edge_segment_mb_s`, `edge_hit_ratio`
 *      (X-Cache HIT over every edge response of the phase).
 * Prints one JSON line with those fields; details (ffmpeg used, counts) go to stderr.
 * Bounded: each phase stops on time, and the whole run gives up after 15 minutes.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import http from "node:http";
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
  hits: number;
  errors: number;
  latencies: number[];
  seconds: number;
}

/** `clients` keep-alive loops over `urls` (each from its own offset) for `seconds`. */
async function load(base: string, urls: string[], clients: number, seconds: number): Promise<Phase> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const target = new URL(base);
  const out: Phase = { requests: 0, bytes: 0, hits: 0, errors: 0, latencies: [], seconds: 0 };
  const get = (p: string) =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = http.get({ host: target.hostname, port: target.port, path: p, agent }, (res) => {
        let n = 0;
        res.on("data", (c: Buffer) => {
          n += c.length;
        });
        res.on("end", () => {
          out.latencies.push(performance.now() - t0);
          out.requests++;
          out.bytes += n;
          if (res.headers["x-cache"] === "HIT") out.hits++;
          if (res.statusCode !== 200) out.errors++;
          resolve();
        });
        res.on("error", () => {
          out.errors++;
          resolve();
        });
      });
      req.on("error", () => {
        out.errors++;
        resolve();
      });
    });
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let i = Math.floor((c * urls.length) / clients);
      while (performance.now() < deadline) {
        await get(urls[i % urls.length] ?? "/");
        i++;
      }
    }),
  );
  out.seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return out;
}

const p99 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[Math.min(s.length - 1, Math.floor(0.99 * s.length))] ?? 0) * 100) / 100;
};
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

    const pl = await load(originUrl, playlists, CLIENTS, Math.min(SECONDS, 4));
    const seg = await load(originUrl, segments, CLIENTS, SECONDS);
    const edge = await load(edgeUrl, segments, CLIENTS, SECONDS);
    log("phases", {
      clients: CLIENTS,
      playlists: { requests: pl.requests, errors: pl.errors },
      origin_segments: { requests: seg.requests, errors: seg.errors, mb: Math.round(seg.bytes / 1e6) },
      edge_segments: { requests: edge.requests, errors: edge.errors, hits: edge.hits, p99_ms: p99(edge.latencies) },
      segment_files: segments.length,
    });
    process.stdout.write(
      `${JSON.stringify({
        transcode_realtime_factor: result.realtime_factor,
        rungs: result.rungs.length,
        playlist_p99_ms: p99(pl.latencies),
        segment_p99_ms: p99(seg.latencies),
        origin_segment_mb_s: mbs(seg),
        edge_segment_mb_s: mbs(edge),
        edge_hit_ratio: edge.requests ? Math.round((edge.hits / edge.requests) * 1000) / 1000 : 0,
      })}\n`,
    );
  } finally {
    if (edgeStarted) await run("bash", [path.join(REPO, "infra/edge/stop.sh")], { env: edgeEnv }).catch(() => {});
    for (const c of children) c.kill("SIGTERM");
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--serve-origin") {
  await serveOrigin(process.argv[3] ?? "", Number(process.argv[4]));
} else {
  await main();
}
