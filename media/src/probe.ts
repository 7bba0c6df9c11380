import { runCapture } from "./ffmpeg.ts";

/**
 * A file media will not take, with a reason a seller can act on ("the file is not a video
 * ffmpeg can read"). Uploads answer it as 422; jobs fail at once on it (retrying cannot help).
 */
export class MediaRejected extends Error {
  readonly status = 422;
  constructor(readonly reason: string) {
    super(reason);
    this.name = "MediaRejected";
  }
}

export interface ProbedVideo {
  kind: "video";
  width: number;
  height: number;
  duration_s: number;
  /** Frames per second of the video stream (its average rate; 0 when unknown). */
  fps: number;
  video_codec: string;
  has_audio: boolean;
  audio_codec: string | null;
  /** The container as ffprobe names it (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, …). */
  format: string;
  size_bytes: number;
  bit_rate: number | null;
}

export interface ProbedImage {
  kind: "image";
  width: number;
  height: number;
  /** `mjpeg` (JPEG), `png` or `webp`. */
  video_codec: string;
  format: string;
  size_bytes: number;
}

export type Probed = ProbedVideo | ProbedImage;

/** Poster formats a browser shows everywhere. */
const IMAGE_CODECS = new Set(["mjpeg", "png", "webp"]);

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  disposition?: { attached_pic?: number };
}
interface FfprobeOut {
  streams?: FfprobeStream[];
  format?: { format_name?: string; duration?: string; size?: string; bit_rate?: string };
}

function rate(r: string | undefined): number {
  const [n, d] = (r ?? "0/1").split("/").map(Number);
  return n && d ? n / d : 0;
}

function firstLine(stderr: string): string {
  return (
    stderr
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l.length > 0)
      // `[mov,mp4,… @ 0x…] moov atom not found`, `/tmp/x.mp4: Invalid data …`: the words only.
      ?.replace(/^\[[^\]]*\]\s*/, "")
      .replace(/^\/\S+:\s*/, "") ?? "unknown error"
  );
}

/**
 * How many video frames ffmpeg actually decodes from `seconds` of the file starting at `at`
 * (frame checksums to stdout; headers alone prove nothing about the bytes behind them).
 */
async function decodedFrames(ffmpeg: string, file: string, at: number, seconds: number): Promise<number> {
  const args = ["-nostdin", "-v", "error"];
  if (at > 0) args.push("-ss", at.toFixed(3));
  args.push("-i", file, "-map", "0:v:0", "-t", String(seconds), "-frames:v", "5", "-f", "framecrc", "-");
  try {
    const { stdout } = await runCapture(ffmpeg, args, { timeoutMs: 60_000 });
    return stdout.split("\n").filter((l) => l && !l.startsWith("#")).length;
  } catch {
    return 0;
  }
}

export interface ProbeOptions {
  ffmpeg: string;
  ffprobe: string;
  /** What the file must be: a video (film, trailer) or an image (poster). */
  expect: "video" | "image";
}

/**
 * Probes a file and proves it decodes: ffprobe reads the container, then ffmpeg decodes a few
 * frames at the start and near the end (a truncated upload keeps a valid header, but its last
 * frames are gone). Anything else is a MediaRejected with the reason.
 */
export async function probeMedia(file: string, options: ProbeOptions): Promise<Probed> {
  let info: FfprobeOut;
  try {
    const { stdout } = await runCapture(
      options.ffprobe,
      ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", file],
      { timeoutMs: 60_000 },
    );
    info = JSON.parse(stdout) as FfprobeOut;
  } catch (e) {
    const reason = firstLine((e as { stderr?: string }).stderr ?? "");
    throw new MediaRejected(
      options.expect === "image"
        ? `the file is not an image ffmpeg can read (${reason}); upload a JPEG, PNG or WebP`
        : `the file is not a video ffmpeg can read (${reason}); upload an MP4, MOV, MKV or WebM`,
    );
  }
  const format = info.format?.format_name ?? "";
  const size_bytes = Number(info.format?.size ?? 0);
  const streams = info.streams ?? [];
  const video = streams.find((s) => s.codec_type === "video" && !s.disposition?.attached_pic);

  if (options.expect === "image") {
    const codec = video?.codec_name ?? "";
    if (!video || !IMAGE_CODECS.has(codec) || !/image2|_pipe|webp/.test(format))
      throw new MediaRejected("a poster must be a JPEG, PNG or WebP image");
    if (!video.width || !video.height)
      throw new MediaRejected("the file is not an image ffmpeg can read (no picture size); upload a JPEG, PNG or WebP");
    if ((await decodedFrames(options.ffmpeg, file, 0, 1)) === 0)
      throw new MediaRejected("the image is damaged: ffmpeg could not decode it");
    return { kind: "image", width: video.width, height: video.height, video_codec: codec, format, size_bytes };
  }

  if (!video) throw new MediaRejected("the file has no video stream");
  if (/image2|_pipe/.test(format) || IMAGE_CODECS.has(video.codec_name ?? ""))
    throw new MediaRejected("the file is a still image, not a video");
  const width = video.width ?? 0;
  const height = video.height ?? 0;
  if (!width || !height) throw new MediaRejected("the video has no picture size ffmpeg can read");
  const duration_s = Number(info.format?.duration ?? video.duration ?? 0);
  if (!Number.isFinite(duration_s) || duration_s <= 0) throw new MediaRejected("the video has no duration");
  if ((await decodedFrames(options.ffmpeg, file, 0, 2)) === 0)
    throw new MediaRejected(
      "the video does not decode: its first frames are damaged or in a format ffmpeg cannot read",
    );
  // The last second: a cut-off upload (a dropped connection behind a proxy, a partial copy)
  // still announces its full length, but there is nothing there.
  const tailAt = Math.max(0, duration_s - 1.5);
  if (tailAt > 0 && (await decodedFrames(options.ffmpeg, file, tailAt, 1.5)) === 0)
    throw new MediaRejected(
      `the video ends early: it announces ${duration_s.toFixed(1)} s but nothing decodes near the end (a truncated upload? upload the whole file again)`,
    );
  const audio = streams.find((s) => s.codec_type === "audio");
  const br = Number(info.format?.bit_rate);
  return {
    kind: "video",
    width,
    height,
    duration_s,
    fps: rate(video.avg_frame_rate) || rate(video.r_frame_rate),
    video_codec: video.codec_name ?? "unknown",
    has_audio: Boolean(audio),
    audio_codec: audio?.codec_name ?? null,
    format,
    size_bytes,
    bit_rate: Number.isFinite(br) && br > 0 ? br : null,
  };
}
