import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import type { Viewer } from "@marquee/commerce";
import type { FilmPlayback, TrailerPlayback } from "@marquee/media";
import { AppError } from "@marquee/runtime";
import type { MediaServices } from "../app/context";
import type { HlsFixture } from "./hls-fixture";
import type { TestStore } from "./test-services";

/**
 * `services.media` for the storefront's tests, after media's contract (media/src/playback-types):
 * whether a viewer may play is the REAL commerce's answer (`library.authorizePlayback`: bought,
 * rental windows, kids' limits), refusals carry `details.reason` as media's do, and the stream
 * limit is kept with heartbeats. With a fixture (hls-fixture.ts), `handle` serves it like
 * media's origin: `/media/s/<token>/…` only while the token is valid, `/media/heartbeat/<token>`
 * renewing it, and public trailers under `/media/trailers/<title>/…`. Stricter than media, a
 * renewal revokes the old token two seconds later: only a player that moves every request (and
 * its next heartbeat) to the new token keeps playing.
 */

const TYPES: Record<string, string> = {
  ".m3u8": "application/vnd.apple.mpegurl",
  ".ts": "video/mp2t",
  ".vtt": "text/vtt; charset=utf-8",
  ".jpg": "image/jpeg",
  ".bin": "application/octet-stream",
};

interface Token {
  stream: string;
  titleId: string;
  expiresAt: number;
}

interface Stream {
  userId: string;
  titleId: string;
  lastBeat: number;
  token: string;
}

export interface TestPlaybackOptions {
  fixture?: HlsFixture | null;
  /** Concurrent streams per account (media's default is 3). */
  streamLimit?: number;
  /** A stream without a heartbeat for this long no longer counts. */
  streamIdleMs?: number;
  tokenTtlMs?: number;
  /** How long a renewed token's predecessor still works (requests in flight). */
  renewGraceMs?: number;
  /** Titles whose film is still transcoding. */
  preparing?: Iterable<string>;
  /** Titles with a trailer, and how its transcode stands. */
  trailers?: Map<string, TrailerPlayback["status"]>;
  /** Where a film resumes (seconds), by title, until a heartbeat saves another. */
  positions?: Map<string, number>;
}

const refuse = (code: "forbidden" | "conflict" | "not_found", message: string, details?: Record<string, unknown>) =>
  new AppError(code, message, details ? { details } : {});

export class TestPlayback implements MediaServices {
  readonly tokens = new Map<string, Token>();
  readonly streams = new Map<string, Stream>();
  /** Every heartbeat received: stream, body, and what was answered. */
  readonly heartbeats: Array<{ stream: string | null; position_s: unknown; ended: boolean; status: number }> = [];
  /** Every file request: the token it carried, the file, the status answered. */
  readonly requests: Array<{ token: string | null; file: string; status: number }> = [];
  readonly preparing: Set<string>;
  readonly positions: Map<string, number>;
  /** A media edge's origin, when a test wants one (the CSP names it). */
  origin?: string;
  /** When set, the next heartbeat of these streams answers 403 (playback no longer allowed). */
  readonly revoked = new Set<string>();

  constructor(
    private readonly store: TestStore,
    private readonly options: TestPlaybackOptions = {},
  ) {
    this.preparing = new Set(options.preparing ?? []);
    this.positions = options.positions ?? new Map();
  }

  private now(): number {
    return this.store.clock.now().getTime();
  }

  private issue(stream: string, titleId: string): { token: string; expiresAt: number } {
    const token = randomBytes(18).toString("base64url");
    const expiresAt = this.now() + (this.options.tokenTtlMs ?? 4 * 3600_000);
    this.tokens.set(token, { stream, titleId, expiresAt });
    return { token, expiresAt };
  }

  private active(userId: string): Stream[] {
    const idle = this.options.streamIdleMs ?? 90_000;
    return [...this.streams.values()].filter((s) => s.userId === userId && this.now() - s.lastBeat < idle);
  }

  async startFilm(viewer: Viewer, titleId: string): Promise<FilmPlayback> {
    const { commerce } = this.store;
    let grant: Awaited<ReturnType<typeof commerce.library.authorizePlayback>>;
    try {
      grant = await commerce.library.authorizePlayback(viewer, titleId);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      if (err.code === "not_found") {
        // Above a kids' profile's limit: commerce says "no such title"; the title does exist.
        if (viewer.profile.max_age_rating && (await commerce.catalog.title(titleId)))
          throw refuse("forbidden", "this title is above this profile's age limit", { reason: "age_limit" });
        throw err;
      }
      const held = (await commerce.library.list(viewer)).some((i) => i.title_id === titleId && i.status === "active");
      throw refuse(err.code === "forbidden" ? "forbidden" : "conflict", err.message, {
        reason: held ? "rental_expired" : "not_bought",
      });
    }
    if (this.preparing.has(titleId)) throw refuse("conflict", "this film is being prepared", { reason: "preparing" });
    const limit = grant.kind === "rent" ? 1 : (this.options.streamLimit ?? 3);
    const playing = this.active(viewer.userId).filter((s) => grant.kind !== "rent" || s.titleId === titleId);
    if (playing.length >= limit)
      throw refuse("conflict", `already playing on ${limit} ${limit === 1 ? "device" : "devices"}`, {
        reason: "stream_limit",
        limit,
      });
    const stream = `st_${randomBytes(8).toString("hex")}`;
    const { token, expiresAt } = this.issue(stream, titleId);
    this.streams.set(stream, { userId: viewer.userId, titleId, lastBeat: this.now(), token });
    const fixture = this.options.fixture;
    return {
      title_id: titleId,
      kind: grant.kind,
      expires_at: grant.expires_at,
      hls_url: `/media/s/${token}/master.m3u8`,
      token_expires_at: new Date(expiresAt).toISOString(),
      heartbeat_url: `/media/heartbeat/${token}`,
      thumbnails_vtt_url: fixture ? `/media/s/${token}/thumbnails.vtt` : null,
      captions: fixture ? [{ lang: "en", label: "English", url: `/media/s/${token}/captions-en.vtt` }] : [],
      poster_url: null,
      resume_at_s: this.positions.get(titleId) ?? grant.resume_at_s,
      duration_s: fixture?.duration_s ?? 0,
    };
  }

