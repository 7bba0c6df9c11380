import { readCookie } from "@marquee/commerce/session-cookie";
import { ANONYMOUS_ID_PATTERN } from "@marquee/contracts";
import type { AppLoadContext } from "@remix-run/node";

/** The anonymous visitor's id, readable by the client tracker (so not HttpOnly). */
export const ANON_COOKIE = "mq_anon";
const ONE_YEAR_S = 365 * 24 * 3600;
const BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz";

export interface Actor {
  /** The anonymous visitor's id (the signed-in user's id is `Viewer.userId`, see session.server). */
  id: string;
  /** Set when the visitor had no valid cookie and this response must set one. */
  setCookie: string | null;
}

/** Ids minted on a first visit, keyed by the per-request load context (see context.ts). */
const minted = new WeakMap<AppLoadContext, string>();

/**
 * `a_` + 20 random base36 characters (~103 bits; contracts' ANONYMOUS_ID_PATTERN): unguessable,
 * and never of an account id's shape, so serving can tell the two apart by the id alone.
 */
export function newAnonymousId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  let id = "a_";
  for (const b of bytes) id += BASE36[b % 36];
  return id;
}

// Cookie headers are read by commerce's parser, the one the session cookie uses.
export { readCookie };

export function isHttps(request: Request): boolean {
  if (new URL(request.url).protocol === "https:") return true;
  // Behind a TLS-terminating proxy the app sees http; the proxy says what the browser used.
  return request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim() === "https";
}

export function anonCookie(id: string, secure: boolean): string {
  return [
    `${ANON_COOKIE}=${id}`,
    "Path=/",
    `Max-Age=${ONE_YEAR_S}`,
    "SameSite=Lax",
    ...(secure ? ["Secure"] : []),
  ].join("; ");
}

/**
 * Who is asking. A missing or malformed cookie gets a fresh id; every loader of the same
 * request gets the same one, because it is remembered against that request's load context.
 */
export function getActor(request: Request, context: AppLoadContext): Actor {
  const fromCookie = readCookie(request.headers.get("cookie"), ANON_COOKIE);
  // Only an id of the minted shape: a cookie naming an account (`u_…`) would otherwise have
  // the page rank that account's rows for whoever planted it.
  if (fromCookie && ANONYMOUS_ID_PATTERN.test(fromCookie)) return { id: fromCookie, setCookie: null };
  let id = minted.get(context);
  if (id === undefined) {
    id = newAnonymousId();
    minted.set(context, id);
  }
  return { id, setCookie: anonCookie(id, isHttps(request)) };
}
