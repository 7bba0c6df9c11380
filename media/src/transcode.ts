import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { deprioritise, runCapture } from "./ffmpeg.ts";
import {
  AAC_CODEC,
  AUDIO_KBPS,
  avcCodec,
  LADDER,
  type LadderRung,
  ladderFps,
  planLadder,
  SEGMENT_S,
} from "./ladder.ts";
import { type ProbedVideo, probeMedia } from "./probe.ts";

/** Every media playlist points here for its key: `<asset root>/key`, answered by the origin after an entitlement check. */
export const KEY_URI = "../key";

/** Scrubbing thumbnails: one every THUMB_EVERY_S seconds, THUMB_WIDTH px wide, THUMB_COLUMNS to a sprite row. */
export const THUMB_EVERY_S = 5;
const THUMB_WIDTH = 160;
const THUMB_COLUMNS = 10;

export interface TranscodeProgress {
  /** 0–100. */
  percent: number;
  /** Seconds left, estimated from the speed so far (null until there is a speed). */
  eta_s: number | null;
  /** Media seconds encoded per wall-clock second (1 = real time). */
  speed: number | null;
}

export interface TranscodeOptions {
  ffmpeg: { ffmpeg: string; ffprobe: string };
  source: string;
  /** Emptied first; gets master.m3u8, v<height>/, audio/, poster.jpg, thumbs/. */
  outDir: string;
  /** AES-128 for every segment: the asset's key (16 bytes; never written to outDir) and, optionally, one IV for all segments. */
  encryption?: { key: Buffer; iv?: Buffer };
  /** The source's probe, when the caller has it already. */
  probe?: ProbedVideo;
  onProgress?: (p: TranscodeProgress) => void;
  signal?: AbortSignal;
  /** One x264 preset for every rung instead of each rung's own (LadderRung.preset). */
  preset?: string;
  ladder?: readonly LadderRung[];
  /** CPU priority of the ffmpeg processes (nice, default 10): the store's requests go first. */
  nice?: number;
}

export interface TranscodedRung {
  name: string;
  width: number;
  height: number;
  /** Peak bits per second of a segment, video plus audio (the master's BANDWIDTH). */
  bandwidth: number;
  /** Average bits per second, video plus audio (AVERAGE-BANDWIDTH). */
  average_bandwidth: number;
  codecs: string;
  /** `v360/index.m3u8`, relative to outDir. */
  playlist: string;
  segments: number;
}

export interface TranscodeResult {
  duration_s: number;
  width: number;
  height: number;
  fps: number;
  rungs: TranscodedRung[];
  audio: { playlist: string; codecs: string; bandwidth: number; average_bandwidth: number } | null;
  encrypted: boolean;
  master: "master.m3u8";
  poster: "poster.jpg";
  thumbnails: "thumbs/thumbs.vtt";
  /** Every file written, relative to outDir, sorted. */
  files: string[];
  elapsed_s: number;
  /** Media seconds per wall second for the whole job (ladder, poster and sprite). */
  realtime_factor: number;
}

interface Segment {
  uri: string;
  duration: number;
}

/** The EXTINF entries of a media playlist. */
export function parseMediaPlaylist(text: string): Segment[] {
  const out: Segment[] = [];
  const lines = text.split("\n").map((l) => l.trim());
  for (let i = 0; i < lines.length; i++) {
    const m = /^#EXTINF:([\d.]+)/.exec(lines[i] ?? "");
    if (!m) continue;
    const uri = lines.slice(i + 1).find((l) => l && !l.startsWith("#"));
    if (uri) out.push({ uri, duration: Number(m[1]) });
  }
  return out;
}

/** Peak and average bits per second of a rendition, measured from its segment files. */
async function measure(dir: string, segments: Segment[]): Promise<{ peak: number; average: number }> {
  let bits = 0;
  let seconds = 0;
  let peak = 0;
  for (const s of segments) {
    const b = (await stat(path.join(dir, s.uri))).size * 8;
    bits += b;
    seconds += s.duration;
    // A last sliver of a segment (a few frames) is no peak a player has to sustain.
    if (s.duration >= 1 || segments.length === 1) peak = Math.max(peak, b / Math.max(s.duration, 0.001));
  }
  return { peak: Math.ceil(peak), average: Math.ceil(bits / Math.max(seconds, 0.001)) };
}

