import { once } from "node:events";
import rateLimit from "@fastify/rate-limit";
import { AppError } from "@marquee/runtime";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { Redis } from "ioredis";
import { type AccessOptions, type ApiKeyVerifier, type Caller, identify } from "./access.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** Who is asking, as `clientAccess` identified them (null before its hook, or without it). */
    servingCaller: Caller | null;
  }
}

/** Per minute, per address (anonymous) or per account (a viewer's session), unless told otherwise. */
export const DEFAULT_OPEN_RATE_LIMIT = 600;

export interface ClientAccessOptions extends AccessOptions {
  /** The client keys (ApiKeyCache): verified in memory, and asked which origins some key allows. */
  keys: ApiKeyVerifier & { allowsOrigin(origin: string): boolean };
  /**
   * Share the rate-limit counters of every replica through this Redis (REDIS_URL); unset:
   * each process counts on its own, in memory.
   */
  redisUrl?: string | undefined;
  /** Prefix of the counters' Redis keys (tests and environments sharing one server). */
  redisPrefix?: string;
  /**
   * Requests per minute of callers without a key: an anonymous caller per address, a signed-in
   * viewer per account (many viewers share an address behind a carrier's NAT). 0: no limit.
   */
  openRateLimitPerMinute?: number;
}

/** Headers a browser page may read from a cross-origin answer, and send in its request. */
const EXPOSED = "retry-after, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset";
const ALLOWED_HEADERS = "x-api-key, authorization, content-type";

function corsHeaders(reply: FastifyReply, origin: string): void {
  reply.header("access-control-allow-origin", origin).header("access-control-expose-headers", EXPOSED);
}

/**
 * Access for other clients, as one plugin registered in the same scope as (and before) the
 * serving routes: `await scope.register(clientAccess, { keys, apiKey, authenticate, redisUrl })`.
 * Within that scope only (the store's other routes are untouched):
 *  - identifies every request once (`request.servingCaller`; `callerOf` reads it): the server
 *    key, a client key (401 unknown, 403 revoked), a viewer's session, or nobody;
 *  - CORS per key: a client key's request whose Origin the key does not list is refused (403);
 *    CORS headers go only to origins some active key lists; preflights (which carry no key)
 *    are answered for those origins and refused for others;
 *  - rate limits: each key its own per-minute limit, callers without a key
 *    `openRateLimitPerMinute` (per address, or per account when signed in), the server key
 *    none; 429 with Retry-After and `{"error":{"code":"rate_limited",…}}`; counted in Redis
 *    across replicas when `redisUrl` is set (a Redis outage lets requests through rather than
 *    failing them: the limit protects serving, it is not what keeps data private).
 * Scopes are checked where the route knows what it reads: `authorizeActor`, `authorizeCatalog`.
 */
