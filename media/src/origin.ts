import { AppError, type Logger, toErrorResponse } from "@marquee/runtime";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { MediaSigner, MediaTokenClaims } from "./signing.ts";
import { TOKEN_REFUSALS } from "./signing.ts";
import { type ByteRange, contentTypeOf, type MediaStorage } from "./storage.ts";

/** One request that reached the origin (for the access log, and for tests: the edge's refusals never do). */
export interface OriginAccess {
  method: string;
  url: string;
  status: number;
  ms: number;
}

export interface MediaOriginOptions {
  storage: MediaStorage;
  signer: MediaSigner;
  /**
   * The film's key for a verified link (MediaPlayback.key): throws an AppError (403 with the
   * reason, 409 stream_limit) when the viewer may not play now.
   */
  key: (claims: MediaTokenClaims) => Promise<Buffer>;
  /**
   * The signed-in account of a request, when it has one (the session cookie): a key request
   * from another account than the link's is refused. Links work without a session (apps, TVs).
   */
  requester?: (request: FastifyRequest) => Promise<{ userId: string } | null>;
  /** Called for every request the origin answered. Default: a debug line without the token. */
  accessLog?: (entry: OriginAccess) => void;
  logger: Logger;
}

/** A playlist behind a signed link: short, and never in a shared cache by its URL (the edge re-keys it). */
const SIGNED_PLAYLIST = "private, max-age=10";
const PUBLIC_PLAYLIST = "public, max-age=30";
/** Everything else is written once per asset id and never changes. */
const IMMUTABLE = "public, max-age=31536000, immutable";

/**
 * Playlists are small and read by every player at every start (master, then a media playlist
 * per rendition it tries), and an asset's files never change once written: the origin keeps
 * them in memory for a few seconds, so a burst of viewers costs no file-system or S3 round
 * trips. Short enough that a replaced asset shows within seconds, like the edge's 5 s.
 */
const SMALL_TTL_MS = 5000;
const SMALL_MAX_BYTES = 256 * 1024;
const SMALL_MAX_ENTRIES = 4096;

interface HeldObject {
  size: number;
  etag: string;
  modified: string;
  body: Buffer;
  until: number;
}

/** Small objects by storage key, for SMALL_TTL_MS each; a key being read is read once however many ask. */
class SmallObjectCache {
  private readonly held = new Map<string, HeldObject>();
  private readonly reading = new Map<string, Promise<HeldObject | null>>();

  constructor(private readonly storage: MediaStorage) {}

  get(key: string, now = Date.now()): HeldObject | Promise<HeldObject | null> {
    const hit = this.held.get(key);
    if (hit && hit.until > now) return hit;
    let pending = this.reading.get(key);
    if (!pending) {
      pending = this.load(key).finally(() => this.reading.delete(key));
      this.reading.set(key, pending);
    }
    return pending;
  }

  private async load(key: string): Promise<HeldObject | null> {
    const object = await this.storage.stat(key);
    if (!object) {
      this.held.delete(key);
      return null;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of await this.storage.read(key)) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    const held = {
      size,
      etag: object.etag,
      modified: object.modified.toUTCString(),
      body: Buffer.concat(chunks, size),
      until: Date.now() + SMALL_TTL_MS,
    };
    if (size <= SMALL_MAX_BYTES) {
      this.held.delete(key);
      this.held.set(key, held);
      // Oldest first: Map keeps insertion order, and a refreshed key moves to the end.
      while (this.held.size > SMALL_MAX_ENTRIES) this.held.delete(this.held.keys().next().value as string);
    }
    return held;
  }
}