function timestamp(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s - h * 3600 - m * 60;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${sec.toFixed(3).padStart(6, "0")}`;
}

/** The WebVTT map of the sprite: a cue per thumbnail, `sprite.jpg#xywh=x,y,w,h` (relative to the VTT). */
export function thumbnailsVtt(count: number, duration: number, w: number, h: number): string {
  const cues = ["WEBVTT", ""];
  for (let i = 0; i < count; i++) {
    const start = i * THUMB_EVERY_S;
    const end = Math.min((i + 1) * THUMB_EVERY_S, duration);
    if (end <= start) break;
    const x = (i % THUMB_COLUMNS) * w;
    const y = Math.floor(i / THUMB_COLUMNS) * h;
    cues.push(`${timestamp(start)} --> ${timestamp(end)}`, `sprite.jpg#xywh=${x},${y},${w},${h}`, "");
  }
  return cues.join("\n");
}

async function listFiles(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, r)));
    else out.push(r);
  }
  return out.sort();
}

/** ffmpeg with `-progress pipe:1`: resolves on exit 0, reports encoded media time as it goes. */
function runFfmpeg(
  ffmpeg: string,
  args: string[],
  onTime: (seconds: number) => void,
  signal: AbortSignal | undefined,
  nice: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error("aborted"));
    const child = spawn(ffmpeg, args, { stdio: ["ignore", "pipe", "pipe"] });
    deprioritise(child.pid, nice);
    let stderr = "";
    let buffered = "";
    const abort = () => child.kill("SIGKILL");
    signal?.addEventListener("abort", abort, { once: true });
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        // out_time_us (out_time_ms is microseconds too, in every ffmpeg release).
        const m = /^out_time_(?:us|ms)=(\d+)/.exec(line);
        if (m) onTime(Number(m[1]) / 1e6);
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-8000);
    });
    child.on("error", (e) => {
      signal?.removeEventListener("abort", abort);
      reject(e);
    });
    child.on("close", (code, sig) => {
      signal?.removeEventListener("abort", abort);
      if (signal?.aborted) return reject(signal.reason ?? new Error("aborted"));
      if (code === 0) resolve();
      else reject(new Error(`ffmpeg exited with ${code ?? sig}: ${stderr.trim().slice(-1500)}`));
    });
  });
}

/**
 * Transcodes a video to an HLS ladder in ONE ffmpeg process: the source is decoded once,
 * split into one scaled branch per rung (plus one for the thumbnail sprite), and every rung
 * is encoded with the same fixed, closed GOP of SEGMENT_S seconds (`-g`, `-keyint_min`,
 * `-sc_threshold 0`, forced keyframes), so segment boundaries fall on the same frames on
 * every rung and a player can switch at any segment. MPEG-TS segments (ADR 009), AES-128
 * when `encryption` is given with every EXT-X-KEY URI `../key`. Then a poster ~10 % in and
 * the master playlist, written from the measured segment sizes.
 */
