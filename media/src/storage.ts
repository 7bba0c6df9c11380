import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";

/** What the origin needs to answer for a stored object (HEAD, ETag, Range). */
export interface StoredObject {
  size: number;
  /** A strong validator for the bytes (quoted, as an HTTP ETag). */
  etag: string;
  modified: Date;
}

/** An inclusive byte range, as HTTP Range gives it. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where media lives: sources, HLS renditions, posters, sprites. One interface, local disk in
 * embedded mode and S3-compatible object storage in scaled mode. Keys are `/`-separated paths
 * without a leading slash (`titles/<title>/<kind>/<asset>/master.m3u8`); anything else is refused.
 */
export interface MediaStorage {
  readonly kind: "local" | "s3";
  /** Store a local file under `key` (replacing what was there; readers never see half of it). */
  putFile(key: string, file: string): Promise<void>;
  put(key: string, body: Buffer | string): Promise<void>;
  /** Null when there is no such object. */
  stat(key: string): Promise<StoredObject | null>;
  /** The object's bytes (or the range of them) as a stream; throws when it does not exist. */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** Every key under `prefix` (a folder: `titles/t1/film/`). */
  list(prefix: string): Promise<string[]>;
  /** Remove everything under `prefix`. */
  deletePrefix(prefix: string): Promise<void>;
}

/** The MIME type of a stored media file, by its extension (what the origin and S3 both answer). */
const CONTENT_TYPES: Record<string, string> = {
  m3u8: "application/vnd.apple.mpegurl",
  m4s: "video/iso.segment",
  mp4: "video/mp4",
  ts: "video/mp2t",
  aac: "audio/aac",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  vtt: "text/vtt; charset=utf-8",
};

export function contentTypeOf(key: string): string {
  return CONTENT_TYPES[key.slice(key.lastIndexOf(".") + 1).toLowerCase()] ?? "application/octet-stream";
}

const KEY = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._\-/]+$/;

/** A storage key, checked: no leading slash, no `.` or `..` segments, no odd characters. */
export function storageKey(key: string): string {
  if (!KEY.test(key) || key.startsWith("/") || key.includes("//")) throw new Error(`invalid storage key: ${key}`);
  return key;
}

/** Local disk under `root` (embedded mode): writes go to a temporary name, then rename. */
export class LocalStorage implements MediaStorage {
  readonly kind = "local" as const;
  constructor(readonly root: string) {}

  /** The file that holds `key` (the origin streams it from here). */
  pathOf(key: string): string {
    return path.join(this.root, ...storageKey(key).split("/"));
  }

  private async place(key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}.${Date.now().toString(36)}.part`;
    try {
      await write(tmp);
      await rename(tmp, target);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  putFile(key: string, file: string): Promise<void> {
    return this.place(key, (tmp) => copyFile(file, tmp));
  }

  put(key: string, body: Buffer | string): Promise<void> {
    return this.place(key, (tmp) => writeFile(tmp, body));
  }

  async stat(key: string): Promise<StoredObject | null> {
    try {
      const s = await stat(this.pathOf(key));
      if (!s.isFile()) return null;
      // Size and modification time identify a version of a file that is only ever replaced whole.
      const tag = createHash("sha1").update(`${key}:${s.size}:${s.mtimeMs}`).digest("base64url").slice(0, 20);
      return { size: s.size, etag: `"${tag}"`, modified: s.mtime };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.pathOf(key);
    await stat(file);
    return createReadStream(file, range ? { start: range.start, end: range.end } : {});
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.pathOf(prefix.replace(/\/+$/, ""));
    const out: string[] = [];
    const walk = async (dir: string, rel: string) => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
        throw e;
      }
      for (const e of entries) {
        if (e.name.endsWith(".part")) continue;
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(path.join(dir, e.name), r);
        else if (e.isFile()) out.push(r);
      }
    };
    const root = prefix.replace(/\/+$/, "");
    await walk(base, root);
    return out.sort();
  }

  async deletePrefix(prefix: string): Promise<void> {
    await rm(this.pathOf(prefix.replace(/\/+$/, "")), { recursive: true, force: true });
  }
}
