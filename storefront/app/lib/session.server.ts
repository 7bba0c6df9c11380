import { type AppLoadContext, redirect } from "@remix-run/node";
import type { Audience, Viewer } from "../context";
import { getActor, isHttps, readCookie } from "./actor.server";

/**
 * The signed-in session: an opaque bearer token in an HttpOnly cookie; commerce keeps only
 * its hash. Over https the cookie is `__Host-mq_session` (Secure, Path=/, no Domain: no other
 * host or path can set or shadow it). Browsers refuse `__Host-` cookies without Secure, so
 * plain-http local dev uses `mq_session` instead. The JSON API (`/api/v1`) reads the same names.
 */
export const SESSION_COOKIE_SECURE = "__Host-mq_session";
export const SESSION_COOKIE_PLAIN = "mq_session";

/** Tokens are 32 random bytes, base64url; anything else is not worth a database query. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{20,200}$/;

export function sessionCookieName(secure: boolean): string {
  return secure ? SESSION_COOKIE_SECURE : SESSION_COOKIE_PLAIN;
}

/**
 * Whether this store's cookies are `__Host-` + Secure: decided by the configured public
 * address when there is one (as the JSON API decides), else by the request's own scheme.
 */
export function secureCookies(request: Request, context: AppLoadContext): boolean {
  const configured = context.services.publicUrl;
  return configured ? configured.startsWith("https:") : isHttps(request);
}

/**
 * The session token the request carries, under the one name its scheme allows: on an https
 * store a cookie planted without Secure (over http, or by a sibling subdomain) is ignored.
 */
export function readSessionToken(request: Request, context: AppLoadContext): string | null {
  const value = readCookie(request.headers.get("cookie"), sessionCookieName(secureCookies(request, context)));
  return value && TOKEN_PATTERN.test(value) ? value : null;
}

/** Set-Cookie for a new session, living as long as the session does. */
export function sessionCookie(token: string, expiresAt: Date, secure: boolean, now = Date.now()): string {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - now) / 1000));
  return [
    `${sessionCookieName(secure)}=${token}`,
    "Path=/",
    `Max-Age=${maxAge}`,
    "HttpOnly",
    "SameSite=Lax",
    ...(secure ? ["Secure"] : []),
  ].join("; ");
}

export function clearSessionCookie(secure: boolean): string {
  return [
    `${sessionCookieName(secure)}=`,
    "Path=/",
    "Max-Age=0",
    "HttpOnly",
    "SameSite=Lax",
    ...(secure ? ["Secure"] : []),
  ].join("; ");
}

/** One authentication per request, shared by the root and page loaders (see context.ts). */
const viewers = new WeakMap<AppLoadContext, Promise<Viewer | null>>();

/** The signed-in viewer, or null (no cookie, or a session that is unknown or expired). */
export function getViewer(request: Request, context: AppLoadContext): Promise<Viewer | null> {
  let found = viewers.get(context);
  if (found === undefined) {
    const token = readSessionToken(request, context);
    found = token ? context.services.commerce.accounts.authenticate(token) : Promise.resolve(null);
    viewers.set(context, found);
  }
  return found;
}

/** A relative path inside the store to return to after signing in; anything else is "/". */
export function safeNext(next: unknown): string {
  if (typeof next !== "string" || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  return next.length > 500 ? "/" : next;
}

/** The path (and query) of a request, for `?next=`. */
export function pathOf(request: Request): string {
  const url = new URL(request.url);
  return url.pathname + url.search;
}

/** The signed-in viewer, or a redirect to sign in that comes back here afterwards. */
export async function requireViewer(request: Request, context: AppLoadContext): Promise<Viewer> {
  const viewer = await getViewer(request, context);
  if (!viewer) {
    const url = new URL(request.url);
    // A form post cannot be replayed after signing in: come back to the page it was on.
    const back = request.method === "GET" ? pathOf(request) : url.pathname;
    throw redirect(`/signin?next=${encodeURIComponent(safeNext(back))}`);
  }
  return viewer;
}

/** Who the catalogue is filtered for: a kids' profile's age limit and the account's region. */
export function audienceOf(viewer: Viewer | null): Audience {
  if (!viewer) return {};
  return { maxAgeRating: viewer.profile.max_age_rating, region: viewer.region };
}

/**
 * The id rows and events are keyed by: the signed-in user, else the anonymous visitor (whose
 * cookie is still set on a first visit, so signing out later keeps one anonymous history).
 */
export async function actorOf(
  request: Request,
  context: AppLoadContext,
): Promise<{ id: string; anonymousId: string; setCookie: string | null; viewer: Viewer | null }> {
  const anon = getActor(request, context);
  const viewer = await getViewer(request, context);
  return { id: viewer?.userId ?? anon.id, anonymousId: anon.id, setCookie: anon.setCookie, viewer };
}
