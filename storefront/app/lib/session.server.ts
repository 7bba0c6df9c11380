import {
  clearSessionCookieHeader,
  DEV_SESSION_COOKIE,
  readCookie,
  SECURE_SESSION_COOKIE,
  type SessionCookie,
  sessionCookieHeader,
} from "@marquee/commerce/session-cookie";
import { type AppLoadContext, redirect } from "@remix-run/node";
import type { Audience, Viewer } from "../context";
import { getActor, isHttps } from "./actor.server";

/**
 * The signed-in session: an opaque bearer token in an HttpOnly cookie; commerce keeps only
 * its hash. The cookie itself (names, attributes, parsing) is commerce's one implementation,
 * shared with the JSON API (`@marquee/commerce/session-cookie`): over https `__Host-mq_session`
 * (Secure, Path=/, no Domain), on plain-http local dev `mq_session`.
 */
export const SESSION_COOKIE_SECURE = SECURE_SESSION_COOKIE;
export const SESSION_COOKIE_PLAIN = DEV_SESSION_COOKIE;

/** Tokens are 32 random bytes, base64url; anything else is not worth a database query. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{20,200}$/;

const cookieKind = (secure: boolean): SessionCookie => ({ name: sessionCookieName(secure), secure });

export function sessionCookieName(secure: boolean): string {
  return secure ? SECURE_SESSION_COOKIE : DEV_SESSION_COOKIE;
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
  const value = readCookie(
    request.headers.get("cookie") ?? undefined,
    sessionCookieName(secureCookies(request, context)),
  );
  return value && TOKEN_PATTERN.test(value) ? value : null;
}

/** Set-Cookie for a new session, living as long as the session does. */
export function sessionCookie(token: string, expiresAt: Date, secure: boolean, now = Date.now()): string {
  return sessionCookieHeader(cookieKind(secure), token, expiresAt, new Date(now));
}

export function clearSessionCookie(secure: boolean): string {
  return clearSessionCookieHeader(cookieKind(secure));
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

const SAME_ORIGIN = "http://marquee.invalid";

function hasControlOrBackslash(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x5c) return true;
  }
  return false;
}

/**
 * A path inside the store to return to after signing in; anything else is "/". Checked the way
 * a browser will read the Location header: browsers drop tabs and newlines anywhere in a URL
 * and read `\\` as `/`, so `/<tab>/evil.example` would be `//evil.example`, another site. Any
 * control character or backslash is refused outright; what is left must resolve on our own
 * origin, and is returned as that resolution serialises it (percent-encoded ASCII, so a
 * non-Latin-1 character cannot break the header either).
 */
export function safeNext(next: unknown): string {
  if (typeof next !== "string" || next.length === 0 || next.length > 500) return "/";
  if (hasControlOrBackslash(next) || !next.startsWith("/") || next.startsWith("//")) return "/";
  let url: URL;
  try {
    url = new URL(next, SAME_ORIGIN);
  } catch {
    return "/";
  }
  if (url.origin !== SAME_ORIGIN) return "/";
  const path = url.pathname + url.search + url.hash;
  return path.startsWith("//") ? "/" : path;
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
