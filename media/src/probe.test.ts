import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDemoClip } from "./demo-clips.ts";
import { type FfmpegInfo, locateFfmpeg, runCapture } from "./ffmpeg.ts";
import { MediaRejected, probeMedia } from "./probe.ts";

describe("probing uploads", () => {
  let ff: FfmpegInfo;
  let dir: string;
  let clip: string;

  beforeAll(async () => {
    ff = await locateFfmpeg();
    dir = mkdtempSync(path.join(os.tmpdir(), "marquee-probe-"));
    clip = path.join(dir, "clip.mp4");
    await generateDemoClip({
      ffmpeg: ff.ffmpeg,
      out: clip,
      title: "Probe",
      seed: 1,
      duration_s: 6,
      width: 320,
      height: 180,
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const rejection = async (file: string, expect_: "video" | "image" = "video") => {
    try {
      await probeMedia(file, { ...ff, expect: expect_ });
    } catch (e) {
      if (e instanceof MediaRejected) return e.reason;
      throw e;
    }
    throw new Error(`${file} was accepted`);
  };

  it("reads a real video: size, duration, codec, audio", async () => {
    const p = await probeMedia(clip, { ...ff, expect: "video" });
    expect(p).toMatchObject({ kind: "video", width: 320, height: 180, video_codec: "h264", has_audio: true, fps: 24 });
    if (p.kind === "video") expect(p.duration_s).toBeCloseTo(6, 0);
  });

  it("refuses a text file renamed .mp4, with a reason", async () => {
    const file = path.join(dir, "notes.mp4");
    writeFileSync(file, "These are my notes, not a film.\n".repeat(50));
    expect(await rejection(file)).toMatch(/not a video ffmpeg can read/);
  });

  it("refuses a truncated upload whose index is gone (moov at the end)", async () => {
    const whole = path.join(dir, "tail-moov.mp4");
    await runCapture(ff.ffmpeg, ["-v", "error", "-y", "-i", clip, "-c", "copy", whole]);
    const cut = path.join(dir, "cut1.mp4");
    writeFileSync(cut, readFileSync(whole).subarray(0, Math.floor(statSync(whole).size / 2)));
    expect(await rejection(cut)).toMatch(/not a video ffmpeg can read/);
  });

  it("refuses a truncated upload whose header survives (faststart): nothing decodes near the end", async () => {
    // The demo clip has its index first, so half of it still parses and announces 6 s.
    const cut = path.join(dir, "cut2.mp4");
    writeFileSync(cut, readFileSync(clip).subarray(0, Math.floor(statSync(clip).size / 2)));
    expect(await rejection(cut)).toMatch(/ends early/);
  });

  it("takes JPEG posters as images and refuses a video as a poster, and a poster as a video", async () => {
    const jpg = path.join(dir, "poster.jpg");
    await runCapture(ff.ffmpeg, ["-v", "error", "-y", "-i", clip, "-frames:v", "1", "-update", "1", jpg]);
    expect(await probeMedia(jpg, { ...ff, expect: "image" })).toMatchObject({
      kind: "image",
      width: 320,
      height: 180,
      video_codec: "mjpeg",
    });
    expect(await rejection(clip, "image")).toMatch(/JPEG, PNG or WebP/);
    expect(await rejection(jpg, "video")).toMatch(/still image/);
    const text = path.join(dir, "poster.png");
    writeFileSync(text, "not a png");
    expect(await rejection(text, "image")).toMatch(/not an image/);
  });
});
