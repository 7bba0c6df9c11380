import type { Accounts, Audience, Checkout, Library, Selling, Viewer } from "@marquee/commerce";
import type { RowsResponse, SimilarResponse, Title, TitleSummary } from "@marquee/contracts";
import type { FilmPlayback, TitleMediaStatus, TrailerPlayback } from "@marquee/media";

export type { Audience, Viewer } from "@marquee/commerce";

/**
 * What the storefront needs from the rest of Marquee, handed to every loader and action as
 * Remix's load context by the composition root (cli/). The storefront never opens a database
 * or imports another app's internals; in scaled mode the same shape is backed by HTTP clients.
 * Commerce types are imported as types only: no commerce code is bundled into the storefront.
 */
/** A title on a shelf: its catalogue summary and where its poster is served. */
export interface TitleCard extends TitleSummary {
  poster_url: string;
}

export interface StorefrontServices {
  /**
   * The catalogue as one audience sees it: a kids' profile's age limit and the viewer's region.
   * A title outside the audience is reported exactly like one that does not exist.
   */
  catalog: {
    /** Cards in the order of `ids`; unknown (or not visible to `audience`) ids are left out. */
    cards(ids: string[], audience?: Audience): Promise<TitleCard[]>;
    title(id: string, audience?: Audience): Promise<(Title & { poster_url: string }) | null>;
    /** The SVG poster of a title, or null. */
    poster(id: string, audience?: Audience): Promise<string | null>;
    search(query: string, options?: { limit?: number; audience?: Audience }): Promise<TitleCard[]>;
  };
  /**
   * Serving's rows and similar titles, ranked for `audience`: nothing above a kids' profile's
   * limit appears in them, items, headings or reasons.
   */
  serving: {
    rows(actorId: string, options?: { limit?: number; audience?: Audience }): Promise<RowsResponse>;
    similar(
      itemId: string,
      options?: { limit?: number; actorId?: string; audience?: Audience },
    ): Promise<SimilarResponse>;
  };
  /** Accounts, checkout, library and selling: commerce's server functions (see CommerceServices). */
  commerce: CommerceServices;
  /** A title's uploads and their transcodes, for its seller's editor (media's). */
  uploads: {
    /** The latest upload of each kind and how its transcode goes; the title's seller or an admin only. */
    status(viewer: Viewer, titleId: string): Promise<TitleMediaStatus>;
    /** The resumable-upload (tus) endpoint's path, e.g. `/media/uploads`. */
    endpoint: string;
  };
  /** Playing a title (media's): a film for a viewer who may watch it now, a title's public trailer. */
  media: MediaServices;
  /**
   * The store's public address (e.g. `https://marquee.example`): the absolute URLs a payment
   * provider sends the browser back to, and whether cookies are `__Host-` + Secure (https) or
   * plain (http, local dev), as the JSON API decides. Without it, the request's own is used.
   */
  publicUrl?: string;
  /** Public URL path events are posted to from the browser. */
  eventsUrl: string;
  /**
   * Where server-side errors go (the storefront never uses `console`). A pino logger (or a
   * child of one) fits as is; `obj` carries `err` and request details.
   */
  log: StorefrontLog;
}

/**
 * The parts of `@marquee/commerce`'s `Commerce` the storefront calls. Each method takes the
 * signed-in `Viewer` (from `accounts.authenticate`) and checks roles and ownership itself; a
 * failure is an `AppError`-shaped error (`code`, `status`, a message safe to show).
 */
export interface CommerceServices {
  accounts: Pick<
    Accounts,
    "signUp" | "signIn" | "signOut" | "authenticate" | "listProfiles" | "createProfile" | "selectProfile"
  >;
  checkout: Pick<Checkout, "quote" | "create" | "cancel">;
  library: Pick<
    Library,
    | "list"
    | "authorizePlayback"
    | "refund"
    | "orders"
    | "order"
    | "watchlist"
    | "addToWatchlist"
    | "removeFromWatchlist"
  >;
  selling: Pick<
    Selling,
    | "becomeSeller"
    | "feeTerms"
    | "listTitles"
    | "getTitle"
    | "createTitle"
    | "updateTitle"
    | "setOffers"
    | "submitForReview"
    | "createPromo"
    | "listPromos"
    | "salesReport"
    | "onboardingLink"
    | "refreshAccount"
    | "payouts"
    | "reviewQueue"
    | "approve"
    | "reject"
    | "withdraw"
  >;
}

/**
 * Why a film cannot play now. `startFilm` and the heartbeat refuse with an `AppError`-shaped
 * error (`code`, `status`, a message safe to show) whose `details.reason` (or `code`) is one of
 * these; the player page shows each in words, with what the viewer can do about it.
 */
export const PLAYBACK_REFUSALS = [
  /** 403: no purchase or rental of the title. */
  "not_bought",
  /** 403: the rental's watch window (or its time to start) is over. */
  "rental_expired",
  /** 403 (or 404, like a title that does not exist): above the kids' profile's age limit. */
  "age_limit",
  /** 409: the account already plays its maximum of streams (a rental: one). */
  "stream_limit",
  /** 409: the film is still being transcoded. */
  "preparing",
] as const;
export type PlaybackRefusal = (typeof PLAYBACK_REFUSALS)[number];

export interface MediaServices {
  /**
   * Starts a film for `viewer`: signed, expiring URLs bound to the viewer and the title, the
   * heartbeat that renews them, and where to resume. Refusals: 403 (not bought, rental expired,
   * kids' limit), 404 (no such title), 409 (`preparing`, `stream_limit`), see PlaybackRefusal.
   */
  startFilm(viewer: Viewer, titleId: string): Promise<FilmPlayback>;
  /** A title's public trailer for `audience` (status ready, preparing or failed), or null when it has none. */
  trailer(titleId: string, audience?: Audience): Promise<TrailerPlayback | null>;
  /**
   * Where media's URLs point when it is not the store's own origin (a CDN edge,
   * e.g. `https://media.marquee.example`): the pages' CSP lets the player reach it.
   */
  origin?: string;
}

export interface StorefrontLog {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/**
 * Remix's load context. `getLoadContext` must return a NEW object per request (e.g.
 * `() => ({ services })`): the storefront keys per-request state on it, such as the anonymous
 * id minted on a first visit and the signed-in viewer, so that the root and page loaders agree.
 */
export interface StorefrontContext {
  services: StorefrontServices;
  /**
   * Who is asking, as the server sees the connection (its socket address): sign-ups and
   * sign-ins pass it to commerce, which limits attempts per client.
   */
  clientAddress?: string;
}

declare module "@remix-run/node" {
  interface AppLoadContext extends StorefrontContext {}
}
