import { AppError, httpErrorHandler, isAppError } from "@marquee/runtime";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { SignedIn, Viewer } from "../accounts.ts";
import type { Audience } from "../catalog.ts";
import type { Commerce } from "../commerce.ts";
import type { LocalCheckoutPages } from "../payments/gateway.ts";
import { userView } from "../views.ts";
import { ANONYMOUS, ApiRouter, type Guard } from "./api-router.ts";
import { firstHeader, refuseCrossSite } from "./cross-site.ts";
import { localCheckoutRoutes } from "./local-checkout-routes.ts";
import type { RouteContext, RouteModule } from "./route-context.ts";
import { adminRoutes } from "./routes/admin.ts";
import { authRoutes } from "./routes/auth.ts";
import { checkoutRoutes } from "./routes/checkout.ts";
import { libraryRoutes } from "./routes/library.ts";
import { meRoutes } from "./routes/me.ts";
import { openApiRoutes } from "./routes/openapi.ts";
import { playbackRoutes } from "./routes/playback.ts";
import { sellerRoutes } from "./routes/seller.ts";
import { titleRoutes } from "./routes/titles.ts";
import { watchlistRoutes } from "./routes/watchlist.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import {
  clearSessionCookieHeader,
  readCookie,
  sameSecret,
  sessionCookieFor,
  sessionCookieHeader,
} from "./session-cookie.ts";

export const API_PREFIX = "/api/v1";

/** Form posts are small (a CSRF token and a few fields); JSON bodies keep Fastify's 1 MiB. */
const FORM_BODY_LIMIT = 64 * 1024;

/** Every resource's routes, in the order the OpenAPI document lists them. */
const ROUTE_MODULES: readonly RouteModule[] = [
  authRoutes,
  meRoutes,
  titleRoutes,
  libraryRoutes,
  playbackRoutes,
  watchlistRoutes,
  checkoutRoutes,
  sellerRoutes,
  adminRoutes,
  webhookRoutes,
  openApiRoutes,
];

export interface CommerceApiOptions {
  commerce: Commerce;
  /**
   * Where viewers reach the store, without a trailing slash: checkout return addresses,
   * poster addresses, and the session cookie's kind (https → `__Host-`, Secure). A function
   * when the address is known only once the server listens (port 0).
   */
  publicUrl: string | (() => string);
  /** Serve the local test checkout pages; default: when `commerce.gateway` has them (`localCheckout`). */
  localGateway?: LocalCheckoutPages;
  /** The clock Commerce runs on (cookie lifetimes follow the sessions'). */
  now?: () => Date;
  /**
   * Check every JSON answer against its route's response schema and answer 500 when one does
   * not match (on in tests, so a view that drifts from the document fails there).
   */
  validateResponses?: boolean;
}

/**
 * `/api/v1`: the store for mobile and TV apps and other clients (JSON), plus the Stripe webhook
 * and, without Stripe keys, the local test checkout pages. Thin routes over `Commerce`: every
 * rule (roles, ownership, age limits, prices) is decided there; here are credentials, CSRF,
 * input validation and the OpenAPI document, generated from the same route table.
 */