export async function transcodeHls(options: TranscodeOptions): Promise<TranscodeResult> {
  const started = Date.now();
  const probe =
    options.probe ?? ((await probeMedia(options.source, { ...options.ffmpeg, expect: "video" })) as ProbedVideo);
  const { outDir } = options;
  const rungs = planLadder(probe, options.ladder ?? LADDER);
  const fps = ladderFps(probe.fps);
  const gop = fps * SEGMENT_S;
  const duration = probe.duration_s;
  const nice = options.nice ?? 10;

  await rm(outDir, { recursive: true, force: true });
  await mkdir(path.join(outDir, "thumbs"), { recursive: true });

  const thumbH = Math.max(2, Math.round(THUMB_WIDTH / (probe.width / probe.height) / 2) * 2);
  const thumbCount = Math.max(1, Math.floor((duration - 0.001) / THUMB_EVERY_S) + 1);
  const tileCols = Math.min(THUMB_COLUMNS, thumbCount);
  const tileRows = Math.ceil(thumbCount / THUMB_COLUMNS);

  const branches = rungs.map((_, i) => `[s${i}]`).join("");
  const filters = [
    `[0:v:0]fps=${fps},split=${rungs.length + 1}${branches}[sth]`,
    ...rungs.map((r, i) => `[s${i}]scale=${r.width}:${r.encoded_height}:flags=bilinear,setsar=1,format=yuv420p[o${i}]`),
    `[sth]fps=1/${THUMB_EVERY_S},scale=${THUMB_WIDTH}:${thumbH},tile=${tileCols}x${tileRows}[th]`,
  ];

  let keyDir: string | null = null;
  const args = ["-nostdin", "-hide_banner", "-v", "error", "-nostats", "-progress", "pipe:1", "-y"];
  args.push("-i", options.source, "-filter_complex", filters.join(";"));
  for (const i of rungs.keys()) args.push("-map", `[o${i}]`);
  if (probe.has_audio) args.push("-map", "0:a:0");
  args.push("-c:v", "libx264");
  rungs.forEach((r, i) => {
    args.push(
      `-b:v:${i}`,
      `${r.video_kbps}k`,
      `-maxrate:v:${i}`,
      `${r.max_kbps}k`,
      `-bufsize:v:${i}`,
      `${r.video_kbps * 2}k`,
      `-profile:v:${i}`,
      r.profile,
      `-level:v:${i}`,
      r.level,
      `-preset:v:${i}`,
      options.preset ?? r.preset,
    );
  });
  // A closed GOP of exactly one segment on every rung: keyframes on the same frames everywhere.
  args.push("-g", String(gop), "-keyint_min", String(gop), "-sc_threshold", "0", "-flags", "+cgop");
  args.push("-force_key_frames", `expr:gte(t,n_forced*${SEGMENT_S})`);
  if (probe.has_audio) args.push("-c:a", "aac", "-b:a", `${AUDIO_KBPS}k`, "-ac", "2", "-ar", "48000");
  args.push(
    "-f",
    "hls",
    "-hls_time",
    String(SEGMENT_S),
    "-hls_playlist_type",
    "vod",
    "-hls_flags",
    "independent_segments",
    "-hls_segment_type",
    "mpegts",
    "-hls_segment_filename",
    path.join(outDir, "%v", "seg_%05d.ts"),
  );
  const streamMap = rungs.map((_, i) => `v:${i}`);
  if (probe.has_audio) streamMap.push("a:0");
  args.push("-var_stream_map", streamMap.join(" "));

  try {
    if (options.encryption) {
      if (options.encryption.key.length !== 16) throw new Error("an AES-128 key is 16 bytes");
      // The key goes to a private temporary folder for ffmpeg to read, never next to the segments.
      keyDir = await mkdtemp(path.join(os.tmpdir(), "marquee-key-"));
      const keyFile = path.join(keyDir, "key.bin");
      await writeFile(keyFile, options.encryption.key, { mode: 0o600 });
      // One explicit IV for the asset, written into every EXT-X-KEY: without one, ffmpeg 5.1
      // writes `IV=0x0…0` once yet its segments' IVs are not spelled out per segment, and a
      // player must not have to guess.
      const iv = options.encryption.iv ?? randomBytes(16);
      if (iv.length !== 16) throw new Error("an AES-128 IV is 16 bytes");
      const info = [KEY_URI, keyFile, iv.toString("hex")];
      await writeFile(path.join(keyDir, "key.info"), `${info.join("\n")}\n`, { mode: 0o600 });
      args.push("-hls_key_info_file", path.join(keyDir, "key.info"));
    }
    args.push(path.join(outDir, "%v", "index.m3u8"));
    args.push("-map", "[th]", "-frames:v", "1", "-q:v", "5", path.join(outDir, "thumbs", "sprite.jpg"));

    const report = (encoded: number) => {
      if (!options.onProgress) return;
      const wall = (Date.now() - started) / 1000;
      const speed = encoded > 0 && wall > 0 ? encoded / wall : null;
      const percent = Math.min(99, Math.max(0, (encoded / duration) * 100));
      options.onProgress({
        percent: Math.round(percent * 10) / 10,
        eta_s: speed ? Math.max(0, Math.round((duration - encoded) / speed)) : null,
        speed: speed === null ? null : Math.round(speed * 100) / 100,
      });
    };
    await runFfmpeg(options.ffmpeg.ffmpeg, args, report, options.signal, nice);
  } finally {
    if (keyDir) await rm(keyDir, { recursive: true, force: true });
  }

  // ffmpeg names variant folders by index (`%v`); give them their rung names.
  for (const [i, r] of rungs.entries()) await rename(path.join(outDir, String(i)), path.join(outDir, r.name));
  if (probe.has_audio) await rename(path.join(outDir, String(rungs.length)), path.join(outDir, "audio"));

  // The poster: one frame ~10 % in (input seeking: only that GOP is decoded), at most 720 high.
  await runCapture(
    options.ffmpeg.ffmpeg,
    [
      "-nostdin",
      "-v",
      "error",
      "-y",
      "-ss",
      (duration * 0.1).toFixed(3),
      "-i",
      options.source,
      "-frames:v",
      "1",
      "-vf",
      "scale=-2:'min(720,ih)'",
      "-q:v",
      "3",
      path.join(outDir, "poster.jpg"),
    ],
    { timeoutMs: 120_000, signal: options.signal, nice },
  );
  await writeFile(path.join(outDir, "thumbs", "thumbs.vtt"), thumbnailsVtt(thumbCount, duration, THUMB_WIDTH, thumbH));

  let audio: TranscodeResult["audio"] = null;
  if (probe.has_audio) {
    const segs = parseMediaPlaylist(await readFile(path.join(outDir, "audio", "index.m3u8"), "utf8"));
    const m = await measure(path.join(outDir, "audio"), segs);
    audio = { playlist: "audio/index.m3u8", codecs: AAC_CODEC, bandwidth: m.peak, average_bandwidth: m.average };
  }
  const done: TranscodedRung[] = [];
  for (const r of rungs) {
    const segs = parseMediaPlaylist(await readFile(path.join(outDir, r.name, "index.m3u8"), "utf8"));
    const m = await measure(path.join(outDir, r.name), segs);
    const average = m.average + (audio?.average_bandwidth ?? 0);
    done.push({
      name: r.name,
      width: r.width,
      height: r.encoded_height,
      bandwidth: Math.max(m.peak + (audio?.bandwidth ?? 0), average),
      average_bandwidth: average,
      codecs: audio ? `${avcCodec(r.profile, r.level)},${AAC_CODEC}` : avcCodec(r.profile, r.level),
      playlist: `${r.name}/index.m3u8`,
      segments: segs.length,
    });
  }
  await writeFile(path.join(outDir, "master.m3u8"), masterPlaylist(done, audio, fps));

  options.onProgress?.({ percent: 100, eta_s: 0, speed: null });
  const elapsed_s = (Date.now() - started) / 1000;
  return {
    duration_s: duration,
    width: probe.width,
    height: probe.height,
    fps,
    rungs: done,
    audio,
    encrypted: Boolean(options.encryption),
    master: "master.m3u8",
    poster: "poster.jpg",
    thumbnails: "thumbs/thumbs.vtt",
    files: await listFiles(outDir),
    elapsed_s,
    realtime_factor: Math.round((duration / Math.max(elapsed_s, 0.001)) * 100) / 100,
  };
}

/** The master playlist: one EXT-X-STREAM-INF per rung (lowest first), the audio as its own group. */
export function masterPlaylist(rungs: TranscodedRung[], audio: TranscodeResult["audio"], fps: number): string {
  const lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"];
  if (audio)
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="Main",LANGUAGE="und",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="${audio.playlist}"`,
    );
  for (const r of [...rungs].sort((a, b) => a.bandwidth - b.bandwidth)) {
    const attrs = [
      `BANDWIDTH=${r.bandwidth}`,
      `AVERAGE-BANDWIDTH=${r.average_bandwidth}`,
      `RESOLUTION=${r.width}x${r.height}`,
      `FRAME-RATE=${fps.toFixed(3)}`,
      `CODECS="${r.codecs}"`,
    ];
    if (audio) attrs.push(`AUDIO="aac"`);
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(",")}`, r.playlist);
  }
  return `${lines.join("\n")}\n`;
}
