import { spawn } from "node:child_process";
import { accessSync, chmodSync, constants, statSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";

/** The ffmpeg and ffprobe a job runs, and where they came from (logged with every job). */
export interface FfmpegInfo {
  ffmpeg: string;
  ffprobe: string;
  /** `ffmpeg -version`'s version word, e.g. `5.1.9-0+deb12u1` or `N-47683-g0e8eb07980-static`. */
  version: string;
  /** `path`: found on PATH (Debian's ffmpeg in CI); `npm`: the binary shipped in the npm package; `env`: given explicitly. */
  source: "path" | "npm" | "env";
}

export interface LocateFfmpegOptions {
  /** Explicit binaries (FFMPEG_PATH / FFPROBE_PATH from the service's config); both or neither. */
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Skip PATH and use the npm packages' binaries (tests of a machine with only Node). */
  preferBundled?: boolean;
  /** The PATH to search (default: this process's). */
  searchPath?: string;
}

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, searchPath: string): string | null {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    if (isExecutable(file)) return file;
  }
  return null;
}

/**
 * The binary inside an npm package (`@ffmpeg-installer/ffmpeg` picks the package of this
 * platform, e.g. `@ffmpeg-installer/linux-x64`, whose registry tarball carries the executable).
 * Their postinstall only runs `chmod u+x`; the tarballs already carry the mode, so npm needs
 * no install script, and should an extraction lose it we set it here.
 */
function bundled(pkg: "@ffmpeg-installer/ffmpeg" | "@ffprobe-installer/ffprobe"): string | null {
  try {
    const require = createRequire(import.meta.url);
    const file = (require(pkg) as { path?: string }).path;
    if (!file) return null;
    if (!isExecutable(file)) {
      try {
        chmodSync(file, 0o755);
      } catch {
        return null;
      }
    }
    return isExecutable(file) ? file : null;
  } catch {
    return null;
  }
}

/**
 * Lowers a child's CPU priority (a nice value, 0–19): background transcodes must not slow the
 * web server sharing the machine. Best effort: where the OS refuses, the child runs as it is.
 */
export function deprioritise(pid: number | undefined, nice: number | undefined): void {
  if (!pid || !nice) return;
  try {
    os.setPriority(pid, Math.max(0, Math.min(19, nice)));
  } catch {
    // not permitted or not supported here
  }
}

/** Runs a short command and returns stdout (rejects with stderr's tail on failure). */
export function runCapture(
  file: string,
  args: string[],
  options: { timeoutMs?: number; signal?: AbortSignal; nice?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], signal: options.signal });
    deprioritise(child.pid, options.nice);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    const timer = options.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), options.timeoutMs) : null;
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, sig) => {
      if (timer) clearTimeout(timer);
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      if (code === 0) resolve({ stdout, stderr });
      else
        reject(
          Object.assign(new Error(`${path.basename(file)} exited with ${code ?? sig}: ${stderr.trim().slice(-2000)}`), {
            exitCode: code,
            stderr,
          }),
        );
    });
  });
}

/** The version word of `ffmpeg -version` (`ffmpeg version 5.1.9-0+deb12u1 Copyright …`). */
export async function ffmpegVersion(ffmpeg: string): Promise<string> {
  const { stdout } = await runCapture(ffmpeg, ["-hide_banner", "-version"], { timeoutMs: 15_000 });
  const m = /version\s+(\S+)/.exec(stdout);
  if (!m?.[1]) throw new Error(`${ffmpeg} -version printed no version`);
  return m[1];
}

/**
 * Finds ffmpeg and ffprobe: explicit paths first, then PATH (Debian's 5.1 where installed),
 * then the binaries the npm packages ship, so `npm ci && npm start` transcodes on a machine
 * that has only Node. Throws when none is usable, saying what was tried.
 */
export async function locateFfmpeg(options: LocateFfmpegOptions = {}): Promise<FfmpegInfo> {
  if (options.ffmpegPath || options.ffprobePath) {
    if (!options.ffmpegPath || !options.ffprobePath)
      throw new Error("set both FFMPEG_PATH and FFPROBE_PATH, or neither");
    for (const f of [options.ffmpegPath, options.ffprobePath])
      if (!isExecutable(f)) throw new Error(`${f} is not an executable file`);
    return {
      ffmpeg: options.ffmpegPath,
      ffprobe: options.ffprobePath,
      version: await ffmpegVersion(options.ffmpegPath),
      source: "env",
    };
  }
  if (!options.preferBundled) {
    // biome-ignore lint/complexity/useLiteralKeys: PATH is the OS's search path, not service config.
    const searchPath = options.searchPath ?? process.env["PATH"] ?? "";
    const ffmpeg = onPath("ffmpeg", searchPath);
    const ffprobe = onPath("ffprobe", searchPath);
    if (ffmpeg && ffprobe) return { ffmpeg, ffprobe, version: await ffmpegVersion(ffmpeg), source: "path" };
  }
  const ffmpeg = bundled("@ffmpeg-installer/ffmpeg");
  const ffprobe = bundled("@ffprobe-installer/ffprobe");
  if (ffmpeg && ffprobe) return { ffmpeg, ffprobe, version: await ffmpegVersion(ffmpeg), source: "npm" };
  throw new Error(
    "no ffmpeg: none on PATH and the npm packages @ffmpeg-installer/ffmpeg and @ffprobe-installer/ffprobe have no binary for this platform; install ffmpeg (apt-get install ffmpeg) or set FFMPEG_PATH and FFPROBE_PATH",
  );
}
