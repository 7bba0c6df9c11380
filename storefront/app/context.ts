import type { RowsResponse, SimilarResponse, Title, TitleSummary } from "@marquee/contracts";

/**
 * What the storefront needs from the rest of Marquee, handed to every loader and action as
 * Remix's load context by the composition root (cli/). The storefront never opens a database
 * or imports another app's internals; in scaled mode the same shape is backed by HTTP clients.
 */
/** A title on a shelf: its catalogue summary and where its poster is served. */
export interface TitleCard extends TitleSummary {
  poster_url: string;
}

export interface StorefrontServices {
  catalog: {
    /** Cards in the order of `ids`; unknown ids are left out. */
    cards(ids: string[]): Promise<TitleCard[]>;
    title(id: string): Promise<(Title & { poster_url: string }) | null>;
    /** The SVG poster of a title, or null. */
    poster(id: string): Promise<string | null>;
  };
  serving: {
    rows(actorId: string, options?: { limit?: number }): Promise<RowsResponse>;
    similar(itemId: string, options?: { limit?: number; actorId?: string }): Promise<SimilarResponse>;
  };
  /** Public URL path events are posted to from the browser. */
  eventsUrl: string;
  /**
   * Where server-side errors go (the storefront never uses `console`). A pino logger (or a
   * child of one) fits as is; `obj` carries `err` and request details.
   */
  log: StorefrontLog;
}

export interface StorefrontLog {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/**
 * Remix's load context. `getLoadContext` must return a NEW object per request (e.g.
 * `() => ({ services })`): the storefront keys per-request state on it, such as the anonymous
 * id minted on a first visit, so that the root and page loaders agree on one id.
 */
export interface StorefrontContext {
  services: StorefrontServices;
}

declare module "@remix-run/node" {
  interface AppLoadContext extends StorefrontContext {}
}
