import { createDecipheriv, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDemoClip } from "./demo-clips.ts";
import { type FfmpegInfo, locateFfmpeg, runCapture } from "./ffmpeg.ts";
import { LADDER, planLadder } from "./ladder.ts";
import { parseMediaPlaylist, type TranscodeProgress, type TranscodeResult, transcodeHls } from "./transcode.ts";

function attrs(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/([A-Z-]+)=("[^"]*"|[^,]*)/g)) out[m[1] as string] = (m[2] as string).replace(/"/g, "");
  return out;
}

function allFiles(dir: string, rel = ""): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? allFiles(dir, path.join(rel, e.name)) : [path.join(rel, e.name)],
  );
}

describe("the HLS ladder (planning)", () => {
  it("never goes above the source and keeps at least the lowest rung", () => {
    expect(planLadder({ width: 1920, height: 1080 }).map((r) => r.height)).toEqual([234, 360, 540, 720, 1080]);
    expect(planLadder({ width: 1280, height: 700 }).map((r) => r.height)).toEqual([234, 360, 540]);
    const tiny = planLadder({ width: 320, height: 180 });
    expect(tiny.map((r) => [r.width, r.encoded_height])).toEqual([[320, 180]]);
    // A 4:3 source keeps its shape.
    expect(planLadder({ width: 640, height: 480 }).map((r) => `${r.width}x${r.encoded_height}`)).toEqual([
      "312x234",
      "480x360",
    ]);
    expect(LADDER.map((r) => r.video_kbps)).toEqual([145, 365, 2000, 3000, 6000]);
  });
});

