import type { StorefrontServices } from "../context";

/**
 * The security headers of the storefront's responses.
 *
 * Pages get a Content-Security-Policy whose scripts are this response's nonce (Remix's inline
 * hydration data, route imports and scroll restoration carry it) or files from the store's own
 * origin: Remix preloads its hashed modules with `<link rel="modulepreload">`, which carries no
 * nonce, so `'self'` is kept rather than `'strict-dynamic'` (which would refuse those preloads).
 * Styles are the stylesheet Remix links, never inline. No page may be framed (clickjacking).
 */

/** A fresh per-response nonce: 128 random bits, base64. */
export function newNonce(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
}

/** The origin of an absolute URL (a collector or a media edge elsewhere); null for the store's own paths. */
function originOf(url: string | undefined): string | null {
  if (!url || !/^https?:\/\//i.test(url)) return null;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

export function contentSecurityPolicy(
  nonce: string,
  services: Pick<StorefrontServices, "eventsUrl"> & { media?: Pick<StorefrontServices["media"], "origin"> },
): string {
  const collector = originOf(services.eventsUrl);
  // Playlists, keys and segments (fetched by the player), sprites and posters from a media edge.
  const edge = originOf(services.media?.origin);
  const also = (o: string | null) => (o ? ` ${o}` : "");
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self'",
    `img-src 'self' data:${also(edge)}`,
    // video.js's icon font is a data: URL inside its stylesheet.
    "font-src 'self' data:",
    `connect-src 'self'${also(collector)}${also(edge === collector ? null : edge)}`,
    // The player: MSE streams are blob: URLs, and VHS transmuxes in workers built from blob: code.
    `media-src 'self' blob:${also(edge)}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Headers every response of the storefront carries (pages, data requests, resources). */
export function setBaseSecurityHeaders(headers: Headers, services: Pick<StorefrontServices, "publicUrl">): void {
  headers.set("X-Content-Type-Options", "nosniff");
  headers.set("Referrer-Policy", "strict-origin-when-cross-origin");
  // Only a store served over https (PUBLIC_URL) pins it: plain-http local dev must stay reachable.
  if (services.publicUrl?.startsWith("https://"))
    headers.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
}

/** A page's headers: the base ones, its CSP with `nonce`, and no framing for older browsers too. */
export function setDocumentSecurityHeaders(
  headers: Headers,
  nonce: string,
  services: Pick<StorefrontServices, "publicUrl" | "eventsUrl"> & {
    media?: Pick<StorefrontServices["media"], "origin">;
  },
): void {
  setBaseSecurityHeaders(headers, services);
  headers.set("Content-Security-Policy", contentSecurityPolicy(nonce, services));
  headers.set("X-Frame-Options", "DENY");
}
