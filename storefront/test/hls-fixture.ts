import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

/**
 * A small, real HLS title made by ffmpeg for the player's tests: two H.264 rungs (180p, 360p)
 * with AAC audio in 2 s MPEG-TS segments, AES-128 encrypted with one key (as media's ladder is),
 * a master playlist with BANDWIDTH/RESOLUTION/CODECS, a scrubbing sprite with its WebVTT map and
 * an English caption track. Everything is relative to the folder, so it can be served under any
 * prefix, such as a signed `/media/s/<token>/`.
 */
export interface HlsFixture {
  dir: string;
  duration_s: number;
  /** The 16-byte AES-128 key (the file `key.bin`). */
  key: Buffer;
}

const run = promisify(execFile);
export const FFMPEG = process.env.FFMPEG_PATH ?? "/usr/bin/ffmpeg";
export const hasFfmpeg = existsSync(FFMPEG);

export async function makeHlsFixture(dir: string, durationS = 40): Promise<HlsFixture> {
  mkdirSync(dir, { recursive: true });
  const key = randomBytes(16);
  writeFileSync(join(dir, "key.bin"), key);
  // Line 1: the key's URI as the media playlists name it (relative to v0/, v1/); line 2: the file.
  writeFileSync(join(dir, "key.info"), `../key.bin\n${join(dir, "key.bin")}\n`);
  const sources = [
    ["-f", "lavfi", "-i", `testsrc2=size=640x360:rate=24:duration=${durationS}`],
    ["-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${durationS}`],
  ].flat();
  await run(
    FFMPEG,
    [
      "-hide_banner",
      "-loglevel",
      "error",
      "-y",
      ...sources,
      "-filter_complex",
      "[0:v]split=2[a][b];[a]scale=320:180[v0];[b]scale=640:360[v1]",
      "-map",
      "[v0]",
      "-map",
      "[v1]",
      "-map",
      "1:a",
      "-map",
      "1:a",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-profile:v",
      "main",
      "-pix_fmt",
      "yuv420p",
      // Closed 2 s GOPs, aligned across the rungs, so the player can switch at any segment.
      "-g",
      "48",
      "-keyint_min",
      "48",
      "-sc_threshold",
      "0",
      "-b:v:0",
      "200k",
      "-b:v:1",
      "600k",
      "-c:a",
      "aac",
      "-b:a",
      "64k",
      "-ac",
      "2",
      "-f",
      "hls",
      "-hls_time",
      "2",
      "-hls_playlist_type",
      "vod",
      "-hls_key_info_file",
      join(dir, "key.info"),
      "-hls_segment_filename",
      join(dir, "v%v", "seg%03d.ts"),
      "-master_pl_name",
      "master.m3u8",
      "-var_stream_map",
      "v:0,a:0 v:1,a:1",
      join(dir, "v%v", "index.m3u8"),
    ],
    { timeout: 120_000 },
  );
  // The scrubbing sprite: one 160x90 tile every 5 s, in a row.
  const tiles = Math.ceil(durationS / 5);
  await run(
    FFMPEG,
    [
      "-hide_banner",
      "-loglevel",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      `testsrc2=size=640x360:rate=24:duration=${durationS}`,
      "-vf",
      `fps=1/5,scale=160:90,tile=${tiles}x1`,
      "-frames:v",
      "1",
      join(dir, "sprite.jpg"),
    ],
    { timeout: 60_000 },
  );
  const stamp = (s: number) => `${new Date(s * 1000).toISOString().slice(11, 23)}`;
  const cues = Array.from(
    { length: tiles },
    (_, i) => `${stamp(i * 5)} --> ${stamp(Math.min(durationS, (i + 1) * 5))}\nsprite.jpg#xywh=${i * 160},0,160,90`,
  );
  writeFileSync(join(dir, "thumbnails.vtt"), `WEBVTT\n\n${cues.join("\n\n")}\n`);
  writeFileSync(
    join(dir, "captions-en.vtt"),
    `WEBVTT\n\n00:00:00.500 --> 00:00:04.000\nThe test pattern begins.\n\n00:00:04.000 --> 00:00:08.000\nA tone plays.\n`,
  );
  return { dir, duration_s: durationS, key };
}
