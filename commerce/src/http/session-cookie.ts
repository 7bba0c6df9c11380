import { timingSafeEqual } from "node:crypto";

/** The session cookie on https: the `__Host-` prefix pins it to this host, Secure and Path=/. */
export const SECURE_SESSION_COOKIE = "__Host-mq_session";
/**
 * The session cookie on plain-http local development. Browsers refuse a `__Host-` cookie that
 * is not Secure, and a Secure cookie is never sent over http, so local dev uses a plain name.
 */
export const DEV_SESSION_COOKIE = "mq_session";

export interface SessionCookie {
  name: string;
  secure: boolean;
}

/**
 * Which cookie carries the session, decided by the store's public address: https → the
 * `__Host-` cookie (Secure); http → the plain one. Only that one name is ever read, so on an
 * https store a cookie planted without Secure (over http, or by a sibling subdomain) is ignored.
 */
export function sessionCookieFor(publicUrl: string): SessionCookie {
  const secure = publicUrl.startsWith("https:");
  return { name: secure ? SECURE_SESSION_COOKIE : DEV_SESSION_COOKIE, secure };
}

/**
 * The value of cookie `name` in a Cookie header (URL-decoded, quotes removed), or null: the one
 * Cookie parser, for the session and for the storefront's other cookies (anonymous id, CSRF).
 */
export function readCookie(header: string | null | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw) || null;
    } catch {
      return null;
    }
  }
  return null;
}

/** Set-Cookie for a session: HttpOnly, SameSite=Lax, Path=/, expiring with the session. */
export function sessionCookieHeader(cookie: SessionCookie, token: string, expiresAt: Date, now = new Date()): string {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 1000));
  return [
    `${cookie.name}=${encodeURIComponent(token)}`,
    "Path=/",
    "HttpOnly",
    "SameSite=Lax",
    `Max-Age=${maxAge}`,
    `Expires=${expiresAt.toUTCString()}`,
    ...(cookie.secure ? ["Secure"] : []),
  ].join("; ");
}

/** Set-Cookie that removes the session cookie. */
export function clearSessionCookieHeader(cookie: SessionCookie): string {
  return [
    `${cookie.name}=`,
    "Path=/",
    "HttpOnly",
    "SameSite=Lax",
    "Max-Age=0",
    "Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    ...(cookie.secure ? ["Secure"] : []),
  ].join("; ");
}

/** Constant-time comparison of two secrets (CSRF tokens). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
