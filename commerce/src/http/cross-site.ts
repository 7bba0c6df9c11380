import { AppError } from "@marquee/runtime";
import type { FastifyRequest } from "fastify";

export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** `https://store.example.com/x` → `https://store.example.com`; null when not a URL. */
export function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/**
 * Browsers send Origin on cross-site POSTs: one naming another site is refused, which also
 * stops a forged sign-in form (login CSRF) and a forged Pay press. Only the host is compared:
 * behind a TLS proxy the scheme seen here is not the browser's. Apps send no Origin.
 */
export function refuseCrossSite(request: FastifyRequest, publicUrl: string): void {
  const origin = firstHeader(request.headers.origin);
  if (origin === undefined) return;
  const host = hostOf(origin);
  const allowed = [request.headers.host, hostOf(publicUrl)].filter(Boolean);
  if (!host || !allowed.includes(host))
    throw new AppError("forbidden", `cross-site request refused (Origin ${origin.slice(0, 100)})`);
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).host || null;
  } catch {
    return null;
  }
}
