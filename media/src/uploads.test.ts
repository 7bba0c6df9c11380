import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { AppError, createLogger } from "@marquee/runtime";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FinishedUpload, mediaUploadRoutes } from "./uploads.ts";

const logger = createLogger({ service: "test", level: "silent" });

/** Two sellers: `s-ana` owns title `t1`; `s-bo` owns nothing. */
const TOKENS: Record<string, string> = { "Bearer ana": "s-ana", "Bearer bo": "s-bo" };

describe("resumable uploads (tus)", () => {
  let app: FastifyInstance;
  let base: string;
  let dir: string;
  const accepted: { upload: FinishedUpload; bytes: Buffer }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "marquee-uploads-"));
    app = Fastify();
    await app.register(mediaUploadRoutes, {
      dir,
      logger,
      limits: { poster: 1024 },
      async authorize(headers, titleId) {
        const userId = TOKENS[headers.authorization ?? ""];
        if (!userId) throw new AppError("unauthorized", "sign in to upload");
        if (titleId !== "t1" || userId !== "s-ana") throw new AppError("not_found", "no such title");
        return { userId };
      },
      async accept(upload) {
        const bytes = readFileSync(upload.file);
        if (!bytes.subarray(0, 4).equals(Buffer.from("FILM"))) {
          const e = new Error("this is not a video file ffprobe can decode");
          e.name = "MediaRejected";
          throw e;
        }
        accepted.push({ upload, bytes });
        return { asset_id: `a-${accepted.length}`, status: "queued" };
      },
    });
    base = await app.listen({ host: "127.0.0.1", port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const create = (length: number, meta: Record<string, string>, auth = "Bearer ana") =>
    fetch(`${base}/media/uploads`, {
      method: "POST",
      headers: {
        "tus-resumable": "1.0.0",
        "upload-length": String(length),
        "upload-metadata": Object.entries(meta)
          .map(([k, v]) => `${k} ${b64(v)}`)
          .join(","),
        authorization: auth,
      },
    });
  const patch = (url: string, offset: number, body: Buffer, auth = "Bearer ana") =>
    fetch(url, {
      method: "PATCH",
      headers: {
        "tus-resumable": "1.0.0",
        "upload-offset": String(offset),
        "content-type": "application/offset+octet-stream",
        authorization: auth,
      },
      body: new Uint8Array(body),
    });
  const head = (url: string, auth = "Bearer ana") =>
    fetch(url, { method: "HEAD", headers: { "tus-resumable": "1.0.0", authorization: auth } });
  const urlOf = (res: Response) => new URL(res.headers.get("location") as string, base).toString();

  it("refuses to start an upload without a signed-in owner, a known kind, or within the kind's limit", async () => {
    const unsigned = await create(10, { title_id: "t1", kind: "film" }, "");
    expect(unsigned.status).toBe(401);
    expect(await unsigned.text()).toMatch(/sign in/);
    const other = await create(10, { title_id: "t1", kind: "film" }, "Bearer bo");
    expect(other.status).toBe(404);
    const kind = await create(10, { title_id: "t1", kind: "screenplay" });
    expect(kind.status).toBe(400);
    expect(await kind.text()).toMatch(/kind must be one of film, trailer, poster, captions/);
    const big = await create(4096, { title_id: "t1", kind: "poster" });
    expect(big.status).toBe(413);
    expect(await big.text()).toMatch(/poster may be at most/);
    const noTitle = await create(10, { kind: "film" });
    expect(noTitle.status).toBe(400);
  });

  it("resumes after a dropped connection from the offset the server has, and hands over the whole file once", async () => {
    const film = Buffer.concat([Buffer.from("FILM"), Buffer.alloc(200_000, 7)]);
    const created = await create(film.length, { title_id: "t1", kind: "film", filename: "heat.mp4" });
    expect(created.status).toBe(201);
    const url = urlOf(created);
    const first = await patch(url, 0, film.subarray(0, 80_000));
    expect(first.status).toBe(204);
    // The client lost its connection: it asks where to go on from.
    const where = await head(url);
    expect(where.headers.get("upload-offset")).toBe("80000");
    // Someone else cannot look at it or append to it.
    expect((await head(url, "Bearer bo")).status).toBe(404);
    expect((await patch(url, 80_000, Buffer.alloc(10), "Bearer bo")).status).toBe(404);
    // A stale offset is refused, not appended twice.
    expect((await patch(url, 0, film.subarray(0, 10))).status).toBe(409);
    const rest = await patch(url, 80_000, film.subarray(80_000));
    expect(rest.status).toBe(200);
    expect(await rest.json()).toEqual({ asset_id: "a-1", status: "queued" });
    expect(accepted).toHaveLength(1);
    expect(accepted[0]?.upload).toMatchObject({ titleId: "t1", kind: "film", filename: "heat.mp4", userId: "s-ana" });
    expect(accepted[0]?.bytes.equals(film)).toBe(true);
    // Handed over and gone from the upload folder.
    expect(readdirSync(dir).filter((f) => !f.endsWith(".json"))).toEqual([]);
  });

  it("refuses a complete file that is not what its kind needs, with the reason, and deletes it", async () => {
    const text = Buffer.from("just some notes renamed to .mp4\n".repeat(20));
    const created = await create(text.length, { title_id: "t1", kind: "film", filename: "notes.mp4" });
    const url = urlOf(created);
    const done = await patch(url, 0, text);
    expect(done.status).toBe(422);
    expect(await done.text()).toMatch(/not a video file ffprobe can decode/);
    const id = url.split("/").pop() as string;
    expect(existsSync(path.join(dir, id))).toBe(false);
    expect(accepted).toHaveLength(1);
  });
});
