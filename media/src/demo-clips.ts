import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { runCapture } from "./ffmpeg.ts";

/** Fonts drawtext can use, best first (Debian's fonts-dejavu-core, then a few other distributions'). */
const FONT_CANDIDATES = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
  "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
  "/Library/Fonts/Arial.ttf",
];

/** The first font file present, or null (then clips carry no text). */
export function findFont(candidates: readonly string[] = FONT_CANDIDATES): string | null {
  return candidates.find((f) => existsSync(f)) ?? null;
}

export interface DemoClipOptions {
  ffmpeg: string;
  /** Where the MP4 goes. */
  out: string;
  /** Drawn on screen (when a font is found). */
  title: string;
  /** Picks the pattern, colours and tone: the same seed and title give the same picture and sound. */
  seed: number | string;
  duration_s?: number;
  width?: number;
  height?: number;
  fps?: number;
  /** A TrueType font for the title; default: the first of the usual system fonts; null: no text. */
  fontFile?: string | null;
  /** CPU priority of ffmpeg (nice, default 10): seeding runs while the store starts serving. */
  nice?: number;
}

export interface DemoClip {
  file: string;
  duration_s: number;
  width: number;
  height: number;
  /** Whether the title is drawn (false when no font was found or this ffmpeg has no drawtext). */
  text: boolean;
}

const PATTERNS = ["testsrc2", "smptehdbars", "colour", "rgbtestsrc", "testsrc"] as const;
const COLOURS = ["0x1d3557", "0x6a040f", "0x2d6a4f", "0x3c096c", "0x7f5539", "0x023047", "0x9d0208", "0x283618"];

function pick(seed: string, salt: string, n: number): number {
  return createHash("sha256").update(`${seed}:${salt}`).digest().readUInt32BE(0) % n;
}

/**
 * A short, distinct demo clip made by ffmpeg alone (its lavfi test sources, the title drawn on
 * screen, a sine tone), so the seeded store plays without any external file. Everything seen
 * and heard follows from the seed and title.
 */
export async function generateDemoClip(options: DemoClipOptions): Promise<DemoClip> {
  const seed = String(options.seed);
  const duration = options.duration_s ?? 24;
  const width = options.width ?? 1280;
  const height = options.height ?? 720;
  const fps = options.fps ?? 24;
  const size = `${width}x${height}`;
  const pattern = PATTERNS[pick(seed, "pattern", PATTERNS.length)];
  const colour = COLOURS[pick(seed, "colour", COLOURS.length)];
  // A tone between 220 and 880 Hz, and a slow hue drift, so pool clips differ at a glance and by ear.
  const freq = 220 + pick(seed, "tone", 661);
  const source =
    pattern === "colour"
      ? `color=c=${colour}:s=${size}:r=${fps}:d=${duration},hue=H=2*PI*t/${duration}:s=1`
      : `${pattern}=s=${size}:r=${fps}:d=${duration}`;
  const font = options.fontFile === undefined ? findFont() : options.fontFile;
  await mkdir(path.dirname(options.out), { recursive: true });

  const encode = async (text: string | null) => {
    const vf = text ?? "null";
    await runCapture(
      options.ffmpeg,
      [
        "-nostdin",
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        source,
        "-f",
        "lavfi",
        "-i",
        `sine=frequency=${freq}:sample_rate=48000:duration=${duration}`,
        "-vf",
        `${vf},format=yuv420p`,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "26",
        "-c:a",
        "aac",
        "-b:a",
        "96k",
        "-t",
        String(duration),
        "-movflags",
        "+faststart",
        options.out,
      ],
      { timeoutMs: Math.max(60_000, duration * 10_000), nice: options.nice ?? 10 },
    );
  };

  if (font) {
    // The title goes through a file, not the filter string: no escaping of quotes, colons or commas.
    const dir = await mkdtemp(path.join(os.tmpdir(), "marquee-clip-"));
    try {
      const textFile = path.join(dir, "title.txt");
      await writeFile(textFile, options.title.replace(/[\r\n]+/g, " ").slice(0, 80));
      const q = (p: string) => `'${p.replace(/\\/g, "/").replace(/'/g, "")}'`;
      const fontsize = Math.max(12, Math.round(height / 12));
      const text = [
        `drawtext=fontfile=${q(font)}:textfile=${q(textFile)}:expansion=none:fontsize=${fontsize}:fontcolor=white`,
        "box=1:boxcolor=black@0.6:boxborderw=12:x=(w-text_w)/2:y=h*0.72-text_h/2",
      ].join(":");
      try {
        await encode(text);
        return { file: options.out, duration_s: duration, width, height, text: true };
      } catch {
        // No drawtext in this ffmpeg (built without freetype) or an unreadable font: a clip without text still plays.
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  await encode(null);
  return { file: options.out, duration_s: duration, width, height, text: false };
}