  async trailer(titleId: string): Promise<TrailerPlayback | null> {
    const status = this.options.trailers?.get(titleId);
    if (!status) return null;
    const ready = status === "ready";
    return {
      title_id: titleId,
      status,
      hls_url: ready ? `/media/trailers/${titleId}/master.m3u8` : null,
      thumbnails_vtt_url: ready && this.options.fixture ? `/media/trailers/${titleId}/thumbnails.vtt` : null,
      poster_url: null,
      duration_s: ready ? (this.options.fixture?.duration_s ?? null) : null,
    };
  }

  /** Answers `/media/…` requests like media's origin; false when the path is not media's. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const beat = /^\/media\/heartbeat\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
    if (beat && req.method === "POST") {
      await this.heartbeat(beat[1] as string, req, res);
      return true;
    }
    const signed = /^\/media\/s\/([A-Za-z0-9_-]+)\/(.+)$/.exec(url.pathname);
    if (signed && (req.method === "GET" || req.method === "HEAD")) {
      const token = signed[1] as string;
      const t = this.tokens.get(token);
      if (!t || t.expiresAt <= this.now()) {
        this.requests.push({ token, file: signed[2] as string, status: 403 });
        res.writeHead(403, { "content-type": "text/plain" });
        res.end("link expired");
        return true;
      }
      await this.serve(signed[2] as string, token, res, "private, max-age=60");
      return true;
    }
    const trailer = /^\/media\/trailers\/([A-Za-z0-9_.:-]+)\/(.+)$/.exec(url.pathname);
    if (trailer && (req.method === "GET" || req.method === "HEAD")) {
      if (this.options.trailers?.get(trailer[1] as string) !== "ready") {
        res.writeHead(404).end();
        return true;
      }
      await this.serve(trailer[2] as string, null, res, "public, max-age=300");
      return true;
    }
    return false;
  }

  private async serve(file: string, token: string | null, res: ServerResponse, cache: string): Promise<void> {
    const dir = this.options.fixture?.dir;
    const path = dir ? normalize(join(dir, file)) : "";
    const found = dir && path.startsWith(dir + sep) ? await stat(path).catch(() => null) : null;
    if (!found?.isFile() || file.endsWith(".info")) {
      this.requests.push({ token, file, status: 404 });
      res.writeHead(404).end();
      return;
    }
    this.requests.push({ token, file, status: 200 });
    res.writeHead(200, {
      "content-type": TYPES[extname(path)] ?? "application/octet-stream",
      "content-length": found.size,
      "cache-control": cache,
    });
    createReadStream(path).pipe(res);
  }

  private async heartbeat(beatToken: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let position: unknown;
    let ended = false;
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { position_s?: unknown; ended?: unknown };
      position = body.position_s;
      ended = body.ended === true;
    } catch {
      position = undefined;
    }
    const t = this.tokens.get(beatToken);
    const streamId = t && t.expiresAt > this.now() ? t.stream : null;
    const stream = streamId ? this.streams.get(streamId) : undefined;
    const answer = (status: number, body?: unknown) => {
      this.heartbeats.push({ stream: streamId, position_s: position, ended, status });
      if (body === undefined) {
        res.writeHead(status).end();
        return;
      }
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (!streamId || !stream || this.revoked.has(streamId)) {
      answer(403, {
        error: { code: "forbidden", message: "playback is no longer allowed", details: { reason: "rental_expired" } },
      });
      return;
    }
    if (typeof position !== "number" || !Number.isFinite(position) || position < 0) {
      answer(400, { error: { code: "bad_request", message: "position_s must be a number of seconds" } });
      return;
    }
    this.positions.set(stream.titleId, position);
    if (ended) {
      // The end frees the stream's slot at once (media answers 204).
      this.streams.delete(streamId);
      answer(204);
      return;
    }
    stream.lastBeat = this.now();
    // Renewed: the old token stops working after a moment (for requests already on their way),
    // so only a player that moves its requests to the new token keeps playing.
    const old = this.tokens.get(stream.token);
    if (old) old.expiresAt = Math.min(old.expiresAt, this.now() + (this.options.renewGraceMs ?? 2000));
    const { token, expiresAt } = this.issue(streamId, stream.titleId);
    stream.token = token;
    answer(200, {
      hls_token: token,
      hls_url: `/media/s/${token}/master.m3u8`,
      token_expires_at: new Date(expiresAt).toISOString(),
    });
  }
}
