import { randomUUID } from "node:crypto";
import type { Audience, Library, Viewer } from "@marquee/commerce";
import { AppError, type Logger } from "@marquee/runtime";
import type { CaptionTrack, FilmPlayback, TrailerPlayback } from "./playback-types.ts";
import { ASSET_ROOT, assetRoot, type MediaSigner, type MediaTokenClaims, TOKEN_REFUSALS } from "./signing.ts";
import type { MediaStorage } from "./storage.ts";
import type { ClaimOutcome, StreamSessions } from "./stream-sessions.ts";

/** A title's current film or trailer, as the transcoding pipeline records it. */
export interface PlaybackAsset {
  id: string;
  /**
   * Its files' storage folder (no trailing slash) when not its own
   * `titles/<title>/<kind>/<asset>`: demo titles share a pool clip's rendition and key.
   */
  root?: string;
  status: "ready" | "preparing" | "failed";
  duration_s: number | null;
  /** Uploaded WebVTT captions, paths relative to the asset root (`captions/en.vtt`). */
  captions?: Array<{ lang: string; label: string; path: string }>;
}

/**
 * What playback needs from the pipeline's asset records (`media_assets`), injected so this file
 * does not depend on how they are stored: the current asset of a kind, and a film's AES-128 key.
 */
export interface PlaybackAssets {
  currentAsset(titleId: string, kind: "film" | "trailer"): Promise<PlaybackAsset | null>;
  /** The 16-byte key a film's playlists name (`#EXT-X-KEY … URI="../key"`); null when none. */
  keyOf(assetId: string): Promise<Buffer | null>;
}

/** Commerce's rules (its Library), which decide who may play what; media never re-implements them. */
export type PlaybackRules = Pick<
  Library,
  "authorizePlayback" | "startPlayback" | "checkPlayback" | "savePlaybackProgress"
>;

/** Whether a title exists for an audience (commerce's catalogue: published, under a kids' limit). */
export type TitleVisibility = (titleId: string, audience: Audience) => Promise<boolean>;

export interface MediaPlaybackOptions {
  rules: PlaybackRules;
  assets: PlaybackAssets;
  signer: MediaSigner;
  streams: StreamSessions;
  storage: MediaStorage;
  logger: Logger;
  /** Trailers only for titles the audience may see; without it every trailer asset is public. */
  titleVisible?: TitleVisibility;
  /**
   * Where players fetch media: the edge's absolute URL in scaled mode
   * (`https://cdn.example.com`), empty (same origin, `/media/...`) by default. Heartbeats always
   * go to the app itself (`/media/heartbeat/...`).
   */
  mediaBaseUrl?: string;
  /** How long a signed link lasts (seconds; default 4 hours); heartbeats renew it. */
  tokenTtlS?: number;
  /** Streams one account may play at once (default 3). */
  maxStreams?: number;
  /** A stream without a heartbeat for this long is over (seconds; default 90). */
  streamTtlS?: number;
  now?: () => Date;
}

/** A heartbeat's body: where the player is; `ended` frees the stream's slot at once. */
export interface Heartbeat {
  position_s?: number;
  duration_s?: number;
  ended?: boolean;
}

export interface HeartbeatAnswer {
  hls_token: string;
  hls_url: string;
  token_expires_at: string;
}

/** The account plays its maximum of streams (or the rental plays elsewhere): 409 `stream_limit`. */
export class StreamLimitError extends AppError {
  readonly reason = "stream_limit" as const;
  /** `limit`: the streams allowed at once (the account's maximum; 1 for a rental). */
  constructor(message: string, limit: number) {
    super("conflict", message, { details: { reason: "stream_limit", limit } });
  }
}

export const DEFAULT_MAX_STREAMS = 3;

function rootOf(titleId: string, kind: "film" | "trailer", asset: PlaybackAsset): string {
  const root = asset.root?.replace(/\/+$/, "") ?? assetRoot(titleId, kind, asset.id);
  if (!ASSET_ROOT.test(root)) throw new AppError("internal", `asset ${asset.id} has an unusable root`);
  return root;
}