describe("transcoding to HLS with real ffmpeg", () => {
  let ff: FfmpegInfo;
  let dir: string;
  const key = randomBytes(16);
  let film: TranscodeResult;
  let filmDir: string;
  const progress: TranscodeProgress[] = [];

  beforeAll(async () => {
    ff = await locateFfmpeg();
    dir = mkdtempSync(path.join(os.tmpdir(), "marquee-transcode-"));
    const src = path.join(dir, "film.mp4");
    // 14 s at 640x360: two rungs (234, 360), three segments (6 + 6 + 2).
    await generateDemoClip({
      ffmpeg: ff.ffmpeg,
      out: src,
      title: "Ladder",
      seed: 7,
      duration_s: 14,
      width: 640,
      height: 360,
      fps: 25,
    });
    filmDir = path.join(dir, "film");
    film = await transcodeHls({
      ffmpeg: ff,
      source: src,
      outDir: filmDir,
      encryption: { key },
      onProgress: (p) => progress.push(p),
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the layout: master, a folder per rung, audio, poster, thumbnail sprite and map", () => {
    expect(film.rungs.map((r) => r.name)).toEqual(["v234", "v360"]);
    for (const f of [
      "master.m3u8",
      "v234/index.m3u8",
      "v360/index.m3u8",
      "audio/index.m3u8",
      "poster.jpg",
      "thumbs/sprite.jpg",
      "thumbs/thumbs.vtt",
    ])
      expect(film.files).toContain(f);
    expect(film.files.filter((f) => f.startsWith("v360/") && f.endsWith(".ts"))).toHaveLength(3);
    expect(progress.at(-1)).toEqual({ percent: 100, eta_s: 0, speed: null });
    expect(progress.some((p) => p.percent > 0 && p.percent < 100)).toBe(true);
  });

  it("has a master playlist with BANDWIDTH, AVERAGE-BANDWIDTH, RESOLUTION, CODECS, FRAME-RATE and an audio group", () => {
    const master = readFileSync(path.join(filmDir, "master.m3u8"), "utf8");
    const media = master.split("\n").find((l) => l.startsWith("#EXT-X-MEDIA:")) ?? "";
    expect(attrs(media)).toMatchObject({ TYPE: "AUDIO", "GROUP-ID": "aac", URI: "audio/index.m3u8", DEFAULT: "YES" });
    const variants = master
      .split("\n")
      .filter((l) => l.startsWith("#EXT-X-STREAM-INF:"))
      .map(attrs);
    expect(variants.map((v) => v.RESOLUTION)).toEqual(["416x234", "640x360"]);
    for (const [i, v] of variants.entries()) {
      expect(v.CODECS).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
      expect(v.AUDIO).toBe("aac");
      expect(v["FRAME-RATE"]).toBe("25.000");
      const bw = Number(v.BANDWIDTH);
      const avg = Number(v["AVERAGE-BANDWIDTH"]);
      expect(avg).toBeGreaterThan(0);
      expect(bw).toBeGreaterThanOrEqual(avg);
      // Near the ladder's targets (video + 128 kb/s audio), well within the peak the encoder may use.
      const target = (LADDER[i]?.video_kbps ?? 0) * 1000 + 128_000;
      expect(avg).toBeLessThan(target * 2);
    }
    expect(Number(variants[0]?.BANDWIDTH)).toBeLessThan(Number(variants[1]?.BANDWIDTH));
  });

  it("cuts 6 s segments (every EXTINF ≤ 6.5 s) on the same boundaries on every rung", () => {
    const lists = ["v234", "v360", "audio"].map((r) => readFileSync(path.join(filmDir, r, "index.m3u8"), "utf8"));
    const segs = lists.map(parseMediaPlaylist);
    for (const [i, text] of lists.entries()) {
      expect(text).toContain("#EXT-X-TARGETDURATION:6");
      expect(text).toContain("#EXT-X-PLAYLIST-TYPE:VOD");
      expect(text).toContain("#EXT-X-ENDLIST");
      for (const s of segs[i] ?? []) expect(s.duration).toBeLessThanOrEqual(6.5);
    }
    const video = segs.slice(0, 2).map((s) => s.map((x) => x.duration.toFixed(3)));
    expect(video[0]).toEqual(["6.000", "6.000", "2.000"]);
    expect(video[1]).toEqual(video[0]);
  });

  it("encrypts every segment with AES-128, key URI ../key, and never writes the key next to them", async () => {
    for (const rung of ["v234", "v360", "audio"]) {
      const text = readFileSync(path.join(filmDir, rung, "index.m3u8"), "utf8");
      const keys = text.split("\n").filter((l) => l.startsWith("#EXT-X-KEY:"));
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) expect(attrs(k)).toMatchObject({ METHOD: "AES-128", URI: "../key" });
    }
    for (const f of allFiles(filmDir)) expect(readFileSync(path.join(filmDir, f)).includes(key)).toBe(false);
    expect(film.encrypted).toBe(true);
    // Without the key a segment is noise to a decoder.
    await expect(
      runCapture(ff.ffprobe, ["-v", "error", "-show_streams", path.join(filmDir, "v360", "seg_00001.ts")]),
    ).rejects.toThrow();
  });

  it("starts every segment of every rung on a keyframe at the same time (decrypted with the key)", async () => {
    const firstFrames: Record<string, string[]> = {};
    for (const rung of ["v234", "v360"]) {
      const text = readFileSync(path.join(filmDir, rung, "index.m3u8"), "utf8");
      const iv = Buffer.from(
        (attrs(text.split("\n").find((l) => l.startsWith("#EXT-X-KEY:")) ?? "").IV ?? "").slice(2),
        "hex",
      );
      firstFrames[rung] = [];
      for (const s of parseMediaPlaylist(text)) {
        const d = createDecipheriv("aes-128-cbc", key, iv);
        const plain = Buffer.concat([d.update(readFileSync(path.join(filmDir, rung, s.uri))), d.final()]);
        const tmp = path.join(dir, `plain-${rung}-${s.uri}`);
        writeFileSync(tmp, plain);
        const { stdout } = await runCapture(ff.ffprobe, [
          "-v",
          "error",
          "-select_streams",
          "v:0",
          "-read_intervals",
          "%+#1",
          "-show_entries",
          "frame=pts_time,key_frame",
          "-of",
          "csv=p=0",
          tmp,
        ]);
        const [keyFrame, pts] = (stdout.trim().split("\n")[0] ?? "").split(",");
        expect(keyFrame).toBe("1");
        firstFrames[rung]?.push(Number(pts).toFixed(2));
      }
    }
    expect(firstFrames.v234).toHaveLength(3);
    expect(firstFrames.v360).toEqual(firstFrames.v234);
  });

  it("makes a poster and a thumbnail sprite with a WebVTT map (cues every 5 s, xywh into the sprite)", async () => {
    const vtt = readFileSync(path.join(filmDir, "thumbs", "thumbs.vtt"), "utf8");
    expect(vtt.startsWith("WEBVTT")).toBe(true);
    const cues = [...vtt.matchAll(/^(\S+) --> (\S+)\nsprite\.jpg#xywh=(\d+),(\d+),(\d+),(\d+)$/gm)];
    expect(cues.map((c) => c[1])).toEqual(["00:00:00.000", "00:00:05.000", "00:00:10.000"]);
    expect(cues.at(-1)?.[2]).toBe("00:00:14.000");
    expect(cues.map((c) => Number(c[3]))).toEqual([0, 160, 320]);
    const { stdout } = await runCapture(ff.ffprobe, [
      "-v",
      "error",
      "-show_entries",
      "stream=width,height",
      "-of",
      "csv=p=0",
      path.join(filmDir, "thumbs", "sprite.jpg"),
    ]);
    expect(stdout.trim()).toBe("480,90");
    const poster = await runCapture(ff.ffprobe, [
      "-v",
      "error",
      "-show_entries",
      "stream=codec_name,width,height",
      "-of",
      "csv=p=0",
      path.join(filmDir, "poster.jpg"),
    ]);
    expect(poster.stdout.trim()).toBe("mjpeg,640,360");
  });

  it("caps a 1080p source's ladder at 1080 with five rungs, and leaves a trailer unencrypted", async () => {
    const src = path.join(dir, "hd.mp4");
    await runCapture(ff.ffmpeg, [
      "-v",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=s=1920x1080:r=24:d=2",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      src,
    ]);
    const out = path.join(dir, "hd");
    const r = await transcodeHls({ ffmpeg: ff, source: src, outDir: out });
    expect(r.rungs.map((x) => `${x.width}x${x.height}`)).toEqual([
      "416x234",
      "640x360",
      "960x540",
      "1280x720",
      "1920x1080",
    ]);
    expect(r.audio).toBeNull();
    const master = readFileSync(path.join(out, "master.m3u8"), "utf8");
    expect(master).not.toContain("EXT-X-MEDIA");
    expect(master).toMatch(/CODECS="avc1\.640029"/);
    for (const x of r.rungs) {
      const text = readFileSync(path.join(out, x.playlist), "utf8");
      expect(text).not.toContain("EXT-X-KEY");
      const seg = path.join(out, x.name, parseMediaPlaylist(text)[0]?.uri ?? "");
      const { stdout } = await runCapture(ff.ffprobe, [
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=height",
        "-of",
        "csv=p=0",
        seg,
      ]);
      // A TS lists its streams once per program too: the first line is enough.
      expect(Number(stdout.trim().split("\n")[0])).toBe(x.height);
    }
    expect(statSync(path.join(out, "poster.jpg")).size).toBeGreaterThan(0);
  });

  it("works the same with the npm-bundled ffmpeg (a machine with only Node)", async () => {
    const bundled = await locateFfmpeg({ preferBundled: true });
    const out = path.join(dir, "bundled");
    const r = await transcodeHls({
      ffmpeg: bundled,
      source: path.join(dir, "film.mp4"),
      outDir: out,
      encryption: { key },
    });
    expect(r.rungs.map((x) => x.name)).toEqual(["v234", "v360"]);
    expect(r.files).toEqual(film.files);
    const text = readFileSync(path.join(out, "v360", "index.m3u8"), "utf8");
    expect(text).toContain('#EXT-X-KEY:METHOD=AES-128,URI="../key"');
    expect(parseMediaPlaylist(text).map((x) => x.duration.toFixed(3))).toEqual(["6.000", "6.000", "2.000"]);
  });

  it("stops ffmpeg when aborted", async () => {
    const ac = new AbortController();
    const src = path.join(dir, "film.mp4");
    const run = transcodeHls({
      ffmpeg: ff,
      source: src,
      outDir: path.join(dir, "aborted"),
      signal: ac.signal,
      onProgress: () => ac.abort(new Error("stop")),
    });
    await expect(run).rejects.toThrow(/stop/);
  });
});
