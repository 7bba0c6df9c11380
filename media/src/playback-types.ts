/**
 * What the storefront (and the apps, through HTTP) get from media to play a title. The
 * storefront imports these as types only; media's playback service implements them.
 */

/** A text track uploaded for a film (WebVTT). */
export interface CaptionTrack {
  lang: string;
  label: string;
  url: string;
}

/**
 * A film the viewer may watch now: signed, expiring URLs bound to the viewer and the title.
 * `hls_url` (and every playlist, segment and key under it) is good until `token_expires_at`;
 * the player renews it through `heartbeat_url` while playing.
 */
export interface FilmPlayback {
  title_id: string;
  kind: "own" | "rent";
  /** A rental's end once started; null for owned titles and unstarted rentals. */
  expires_at: string | null;
  /** The master playlist, signed (`/media/s/<token>/master.m3u8`, or the edge's absolute URL). */
  hls_url: string;
  token_expires_at: string;
  /**
   * POST here every ~30 s while playing (body `{"position_s":n}`): answers
   * `{"hls_token","hls_url","token_expires_at"}` (the renewed token), 409 `stream_limit` when the
   * account already plays its maximum of streams, 403 when playback is no longer allowed.
   */
  heartbeat_url: string;
  /** The scrubbing-thumbnail map (WebVTT cues pointing into a sprite), or null. */
  thumbnails_vtt_url: string | null;
  captions: CaptionTrack[];
  poster_url: string | null;
  /** Where to resume, seconds (saved watch progress). */
  resume_at_s: number;
  duration_s: number;
}

/** A title's trailer: public, unencrypted. */
export interface TrailerPlayback {
  title_id: string;
  /** `preparing` while it transcodes; `failed` when it could not be (the seller sees why). */
  status: "ready" | "preparing" | "failed";
  hls_url: string | null;
  thumbnails_vtt_url: string | null;
  poster_url: string | null;
  duration_s: number | null;
}

/** One of a title's media as its seller sees it: the latest upload of the kind, and how it is going. */
export interface MediaItemStatus {
  kind: "film" | "trailer" | "poster" | "captions";
  /** `none`: nothing uploaded yet. */
  status: "none" | "uploaded" | "queued" | "transcoding" | "ready" | "failed";
  /** Transcoding progress, 0–100, while it runs. */
  progress: number | null;
  /** Seconds left, estimated, while it runs. */
  eta_s: number | null;
  /** Why it failed (after its retries), in words a seller can act on. */
  error: string | null;
  updated_at: string | null;
  /** The rungs of a ready video (e.g. [234, 360, 540, 720]). */
  rungs?: number[];
  duration_s?: number | null;
}

/** A title's media for its seller's editor: uploads and their transcodes. */
export interface TitleMediaStatus {
  title_id: string;
  items: MediaItemStatus[];
  /** The film is transcoded and playable: the title may be submitted for review. */
  film_ready: boolean;
}
