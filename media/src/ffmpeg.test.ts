import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import { loadConfig } from "@marquee/runtime";
import { describe, expect, it } from "vitest";
import { deprioritise, ffmpegVersion, locateFfmpeg, runCapture } from "./ffmpeg.ts";

describe("locating ffmpeg", () => {
  it("uses the binaries the npm packages ship when asked to (a machine with only Node)", async () => {
    const ff = await locateFfmpeg({ preferBundled: true });
    expect(ff.source).toBe("npm");
    expect(ff.ffmpeg).toMatch(/@ffmpeg-installer/);
    expect(ff.ffprobe).toMatch(/@ffprobe-installer/);
    const { stdout } = await runCapture(ff.ffmpeg, ["-hide_banner", "-version"]);
    expect(stdout).toContain(`ffmpeg version ${ff.version}`);
    expect((await runCapture(ff.ffprobe, ["-version"])).stdout).toMatch(/^ffprobe version/);
  });

  it("falls back to the npm binaries when PATH has none", async () => {
    const ff = await locateFfmpeg({ searchPath: "/nonexistent" });
    expect(ff.source).toBe("npm");
  });

  it.runIf(existsSync("/usr/bin/ffmpeg") && existsSync("/usr/bin/ffprobe"))(
    "prefers the ffmpeg on PATH (Debian's in CI) and reports its version",
    async () => {
      const ff = await locateFfmpeg({ searchPath: "/usr/bin" });
      expect(ff).toMatchObject({ ffmpeg: "/usr/bin/ffmpeg", ffprobe: "/usr/bin/ffprobe", source: "path" });
      expect(ff.version).toBe(await ffmpegVersion("/usr/bin/ffmpeg"));
    },
  );

  it("takes explicit paths (FFMPEG_PATH/FFPROBE_PATH), both or neither, and refuses a missing file", async () => {
    const bundled = await locateFfmpeg({ preferBundled: true });
    const ff = await locateFfmpeg({ ffmpegPath: bundled.ffmpeg, ffprobePath: bundled.ffprobe });
    expect(ff.source).toBe("env");
    await expect(locateFfmpeg({ ffmpegPath: bundled.ffmpeg })).rejects.toThrow(/both/);
    await expect(locateFfmpeg({ ffmpegPath: "/no/ffmpeg", ffprobePath: bundled.ffprobe })).rejects.toThrow(
      /not an executable/,
    );
  });

  it("reads FFMPEG_PATH and FFPROBE_PATH from the config, both or neither", async () => {
    const bundled = await locateFfmpeg({ preferBundled: true });
    expect(() => loadConfig({ FFMPEG_PATH: bundled.ffmpeg })).toThrow(/FFMPEG_PATH and FFPROBE_PATH/);
    const config = loadConfig({ FFMPEG_PATH: bundled.ffmpeg, FFPROBE_PATH: bundled.ffprobe });
    const ff = await locateFfmpeg({ ffmpegPath: config.FFMPEG_PATH, ffprobePath: config.FFPROBE_PATH });
    expect(ff).toMatchObject({ ffmpeg: bundled.ffmpeg, source: "env" });
  });

  it("runs background ffmpeg at a lower CPU priority (nice 10), so the store's requests go first", () => {
    const child = spawn("sleep", ["5"]);
    try {
      deprioritise(child.pid, 10);
      expect(os.getPriority(child.pid)).toBe(10);
    } finally {
      child.kill();
    }
  });
});