/**
 * Starts and keeps up protected playback: commerce says whether the viewer may play, the
 * pipeline says which asset plays, this signs the links, counts the streams and hands the key.
 */
export class MediaPlayback {
  private readonly now: () => Date;
  private readonly tokenTtlMs: number;
  private readonly maxStreams: number;
  private readonly streamTtlMs: number;
  private readonly base: string;

  constructor(private readonly o: MediaPlaybackOptions) {
    this.now = o.now ?? (() => new Date());
    this.tokenTtlMs = (o.tokenTtlS ?? 4 * 3600) * 1000;
    this.maxStreams = o.maxStreams ?? DEFAULT_MAX_STREAMS;
    this.streamTtlMs = (o.streamTtlS ?? 90) * 1000;
    this.base = (o.mediaBaseUrl ?? "").replace(/\/+$/, "");
  }

  /**
   * Play a film: commerce's checks (entitlement, windows, kids' limit) through
   * `authorizePlayback`, then the current ready film, then a new stream within the account's
   * limit. Nothing here starts a rental's clock: the first key request does.
   */
  async startFilm(viewer: Viewer, titleId: string, options: { deviceId?: string } = {}): Promise<FilmPlayback> {
    const grant = await this.o.rules.authorizePlayback(viewer, titleId);
    const asset = await this.o.assets.currentAsset(titleId, "film");
    if (!asset) throw new AppError("not_found", "This film has no video yet");
    if (asset.status === "preparing") throw new AppError("conflict", "This film is still being prepared");
    if (asset.status !== "ready") throw new AppError("conflict", "This film cannot be played right now");
    // Everything that can fail comes before the stream takes a slot.
    const root = rootOf(titleId, "film", asset);
    const has = async (path: string) => (await this.o.storage.stat(`${root}/${path}`)) !== null;
    const [thumbs, poster] = await Promise.all([has("thumbs/thumbs.vtt"), has("poster.jpg")]);
    const now = this.now();
    const streamId = randomUUID();
    this.refuseUnless(
      await this.o.streams.claim(
        {
          userId: viewer.userId,
          streamId,
          entitlementId: grant.entitlement_id,
          rental: grant.kind === "rent",
          deviceId: options.deviceId,
        },
        this.maxStreams,
        this.streamTtlMs,
        now.getTime(),
      ),
    );
    const claims: Omit<MediaTokenClaims, "v"> = {
      root,
      uid: viewer.userId,
      pid: viewer.profile.id,
      tid: titleId,
      aid: asset.id,
      ent: grant.entitlement_id,
      sid: streamId,
      rent: grant.kind === "rent",
      exp: this.expiry(now, grant.expires_at),
    };
    const token = this.o.signer.sign(claims);
    const signed = (path: string) => `${this.base}/media/s/${token}/${path}`;
    const captions: CaptionTrack[] = (asset.captions ?? []).map((c) => ({
      lang: c.lang,
      label: c.label,
      url: signed(c.path),
    }));
    this.o.logger.info({ title_id: titleId, asset_id: asset.id, stream_id: streamId }, "film playback started");
    return {
      title_id: titleId,
      kind: grant.kind,
      expires_at: grant.expires_at,
      hls_url: signed("master.m3u8"),
      token_expires_at: new Date(claims.exp * 1000).toISOString(),
      heartbeat_url: `/media/heartbeat/${token}`,
      thumbnails_vtt_url: thumbs ? signed("thumbs/thumbs.vtt") : null,
      captions,
      poster_url: poster ? `${this.base}/media/public/${root}/poster.jpg` : null,
      resume_at_s: grant.resume_at_s,
      duration_s: asset.duration_s ?? 0,
    };
  }

