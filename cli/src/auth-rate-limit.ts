import { AppError } from "@marquee/runtime";
import type { FastifyInstance } from "fastify";

/**
 * Form posts and API calls that create accounts or sessions, whichever UI sends them: the JSON
 * API and the storefront's Remix actions (a POST to the page's own URL).
 */
const AUTH_POSTS = new Set(["/api/v1/auth/signup", "/api/v1/auth/signin", "/signup", "/signin"]);

/**
 * A per-client (socket address) limit on sign-up and sign-in attempts, across both UIs: each
 * costs an argon2id hash (19 MiB, two passes), so an unlimited stream of them is both a
 * password-guessing tool against many addresses at once (the per-address throttle in
 * Accounts does not see those) and a cheap way to burn the server's CPU. Fixed one-minute
 * windows in memory, per process; over the limit → 429 with Retry-After. 0 turns it off.
 */
export function authRateLimit(app: FastifyInstance, perMinute: number): void {
  if (perMinute <= 0) return;
  let window = 0;
  let counts = new Map<string, number>();
  app.addHook("onRequest", async (request, reply) => {
    if (request.method !== "POST") return;
    const path = request.url.split("?")[0] ?? "";
    if (!AUTH_POSTS.has(path)) return;
    const now = Date.now();
    const current = Math.floor(now / 60_000);
    if (current !== window) {
      window = current;
      counts = new Map();
    }
    const n = (counts.get(request.ip) ?? 0) + 1;
    counts.set(request.ip, n);
    if (n > perMinute) {
      const retryAfter = Math.max(1, Math.ceil(((current + 1) * 60_000 - now) / 1000));
      reply.header("retry-after", String(retryAfter));
      throw new AppError(
        "rate_limited",
        `too many sign-in and sign-up attempts from here: try again in ${retryAfter} s`,
      );
    }
  });
}