/** A path inside an asset: plain names, no `.`/`..` segments, nothing to decode. */
const INNER = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}\/){0,4}[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
const ID = /^[A-Za-z0-9_-]{1,128}$/;

function send(reply: FastifyReply, e: unknown) {
  const { status, body } = toErrorResponse(e);
  const reason = (e as { details?: { reason?: string } })?.details?.reason;
  return reply
    .code(status)
    .header("cache-control", "no-store")
    .send(reason ? { error: { ...body.error, code: reason } } : body);
}

/** The single range of `header` within `size`; "none" for no (or an ignored multi-) range. */
function parseRange(header: string | undefined, size: number): ByteRange | "none" | "unsatisfiable" {
  if (!header) return "none";
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return "none"; // several ranges, or another unit: the whole file is a valid answer
  const [, a, b] = m as unknown as [string, string, string];
  if (a === "" && b === "") return "none";
  if (a === "") {
    const n = Number(b);
    if (n === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === "" ? size - 1 : Math.min(Number(b), size - 1);
  if (start >= size || end < start) return "unsatisfiable";
  return { start, end };
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  const strip = (t: string) => t.trim().replace(/^W\//, "");
  return header.split(",").some((t) => strip(t) === etag);
}

/**
 * Serves a stored object: streamed from storage, never held in memory (playlists excepted,
 * see SmallObjectCache); HEAD, one byte range (206, or 416 past the end), ETag revalidation
 * (304), the MIME type by extension.
 */
async function serve(
  storage: MediaStorage,
  small: SmallObjectCache,
  request: FastifyRequest,
  reply: FastifyReply,
  key: string,
  cacheControl: string,
) {
  let held: HeldObject | null = null;
  let object: { size: number; etag: string; modified: string } | null;
  if (key.endsWith(".m3u8")) {
    const got = small.get(key);
    held = got instanceof Promise ? await got : got;
    object = held;
  } else {
    const stat = await storage.stat(key);
    object = stat && { size: stat.size, etag: stat.etag, modified: stat.modified.toUTCString() };
  }
  if (!object) return send(reply, new AppError("not_found", "no such file"));
  reply
    .header("content-type", contentTypeOf(key))
    .header("etag", object.etag)
    .header("last-modified", object.modified)
    .header("cache-control", cacheControl)
    .header("accept-ranges", "bytes");
  if (etagMatches(request.headers["if-none-match"], object.etag)) return reply.code(304).send();

  // If-Range with another validator: the file changed since the client's part, send it whole.
  const ifRange = request.headers["if-range"];
  const rangeHeader = ifRange && ifRange !== object.etag ? undefined : request.headers.range;
  const range = parseRange(rangeHeader, object.size);
  if (range === "unsatisfiable")
    return reply
      .code(416)
      .header("content-range", `bytes */${object.size}`)
      .header("content-type", "text/plain; charset=utf-8")
      .send("range not satisfiable\n");
  if (range !== "none") {
    reply
      .code(206)
      .header("content-range", `bytes ${range.start}-${range.end}/${object.size}`)
      .header("content-length", String(range.end - range.start + 1));
  } else reply.header("content-length", String(object.size));
  if (request.method === "HEAD") return reply.send();
  if (held) return reply.send(range === "none" ? held.body : held.body.subarray(range.start, range.end + 1));
  return reply.send(await storage.read(key, range === "none" ? undefined : range));
}

/** `/media/s/<token>/<path>` → the path's key, or null when the path is not a plain one. */
function innerPath(raw: string | undefined): string | null {
  return raw && INNER.test(raw) ? raw : null;
}

/**
 * The media origin: films through signed links (`/media/s/<token>/<path>`, the token pinning
 * the asset root, `<token>/key` the AES-128 key for viewers allowed to play now), trailers and
 * posters in public (`/media/public/titles/<id>/trailer/<asset>/<path>`,
 * `/media/public/titles/<id>/film/<asset>/poster.jpg`). Register with Fastify (no prefix).
 */
export async function mediaOriginRoutes(app: FastifyInstance, options: MediaOriginOptions): Promise<void> {
  const { storage, signer } = options;
  const small = new SmallObjectCache(storage);
  const log = options.logger;
  const accessLog =
    options.accessLog ??
    ((entry: OriginAccess) =>
      log.debug({ ...entry, url: entry.url.replace(/\/media\/s\/[^/]+/, "/media/s/…") }, "media origin"));

  app.addHook("onResponse", async (request, reply) => {
    accessLog({ method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime });
  });

  // A wildcard, not `:token`: a token is longer than Fastify's default maxParamLength (100).
  app.route<{ Params: { "*": string } }>({
    method: ["GET", "HEAD"],
    url: "/media/s/*",
    exposeHeadRoute: false,
    async handler(request, reply) {
      const wild = request.params["*"];
      const slash = wild.indexOf("/");
      const checked = signer.verify(slash < 0 ? wild : wild.slice(0, slash));
      if (!checked.ok) return send(reply, new AppError("forbidden", TOKEN_REFUSALS[checked.problem]));
      const claims = checked.claims;
      const inner = innerPath(slash < 0 ? "" : wild.slice(slash + 1));
      if (!inner) return send(reply, new AppError("bad_request", "invalid media path"));
      if (inner === "key") {
        try {
          if (options.requester) {
            const who = await options.requester(request);
            if (who && who.userId !== claims.uid)
              throw new AppError("forbidden", "this playback link belongs to another viewer");
          }
          const key = await options.key(claims);
          reply.header("content-type", "application/octet-stream").header("cache-control", "no-store");
          return reply.send(request.method === "HEAD" ? undefined : key);
        } catch (e) {
          if ((e as AppError).status >= 500 || !(e as AppError).status) log.error({ err: e }, "media key failed");
          return send(reply, e);
        }
      }
      return serve(
        storage,
        small,
        request,
        reply,
        `${claims.root}/${inner}`,
        inner.endsWith(".m3u8") ? SIGNED_PLAYLIST : IMMUTABLE,
      );
    },
  });

  app.route<{ Params: { titleId: string; kind: string; assetId: string; "*": string } }>({
    method: ["GET", "HEAD"],
    url: "/media/public/titles/:titleId/:kind/:assetId/*",
    exposeHeadRoute: false,
    async handler(request, reply) {
      const { titleId, kind, assetId } = request.params;
      const inner = innerPath(request.params["*"]);
      if (!ID.test(titleId) || !ID.test(assetId) || !inner)
        return send(reply, new AppError("bad_request", "invalid media path"));
      // A film is public only by its poster; everything else of it needs a signed link.
      const open = kind === "trailer" || (kind === "film" && inner === "poster.jpg");
      if (!open) return send(reply, new AppError("forbidden", "this file needs a signed playback link"));
      const key = `titles/${titleId}/${kind}/${assetId}/${inner}`;
      return serve(storage, small, request, reply, key, inner.endsWith(".m3u8") ? PUBLIC_PLAYLIST : IMMUTABLE);
    },
  });
}