  /** A title's public trailer, or null when it has none (or the title does not exist for this audience). */
  async trailer(titleId: string, audience: Audience = {}): Promise<TrailerPlayback | null> {
    if (this.o.titleVisible && !(await this.o.titleVisible(titleId, audience))) return null;
    const asset = await this.o.assets.currentAsset(titleId, "trailer");
    if (!asset) return null;
    const root = rootOf(titleId, "trailer", asset);
    const ready = asset.status === "ready";
    const url = (path: string) => `${this.base}/media/public/${root}/${path}`;
    const has = async (path: string) => ready && (await this.o.storage.stat(`${root}/${path}`)) !== null;
    return {
      title_id: titleId,
      status: asset.status,
      hls_url: ready ? url("master.m3u8") : null,
      thumbnails_vtt_url: (await has("thumbs/thumbs.vtt")) ? url("thumbs/thumbs.vtt") : null,
      poster_url: (await has("poster.jpg")) ? url("poster.jpg") : null,
      duration_s: asset.duration_s,
    };
  }

  /**
   * The player's heartbeat: the link must be valid, the entitlement must still play (a rental
   * that ended, a refund, a lowered kids' limit stop it here), the stream keeps its slot (or
   * gets one back if free), progress is saved, and a renewed link is answered.
   */
  async heartbeat(token: string, beat: Heartbeat = {}): Promise<HeartbeatAnswer | null> {
    const claims = this.verified(token);
    const holder = { userId: claims.uid, profileId: claims.pid };
    if (beat.ended) {
      await this.o.streams.release(claims.uid, claims.sid);
      if (typeof beat.position_s === "number")
        await this.o.rules.savePlaybackProgress(claims.ent, claims.tid, holder, beat.position_s, beat.duration_s);
      return null;
    }
    const { expires_at } = await this.o.rules.checkPlayback(claims.ent, claims.tid, holder);
    const now = this.now();
    await this.claim(claims, now);
    if (typeof beat.position_s === "number")
      await this.o.rules.savePlaybackProgress(claims.ent, claims.tid, holder, beat.position_s, beat.duration_s);
    const { v: _v, ...rest } = claims;
    const renewed = { ...rest, exp: this.expiry(now, expires_at) };
    const next = this.o.signer.sign(renewed);
    return {
      hls_token: next,
      hls_url: `${this.base}/media/s/${next}/master.m3u8`,
      token_expires_at: new Date(renewed.exp * 1000).toISOString(),
    };
  }

  /**
   * The film's key, for a verified link: commerce decides whether the entitlement plays now
   * and opens a rental's watch window at the first request; the stream must hold its slot.
   */
  async key(claims: MediaTokenClaims): Promise<Buffer> {
    await this.o.rules.startPlayback(claims.ent, claims.tid, { userId: claims.uid, profileId: claims.pid });
    await this.claim(claims, this.now());
    const key = await this.o.assets.keyOf(claims.aid);
    if (key === null || key.length !== 16) throw new AppError("not_found", "this film has no key");
    return key;
  }

  /** The claims of a valid link, or a 403 saying why not. */
  verified(token: string): MediaTokenClaims {
    const checked = this.o.signer.verify(token);
    if (!checked.ok) throw new AppError("forbidden", TOKEN_REFUSALS[checked.problem]);
    return checked.claims;
  }

  private async claim(claims: MediaTokenClaims, now: Date): Promise<void> {
    this.refuseUnless(
      await this.o.streams.claim(
        { userId: claims.uid, streamId: claims.sid, entitlementId: claims.ent, rental: claims.rent },
        this.maxStreams,
        this.streamTtlMs,
        now.getTime(),
      ),
    );
  }

  private refuseUnless(outcome: ClaimOutcome): void {
    if (outcome === "account_limit")
      throw new StreamLimitError(
        `Your account is already playing ${this.maxStreams} streams: stop one of them to watch here`,
        this.maxStreams,
      );
    if (outcome === "rental_elsewhere")
      throw new StreamLimitError("This rental is playing on another device: a rental plays on one device at a time", 1);
  }

  /** A link never outlives what it grants: a started rental's end caps it. */
  private expiry(now: Date, endsAt: string | null): number {
    const cap = endsAt ? new Date(endsAt).getTime() : Number.POSITIVE_INFINITY;
    return Math.floor(Math.min(now.getTime() + this.tokenTtlMs, cap) / 1000);
  }
}