export const clientAccess = fp(
  async (app: FastifyInstance, options: ClientAccessOptions) => {
    app.decorateRequest("servingCaller", null);

    // Every route of the scope answers its preflight (registered beside it, so other scopes'
    // OPTIONS routes, such as the collector's CORS, are not shadowed).
    const withPreflight = new Set<string>();
    app.addHook("onRoute", (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      if (methods.includes("OPTIONS") || withPreflight.has(route.url)) return;
      withPreflight.add(route.url);
      app.options(route.url, { schema: { hide: true }, config: { rateLimit: false } }, preflight);
    });

    async function preflight(request: FastifyRequest, reply: FastifyReply) {
      const origin = request.headers.origin;
      if (origin === undefined) return reply.code(204).send();
      if (!options.keys.allowsOrigin(origin))
        throw new AppError("forbidden", `the origin ${origin} is not allowed by any API key of this serving API`);
      corsHeaders(reply, origin);
      return reply
        .code(204)
        .header("access-control-allow-methods", "GET, POST")
        .header("access-control-allow-headers", ALLOWED_HEADERS)
        .header("access-control-max-age", "600")
        .header("vary", "origin")
        .send();
    }

    app.addHook("onRequest", async (request, reply) => {
      const origin = request.headers.origin;
      if (origin !== undefined) {
        reply.header("vary", "origin");
        // Before identifying, so a browser can read a refusal (401, 403, 429) too.
        if (options.keys.allowsOrigin(origin)) corsHeaders(reply, origin);
      }
      if (request.method === "OPTIONS") return;
      const caller = await identify(request.headers, options);
      request.servingCaller = caller;
      if (caller.kind === "client" && origin !== undefined && !caller.corsOrigins.includes(origin))
        throw new AppError("forbidden", `this API key may not be used from pages of ${origin}`);
    });

    const open = options.openRateLimitPerMinute ?? DEFAULT_OPEN_RATE_LIMIT;
    // No offline queue and a short command timeout: with Redis away a request is let through at
    // once (skipOnError) instead of waiting for a reconnection.
    const redis = options.redisUrl
      ? new Redis(options.redisUrl, {
          maxRetriesPerRequest: 1,
          connectTimeout: 2_000,
          commandTimeout: 250,
          enableOfflineQueue: false,
          enableAutoPipelining: true,
        })
      : null;
    if (redis) {
      // Said once per outage, not once per reconnection attempt.
      let down = false;
      redis.on("ready", () => {
        down = false;
      });
      redis.on("error", (err) => {
        if (down) return;
        down = true;
        app.log.warn({ err }, "rate-limit Redis unavailable; requests are not limited until it is back");
      });
      // Count from the first request: wait (briefly) for the connection before listening.
      app.addHook("onReady", async () => {
        if (redis.status === "ready") return;
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          once(redis, "ready").catch(() => undefined),
          new Promise((resolve) => {
            timer = setTimeout(resolve, 2_000);
          }),
        ]);
        clearTimeout(timer);
      });
      app.addHook("onClose", async () => {
        await redis.quit().catch(() => redis.disconnect());
      });
    }
    // Whose counter a request counts on, and its limit; null: not limited.
    const who = (request: FastifyRequest): { key: string; max: number } | null => {
      const caller = request.servingCaller;
      if (!caller || caller.kind === "server") return null;
      if (caller.kind === "client") return { key: `key:${caller.keyId}`, max: caller.rateLimitPerMinute };
      if (open <= 0) return null;
      const account = caller.kind === "viewer" ? caller.grant.actorIds[0] : undefined;
      return { key: account ? `viewer:${account}` : `ip:${request.ip}`, max: open };
    };
    await app.register(rateLimit, {
      global: true,
      // Route-level onRequest hooks run after the scope's, so the caller is known here.
      hook: "onRequest",
      timeWindow: 60_000,
      ...(redis
        ? { redis, nameSpace: options.redisPrefix ?? "marquee:serving:rate:", skipOnError: true }
        : { cache: 100_000 }),
      allowList: (request) => who(request) === null,
      keyGenerator: (request) => who(request)?.key ?? `ip:${request.ip}`,
      max: (request) => who(request)?.max ?? open,
      errorResponseBuilder: (request, context) => {
        const caller = request.servingCaller;
        const whom =
          caller?.kind === "client"
            ? "for this API key"
            : caller?.kind === "viewer"
              ? "for one account"
              : "from one address";
        return new AppError(
          "rate_limited",
          `too many requests: at most ${context.max} a minute ${whom}; retry in ${context.after}`,
        );
      },
    });
  },
  { name: "marquee-serving-client-access", fastify: "5.x" },
);

/**
 * The caller of a request: the one `clientAccess` identified, else identified now (routes
 * mounted without the plugin, such as tests of the routes alone).
 */
export async function callerOf(request: FastifyRequest, options: AccessOptions): Promise<Caller> {
  return request.servingCaller ?? identify(request.headers, options);
}
