import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { text } from "node:stream/consumers";
import { serviceSuite } from "@marquee/runtime/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3Storage } from "./s3-storage.ts";
import { LocalStorage, type MediaStorage, storageKey } from "./storage.ts";

/** What every MediaStorage must do, the same on local disk and on a real S3 server. */
function storageContract(open: () => Promise<{ storage: MediaStorage; close: () => Promise<void> }>) {
  let storage: MediaStorage;
  let close: () => Promise<void>;
  let tmp: string;
  const root = `titles/t${Date.now().toString(36)}${process.pid}/film/a1`;

  beforeAll(async () => {
    ({ storage, close } = await open());
    tmp = mkdtempSync(path.join(os.tmpdir(), "marquee-storage-"));
  });
  afterAll(async () => {
    await storage?.deletePrefix(root);
    await close?.();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("stores files and bytes, reads them whole and by range, and validates with a stable ETag", async () => {
    const file = path.join(tmp, "seg.m4s");
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251));
    writeFileSync(file, bytes);
    await storage.putFile(`${root}/v360/seg_00001.m4s`, file);
    await storage.put(`${root}/master.m3u8`, "#EXTM3U\n");
    const s = await storage.stat(`${root}/v360/seg_00001.m4s`);
    expect(s?.size).toBe(4096);
    expect(s?.etag).toMatch(/^"[^"]+"$/);
    expect((await storage.stat(`${root}/v360/seg_00001.m4s`))?.etag).toBe(s?.etag);
    expect(await text(await storage.read(`${root}/master.m3u8`))).toBe("#EXTM3U\n");
    const chunks: Buffer[] = [];
    for await (const c of await storage.read(`${root}/v360/seg_00001.m4s`, { start: 100, end: 199 }))
      chunks.push(Buffer.from(c));
    expect(Buffer.concat(chunks).equals(bytes.subarray(100, 200))).toBe(true);
    // Replaced whole: a new version gets a new ETag.
    await storage.put(`${root}/master.m3u8`, "#EXTM3U\n#EXT-X-VERSION:7\n");
    expect(await text(await storage.read(`${root}/master.m3u8`))).toContain("VERSION:7");
  });

  it("answers null for what is not there, lists a folder, and deletes a folder", async () => {
    expect(await storage.stat(`${root}/nope.m3u8`)).toBeNull();
    await expect(storage.read(`${root}/nope.m3u8`)).rejects.toThrow();
    expect(await storage.list(root)).toEqual([`${root}/master.m3u8`, `${root}/v360/seg_00001.m4s`]);
    await storage.deletePrefix(`${root}/v360`);
    expect(await storage.list(root)).toEqual([`${root}/master.m3u8`]);
  });
}

describe("storage keys", () => {
  it("refuses keys that could leave the storage root or are not plain paths", () => {
    for (const bad of ["../etc/passwd", "/abs", "a/../b", "a//b", "a/./b", "a b", "a\\b", ".."])
      expect(() => storageKey(bad), bad).toThrow(/invalid storage key/);
    expect(storageKey("titles/t1/film/a1/v720/seg_00001.m4s")).toBe("titles/t1/film/a1/v720/seg_00001.m4s");
  });
});

describe("local storage", () => {
  storageContract(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "marquee-local-storage-"));
    return { storage: new LocalStorage(dir), close: async () => rmSync(dir, { recursive: true, force: true }) };
  });
});

const S3_URL = process.env.TEST_S3_URL;
serviceSuite("S3 storage", S3_URL, (url) => {
  storageContract(async () => {
    const storage = new S3Storage({
      endpoint: url,
      bucket: "marquee-test",
      accessKeyId: process.env.TEST_S3_ACCESS_KEY ?? "marquee",
      secretAccessKey: process.env.TEST_S3_SECRET_KEY ?? "marquee-secret",
    });
    await storage.ensureBucket();
    // A fresh SeaweedFS allocates its volumes on the first write (tens of seconds on a busy
    // machine): done here, under the hook's timeout, not in the first test's.
    await storage.put("warm-up/first-write", "x");
    await storage.deletePrefix("warm-up");
    return { storage, close: async () => storage.close() };
  });
});