export async function commerceApiRoutes(app: FastifyInstance, options: CommerceApiOptions): Promise<void> {
  const { commerce } = options;
  const now = options.now ?? (() => new Date());
  const configured = options.publicUrl;
  const publicUrl = typeof configured === "function" ? configured : () => configured;
  const cookie = sessionCookieFor(publicUrl());
  // A provider without a hosted page of its own (the local test checkout) says so.
  const local = options.localGateway ?? commerce.gateway.localCheckout;

  app.setErrorHandler(apiErrorHandler);
  // An empty JSON body (a bodiless POST from a client that always sends the header) is no body.
  const json = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if ((body as string).trim() === "") return done(null, undefined);
    return json(request, body as string, done);
  });
  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string", bodyLimit: FORM_BODY_LIMIT },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  app.addHook("onSend", async (_request, reply, payload) => {
    if (!reply.hasHeader("cache-control")) reply.header("cache-control", "private, no-store");
    return payload;
  });

  const guard: Guard = {
    async authenticate(request, reply) {
      const header = request.headers.authorization;
      if (header !== undefined) {
        const token = /^Bearer +([A-Za-z0-9._~+/=-]{1,200}) *$/i.exec(header)?.[1];
        if (!token) throw new AppError("unauthorized", "Authorization must be `Bearer <token>`");
        const viewer = await commerce.accounts.authenticate(token);
        if (!viewer) throw new AppError("unauthorized", "the token is unknown or expired: sign in again");
        return { viewer, token, via: "bearer" };
      }
      const token = readCookie(request.headers.cookie, cookie.name);
      if (!token) return ANONYMOUS;
      const viewer = await commerce.accounts.authenticate(token);
      if (!viewer) {
        // Never serve a stale session as anonymous (a kids' profile would lose its limit): 401,
        // and drop the cookie so the next request is a clean anonymous one.
        reply.header("set-cookie", clearSessionCookieHeader(cookie));
        throw new AppError("unauthorized", "the session has expired: sign in again");
      }
      return { viewer, token, via: "cookie" };
    },
    checkUnsafe(request, auth) {
      // A bearer token is never sent by a browser on its own: no ambient credential, no CSRF.
      if (auth.via === "bearer") return;
      refuseCrossSite(request, publicUrl());
      if (auth.via === "cookie" && auth.viewer) {
        const sent = firstHeader(request.headers["x-csrf-token"]) ?? formField(request.body, "_csrf");
        if (!sent)
          throw new AppError(
            "forbidden",
            "CSRF token missing: a request signed in by cookie must send the session's csrf_token in the x-csrf-token header or the _csrf form field",
          );
        if (!sameSecret(sent, auth.viewer.csrfToken))
          throw new AppError("forbidden", "CSRF token does not match this session: reload and try again");
      }
    },
  };
  const api = new ApiRouter(API_PREFIX, guard, { validateResponses: options.validateResponses ?? false });
  const base = () => publicUrl();
  const posterUrl = (id: string) => `${base()}/posters/${encodeURIComponent(id)}.svg`;
  const withPoster = <T extends { id: string }>(c: T) => ({ ...c, poster_url: posterUrl(c.id) });
  const audienceOf = (viewer: Viewer | null, region?: string): Audience =>
    viewer
      ? { maxAgeRating: viewer.profile.max_age_rating, region: viewer.region }
      : { maxAgeRating: null, region: region ?? "US" };
  const startSession = (reply: FastifyReply, signed: SignedIn) => {
    reply.header("set-cookie", sessionCookieHeader(cookie, signed.token, signed.viewer.expiresAt, now()));
    return {
      token: signed.token,
      token_type: "Bearer" as const,
      csrf_token: signed.viewer.csrfToken,
      expires_at: signed.viewer.expiresAt.toISOString(),
      user: userView(signed.viewer),
      profile: signed.viewer.profile,
    };
  };
  const presentedToken = (request: FastifyRequest) =>
    /^Bearer +(\S{1,200}) *$/i.exec(request.headers.authorization ?? "")?.[1] ??
    readCookie(request.headers.cookie, cookie.name);

  const ctx: RouteContext = {
    app,
    api,
    commerce,
    cookie,
    now,
    base,
    withPoster,
    audienceOf,
    startSession,
    presentedToken,
  };
  for (const register of ROUTE_MODULES) await register(ctx);

  // Anything else under the prefix is a JSON 404 for the app, not the storefront's HTML page.
  app.all(`${API_PREFIX}/*`, async () => {
    throw new AppError("not_found", `no such API route; see ${API_PREFIX}/openapi.json`);
  });

  if (local) await app.register(localCheckoutRoutes, { gateway: local, publicUrl });
}

/** The shared error handler, plus the headers a client needs to act on some errors. */
function apiErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  if (isAppError(error)) {
    const retryAfter = error.details?.retryAfterSeconds;
    if (error.code === "rate_limited" && typeof retryAfter === "number")
      reply.header("retry-after", String(Math.max(1, Math.ceil(retryAfter))));
    if (error.code === "unauthorized") reply.header("www-authenticate", 'Bearer realm="marquee"');
  }
  return httpErrorHandler(error, request, reply);
}

function formField(body: unknown, name: string): string | undefined {
  if (typeof body !== "object" || body === null || Buffer.isBuffer(body)) return undefined;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === "string" && v.length > 0 ? v : undefined;
}
