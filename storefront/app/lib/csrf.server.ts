import { type AppLoadContext, data } from "@remix-run/node";
import type { Viewer } from "../context";
import { readCookie } from "./actor.server";
import { getViewer, secureCookies } from "./session.server";

/**
 * CSRF protection for every form post. A signed-in viewer's forms carry the session's own
 * CSRF token (stored with the session, never in a cookie of its own). Forms shown before
 * signing in (sign in, sign up) use a double-submit token: a random value in an HttpOnly
 * cookie that the page also renders into the form; a cross-site page can make the browser
 * send the cookie but cannot read it to put it in the form. SameSite=Lax is a second layer.
 */
export const CSRF_FIELD = "_csrf";
export const CSRF_COOKIE_SECURE = "__Host-mq_csrf";
export const CSRF_COOKIE_PLAIN = "mq_csrf";

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{32,128}$/;

export function csrfCookieName(secure: boolean): string {
  return secure ? CSRF_COOKIE_SECURE : CSRF_COOKIE_PLAIN;
}

/** 32 random bytes, base64url. */
export function newCsrfToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Buffer.from(bytes).toString("base64url");
}

export function csrfCookie(token: string, secure: boolean): string {
  // A session cookie (no Max-Age): it only has to outlive the sign-in form.
  return [
    `${csrfCookieName(secure)}=${token}`,
    "Path=/",
    "HttpOnly",
    "SameSite=Lax",
    ...(secure ? ["Secure"] : []),
  ].join("; ");
}

/** Compares in time independent of where the strings differ. */
export function tokensEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** True when the submitted value equals one of the expected tokens (null/empty never match). */
export function csrfMatches(submitted: unknown, expected: ReadonlyArray<string | null | undefined>): boolean {
  if (typeof submitted !== "string" || !TOKEN_PATTERN.test(submitted)) return false;
  let ok = false;
  for (const e of expected) if (e && tokensEqual(submitted, e)) ok = true;
  return ok;
}

function cookieToken(request: Request, context: AppLoadContext): string | null {
  const value = readCookie(request.headers.get("cookie"), csrfCookieName(secureCookies(request, context)));
  return value && TOKEN_PATTERN.test(value) ? value : null;
}

/** Tokens minted in this request, so the root and page loaders render the same one. */
const minted = new WeakMap<AppLoadContext, string>();

/**
 * The token this request's forms must carry: the session's for a signed-in viewer; otherwise
 * the double-submit cookie's, minting one (and a Set-Cookie) when the browser has none.
 */
export function formToken(
  request: Request,
  context: AppLoadContext,
  viewer: Viewer | null,
): { token: string; setCookie: string | null } {
  if (viewer) return { token: viewer.csrfToken, setCookie: null };
  const existing = cookieToken(request, context);
  if (existing) return { token: existing, setCookie: null };
  let token = minted.get(context);
  if (token === undefined) {
    token = newCsrfToken();
    minted.set(context, token);
  }
  return { token, setCookie: csrfCookie(token, secureCookies(request, context)) };
}

export interface ProtectedForm {
  form: FormData;
  viewer: Viewer | null;
}

/**
 * Reads a posted form and rejects it with 403 unless its `_csrf` field matches: the session's
 * token for a signed-in viewer; with `anonymous: true` (forms used before signing in) the
 * double-submit cookie's token is accepted too.
 */
export async function protectedForm(
  request: Request,
  context: AppLoadContext,
  options: { anonymous?: boolean } = {},
): Promise<ProtectedForm> {
  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    throw data("This form could not be read.", { status: 400 });
  }
  // Postgres text cannot hold NUL: refused here, for every form, rather than as a 500 in a query.
  for (const [name, value] of form) {
    if (name.includes("\u0000") || (typeof value === "string" && value.includes("\u0000")))
      throw data("Text fields must not contain NUL (U+0000) characters.", { status: 400 });
  }
  const viewer = await getViewer(request, context);
  const expected = [viewer?.csrfToken, options.anonymous ? cookieToken(request, context) : null];
  if (!csrfMatches(form.get(CSRF_FIELD), expected)) {
    throw data("This form has expired or did not come from Marquee. Reload the page and try again.", {
      status: 403,
    });
  }
  return { form, viewer };
}
