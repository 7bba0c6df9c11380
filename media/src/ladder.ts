/**
 * The HLS bitrate ladder, after Apple's HLS authoring specification (16:9 H.264 rungs):
 * every rung is a height, a target average video bitrate and a peak. A source gets the
 * rungs at or below its own height (never upscaled), and always at least the lowest one.
 */
export interface LadderRung {
  /** Rung name and folder: `v360`. */
  name: string;
  height: number;
  /** Target average video bitrate, kb/s. */
  video_kbps: number;
  /** Peak (x264 VBV maxrate), kb/s: Apple asks peak ≤ 200 % of average for VOD; 150 % keeps the buffer small. */
  max_kbps: number;
  /** H.264 profile and level that cover the rung (they make up its CODECS attribute). */
  profile: "main" | "high";
  level: "3.0" | "3.1" | "4.0" | "4.1";
  /**
   * x264 preset. The two top rungs cost most of the CPU; `superfast` there (and `veryfast`
   * below) keeps the whole ladder at ≥ 1× real time on two cores (ADR 009 has the figures).
   */
  preset: string;
}

export const LADDER: readonly LadderRung[] = [
  { name: "v234", height: 234, video_kbps: 145, max_kbps: 218, profile: "main", level: "3.0", preset: "veryfast" },
  { name: "v360", height: 360, video_kbps: 365, max_kbps: 548, profile: "main", level: "3.0", preset: "veryfast" },
  { name: "v540", height: 540, video_kbps: 2000, max_kbps: 3000, profile: "high", level: "3.1", preset: "veryfast" },
  { name: "v720", height: 720, video_kbps: 3000, max_kbps: 4500, profile: "high", level: "4.0", preset: "superfast" },
  { name: "v1080", height: 1080, video_kbps: 6000, max_kbps: 9000, profile: "high", level: "4.1", preset: "superfast" },
];

/** The AAC audio rendition: stereo, 48 kHz. */
export const AUDIO_KBPS = 128;

/** Segment length, seconds (Apple: 6 s); keyframes fall every SEGMENT_S on every rung. */
export const SEGMENT_S = 6;

/** A rung sized for one source. */
export interface PlannedRung extends LadderRung {
  width: number;
  /** The rung's height as encoded (below `height` when the source is smaller than the lowest rung). */
  encoded_height: number;
}

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/**
 * The rungs for a source of `width`×`height` (display size): each at most the source's height,
 * width following the source's aspect ratio (even numbers, as 4:2:0 needs). A source smaller
 * than the lowest rung keeps one rung at its own size.
 */
export function planLadder(
  source: { width: number; height: number },
  ladder: readonly LadderRung[] = LADDER,
): PlannedRung[] {
  const aspect = source.width / source.height;
  // A rung whose height fits but whose width does not (a very wide source) is sized by width.
  const fits = ladder.filter((r) => r.height <= source.height && even(r.height * aspect) <= even(source.width));
  const chosen = fits.length > 0 ? fits : ladder.slice(0, 1);
  return chosen.map((r) => {
    const h = Math.min(r.height, source.height);
    return { ...r, width: Math.min(even(h * aspect), even(source.width)), encoded_height: even(h) };
  });
}

/** The H.264 CODECS string (RFC 6381) for a profile and level: `avc1.4d401e`, `avc1.640028`. */
export function avcCodec(profile: LadderRung["profile"], level: LadderRung["level"]): string {
  const p = profile === "high" ? "6400" : "4d40";
  const l = Math.round(Number(level) * 10)
    .toString(16)
    .padStart(2, "0");
  return `avc1.${p}${l}`;
}

/** AAC-LC. */
export const AAC_CODEC = "mp4a.40.2";

/**
 * The frame rate every rung is encoded at: the source's, capped at 30 (Apple's ladder tops out
 * there for these heights), and rounded to a whole number of frames per segment, so that a
 * fixed GOP of `fps × SEGMENT_S` frames lands exactly on the segment boundaries.
 */
export function ladderFps(sourceFps: number): number {
  if (!Number.isFinite(sourceFps) || sourceFps <= 0) return 30;
  const capped = sourceFps > 30.5 ? sourceFps / Math.ceil(sourceFps / 30) : sourceFps;
  // 29.97 → 30, 23.976 → 24: a whole number keeps the GOP an exact number of frames.
  return Math.max(1, Math.round(capped));
}
