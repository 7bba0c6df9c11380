import { AppError, httpErrorHandler, isAppError } from "@marquee/runtime";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { ProfileInputSchema, type SignedIn, SignUpSchema, type Viewer } from "../accounts.ts";
import type { Audience } from "../catalog.ts";
import { CheckoutRequestSchema } from "../checkout.ts";
import type { Commerce } from "../commerce.ts";
import { LocalGateway } from "../payments/local-gateway.ts";
import type { offers as offersTable, promoCodes, titles } from "../schema.ts";
import { PromoInputSchema, TitleDraftSchema } from "../selling.ts";
import { ANONYMOUS, ApiRouter, type Guard } from "./api-router.ts";
import { firstHeader, refuseCrossSite } from "./cross-site.ts";
import { localCheckoutRoutes } from "./local-checkout-routes.ts";
import { openApiDocument } from "./openapi.ts";
import {
  BecomeSellerSchema,
  CardsSchema,
  CheckoutResultSchema,
  ItemsOf,
  LibraryItemSchema,
  MeSchema,
  OffersBodySchema,
  OrderSchema,
  OrderSummarySchema,
  PlaybackGrantSchema,
  ProfileSchema,
  ProgressSchema,
  PromoSchema,
  QuoteSchema,
  RefundRequestSchema,
  RefundSchema,
  RegionQuerySchema,
  RejectSchema,
  SalesReportSchema,
  SearchQuerySchema,
  SelectProfileSchema,
  SellerTitleSchema,
  SessionSchema,
  SignInSchema,
  TitlePageSchema,
  TitlesQuerySchema,
  WithdrawSchema,
} from "./schemas.ts";
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
/** Stripe's events are a few KiB; generous for the largest checkout sessions. */
const WEBHOOK_BODY_LIMIT = 512 * 1024;

export interface CommerceApiOptions {
  commerce: Commerce;
  /**
   * Where viewers reach the store, without a trailing slash: checkout return addresses,
   * poster addresses, and the session cookie's kind (https → `__Host-`, Secure). A function
   * when the address is known only once the server listens (port 0).
   */
  publicUrl: string | (() => string);
  /** Serve the local test checkout pages; default: when `commerce.gateway` is the local one. */
  localGateway?: LocalGateway;
  /** The clock Commerce runs on (cookie lifetimes follow the sessions'). */
  now?: () => Date;
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
  const local = options.localGateway ?? (commerce.gateway instanceof LocalGateway ? commerce.gateway : undefined);

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
  const api = new ApiRouter(API_PREFIX, guard);
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
  /** The token this request already carries (cookie or bearer), so sign-in replaces it. */
  const presentedToken = (request: FastifyRequest) =>
    /^Bearer +(\S{1,200}) *$/i.exec(request.headers.authorization ?? "")?.[1] ??
    readCookie(request.headers.cookie, cookie.name);

  // ─── Accounts ───────────────────────────────────────────────────────────────────────
  api.route(app, {
    method: "POST",
    path: "/auth/signup",
    operationId: "signUp",
    summary: "Create an account and sign in",
    description:
      "Passwords need 12+ characters, no composition rules. Returns a bearer token for apps and sets the session cookie for browsers.",
    tag: "accounts",
    auth: "none",
    body: SignUpSchema,
    response: { status: 201, description: "Signed in", schema: SessionSchema },
    errors: [409],
    handler: async ({ request, reply, body }) =>
      startSession(reply, await commerce.accounts.signUp(body, presentedToken(request))),
  });
  api.route(app, {
    method: "POST",
    path: "/auth/signin",
    operationId: "signIn",
    summary: "Sign in (a fresh session each time; the one presented is dropped)",
    description:
      "After 3 failures for an address each try waits longer (1 s doubling to 60 s); after 10 the address is locked for 15 minutes. Throttled tries answer 429 with Retry-After.",
    tag: "accounts",
    auth: "none",
    body: SignInSchema,
    response: { description: "Signed in", schema: SessionSchema },
    errors: [401, 429],
    handler: async ({ request, reply, body }) =>
      startSession(reply, await commerce.accounts.signIn(body, presentedToken(request))),
  });
  api.route(app, {
    method: "POST",
    path: "/auth/signout",
    operationId: "signOut",
    summary: "End the session (the bearer token or the cookie's)",
    tag: "accounts",
    auth: "viewer",
    response: { status: 204, description: "Signed out; the cookie is cleared" },
    handler: async ({ reply, auth }) => {
      if (auth.token) await commerce.accounts.signOut(auth.token);
      reply.header("set-cookie", clearSessionCookieHeader(cookie));
    },
  });
  api.route(app, {
    method: "GET",
    path: "/me",
    operationId: "me",
    summary: "The signed-in account, its current profile and all its profiles",
    tag: "accounts",
    auth: "viewer",
    response: { description: "The viewer", schema: MeSchema },
    handler: async ({ viewer }) => ({
      user: userView(viewer),
      profile: viewer.profile,
      profiles: await commerce.accounts.listProfiles(viewer.userId),
      csrf_token: viewer.csrfToken,
      session_expires_at: viewer.expiresAt.toISOString(),
    }),
  });
  api.route(app, {
    method: "POST",
    path: "/me/profiles",
    operationId: "createProfile",
    summary: "Add a profile (kids' profiles need an age limit and a purchase PIN)",
    tag: "accounts",
    auth: "viewer",
    body: ProfileInputSchema,
    response: { status: 201, description: "The new profile", schema: ProfileSchema },
    errors: [409],
    handler: ({ viewer, body }) => commerce.accounts.createProfile(viewer, body),
  });
  api.route(app, {
    method: "POST",
    path: "/me/profile",
    operationId: "selectProfile",
    summary: "Switch this session to another profile",
    description: "Leaving a kids' profile for one without its limit needs the PIN.",
    tag: "accounts",
    auth: "viewer",
    body: SelectProfileSchema,
    response: { description: "The profile now in use", schema: z.object({ profile: ProfileSchema }) },
    errors: [404],
    handler: async ({ viewer, body }) => ({
      profile: await commerce.accounts.selectProfile(viewer, body.profile_id, body.pin),
    }),
  });

  // ─── Catalogue ──────────────────────────────────────────────────────────────────────
  api.route(app, {
    method: "GET",
    path: "/titles/:id",
    operationId: "getTitle",
    summary: "One title with its offers (none outside the viewer's region)",
    tag: "catalogue",
    auth: "optional",
    query: RegionQuerySchema,
    response: { description: "The title", schema: TitlePageSchema },
    errors: [404],
    handler: async ({ viewer, query, param }) => {
      const title = await commerce.catalog.title(param("id"), audienceOf(viewer, query.region));
      if (!title) throw new AppError("not_found", "no such title");
      return withPoster(title);
    },
  });
  api.route(app, {
    method: "GET",
    path: "/titles",
    operationId: "listTitles",
    summary: "Cards for the given ids, in their order; ids not visible here are left out",
    tag: "catalogue",
    auth: "optional",
    query: TitlesQuerySchema,
    response: { description: "Cards", schema: CardsSchema },
    handler: async ({ viewer, query }) => ({
      items: (await commerce.catalog.cards(query.ids, audienceOf(viewer, query.region))).map(withPoster),
    }),
  });
  api.route(app, {
    method: "GET",
    path: "/search",
    operationId: "search",
    summary: "Search titles by name, director, cast or genre, best match first",
    tag: "catalogue",
    auth: "optional",
    query: SearchQuerySchema,
    response: { description: "Cards", schema: CardsSchema.extend({ query: z.string() }) },
    handler: async ({ viewer, query }) => ({
      query: query.q,
      items: (
        await commerce.catalog.search(query.q, { limit: query.limit, audience: audienceOf(viewer, query.region) })
      ).map(withPoster),
    }),
  });

  // ─── Library ────────────────────────────────────────────────────────────────────────
  api.route(app, {
    method: "GET",
    path: "/library",
    operationId: "library",
    summary: "What the viewer owns and rents, with playability and refund eligibility",
    tag: "library",
    auth: "viewer",
    response: { description: "Library", schema: ItemsOf(LibraryItemSchema) },
    handler: async ({ viewer }) => ({ items: await commerce.library.list(viewer) }),
  });
  api.route(app, {
    method: "GET",
    path: "/orders",
    operationId: "listOrders",
    summary: "The viewer's last 100 orders, newest first",
    tag: "library",
    auth: "viewer",
    response: { description: "Orders", schema: ItemsOf(OrderSummarySchema) },
    handler: async ({ viewer }) => ({ items: await commerce.library.orders(viewer) }),
  });
  api.route(app, {
    method: "GET",
    path: "/orders/:id",
    operationId: "getOrder",
    summary: "One of the viewer's orders (poll it after checkout: pending → paid)",
    tag: "library",
    auth: "viewer",
    response: { description: "The order", schema: OrderSchema },
    errors: [404],
    handler: ({ viewer, param }) => commerce.library.order(viewer, param("id")),
  });
  api.route(app, {
    method: "POST",
    path: "/library/:entitlementId/refund",
    operationId: "refund",
    summary: "Self-serve refund of a purchase or rental never played and under 48 hours old",
    tag: "library",
    auth: "viewer",
    body: RefundRequestSchema,
    response: { description: "Refunded", schema: RefundSchema },
    errors: [404, 409],
    handler: ({ viewer, body, param }) => commerce.library.refund(viewer, param("entitlementId"), body.reason),
  });
  api.route(app, {
    method: "POST",
    path: "/playback/:titleId",
    operationId: "authorizePlayback",
    summary: "Authorise playback now: a short-lived signed grant for the media origin",
    description:
      "Checked on the server at every call: ownership, rental windows (the first play of a rental opens its watch window), the profile's age limit.",
    tag: "library",
    auth: "viewer",
    response: { description: "Grant", schema: PlaybackGrantSchema },
    errors: [404],
    handler: ({ viewer, param }) => commerce.library.authorizePlayback(viewer, param("titleId")),
  });
  api.route(app, {
    method: "PUT",
    path: "/progress/:titleId",
    operationId: "saveProgress",
    summary: "Remember where the profile stopped watching",
    tag: "library",
    auth: "viewer",
    body: ProgressSchema,
    response: { status: 204, description: "Saved" },
    handler: ({ viewer, body, param }) =>
      commerce.library.saveProgress(viewer, param("titleId"), body.position_s, body.duration_s),
  });
  api.route(app, {
    method: "GET",
    path: "/watchlist",
    operationId: "watchlist",
    summary: "The profile's watchlist, newest first",
    tag: "library",
    auth: "viewer",
    response: { description: "Cards", schema: CardsSchema },
    handler: async ({ viewer }) => ({
      items: (await commerce.catalog.cards(await commerce.library.watchlist(viewer), audienceOf(viewer))).map(
        withPoster,
      ),
    }),
  });
  api.route(app, {
    method: "PUT",
    path: "/watchlist/:titleId",
    operationId: "addToWatchlist",
    summary: "Add a title to the profile's watchlist (idempotent)",
    tag: "library",
    auth: "viewer",
    response: { status: 204, description: "Added" },
    errors: [404],
    handler: ({ viewer, param }) => commerce.library.addToWatchlist(viewer, param("titleId")),
  });
  api.route(app, {
    method: "DELETE",
    path: "/watchlist/:titleId",
    operationId: "removeFromWatchlist",
    summary: "Remove a title from the profile's watchlist (idempotent)",
    tag: "library",
    auth: "viewer",
    response: { status: 204, description: "Removed" },
    handler: ({ viewer, param }) => commerce.library.removeFromWatchlist(viewer, param("titleId")),
  });

  // ─── Checkout ───────────────────────────────────────────────────────────────────────
  api.route(app, {
    method: "POST",
    path: "/checkout/quote",
    operationId: "quote",
    summary: "Price a cart now (sales, promo code, rent-to-own credit, upgrades) without buying",
    tag: "checkout",
    auth: "viewer",
    body: CheckoutRequestSchema,
    response: { description: "Quote", schema: QuoteSchema },
    errors: [404, 409],
    handler: ({ viewer, body }) => commerce.checkout.quote(viewer, body),
  });
  api.route(app, {
    method: "POST",
    path: "/checkout",
    operationId: "checkout",
    summary: "Create the order and its payment session; open checkout_url to pay",
    description:
      "The same cart checked out twice (concurrently or not) meets one pending order and one payment session. Titles of one seller per checkout. After paying, the browser returns to the store's order page; apps poll GET /orders/{id}.",
    tag: "checkout",
    auth: "viewer",
    body: CheckoutRequestSchema,
    response: { status: 201, description: "Order created", schema: CheckoutResultSchema },
    errors: [404, 409],
    handler: ({ viewer, body }) => {
      const first = body.items[0]?.title_id ?? "";
      return commerce.checkout.create(viewer, body, {
        successUrl: `${base()}/orders/{ORDER_ID}`,
        cancelUrl: `${base()}/titles/${encodeURIComponent(first)}`,
      });
    },
  });

  // ─── Selling ────────────────────────────────────────────────────────────────────────
  api.route(app, {
    method: "POST",
    path: "/seller",
    operationId: "becomeSeller",
    summary: "Open a seller account (idempotent)",
    tag: "seller",
    auth: "viewer",
    body: BecomeSellerSchema,
    response: { status: 201, description: "Seller account", schema: z.object({ seller_id: z.string() }) },
    handler: ({ viewer, body }) => commerce.selling.becomeSeller(viewer, body.display_name),
  });
  api.route(app, {
    method: "GET",
    path: "/seller/titles",
    operationId: "sellerTitles",
    summary: "The seller's titles, most recently changed first",
    tag: "seller",
    role: "seller",
    auth: "viewer",
    response: {
      description: "Titles",
      schema: ItemsOf(
        SellerTitleSchema.pick({
          id: true,
          title: true,
          status: true,
          year: true,
          age_rating: true,
          review_note: true,
          updated_at: true,
        }),
      ),
    },
    handler: async ({ viewer }) => ({
      items: (await commerce.selling.listTitles(viewer)).map((t) => ({ ...t, updated_at: t.updated_at.toISOString() })),
    }),
  });
  api.route(app, {
    method: "POST",
    path: "/seller/titles",
    operationId: "createSellerTitle",
    summary: "Create a draft title",
    tag: "seller",
    role: "seller",
    auth: "viewer",
    body: TitleDraftSchema,
    response: { status: 201, description: "Created", schema: z.object({ title_id: z.string() }) },
    handler: ({ viewer, body }) => commerce.selling.createTitle(viewer, body),
  });
  api.route(app, {
    method: "GET",
    path: "/seller/titles/:id",
    operationId: "getSellerTitle",
    summary: "One of the seller's titles with its offers (another seller's is 404)",
    tag: "seller",
    role: "seller",
    auth: "viewer",
    response: { description: "The title", schema: SellerTitleSchema },
    errors: [404],
    handler: async ({ viewer, param }) => sellerTitleView(await commerce.selling.getTitle(viewer, param("id"))),
  });
  api.route(app, {
    method: "PUT",
    path: "/seller/titles/:id",
    operationId: "updateSellerTitle",
    summary: "Replace a title's metadata (not while in review)",
    tag: "seller",
    role: "seller",
    auth: "viewer",
    body: TitleDraftSchema,
    response: { description: "The title", schema: SellerTitleSchema },
    errors: [404, 409],
    handler: async ({ viewer, body, param }) => {
      await commerce.selling.updateTitle(viewer, param("id"), body);
      return sellerTitleView(await commerce.selling.getTitle(viewer, param("id")));
    },
  });
  api.route(app, {
    method: "PUT",
    path: "/seller/titles/:id/offers",
    operationId: "setOffers",
    summary: "Replace a title's offers: prices, rental windows, timed sales",
    tag: "seller",
    role: "seller",
    auth: "viewer",
    body: OffersBodySchema,
    response: { description: "The title", schema: SellerTitleSchema },
    errors: [404],
    handler: async ({ viewer, body, param }) => {
      await commerce.selling.setOffers(viewer, param("id"), body.offers);
      return sellerTitleView(await commerce.selling.getTitle(viewer, param("id")));
    },
  });
  api.route(app, {
    method: "POST",
    path: "/seller/titles/:id/submit",
    operationId: "submitForReview",
    summary: "Send a draft (or withdrawn) title with at least one offer for review",
    tag: "seller",
    role: "seller",
    auth: "viewer",
    response: { description: "The title, now in review", schema: SellerTitleSchema },
    errors: [404, 409],
    handler: async ({ viewer, param }) => {
      await commerce.selling.submitForReview(viewer, param("id"));
      return sellerTitleView(await commerce.selling.getTitle(viewer, param("id")));
    },
  });
  api.route(app, {
    method: "GET",
    path: "/seller/promos",
    operationId: "listPromos",
    summary: "The seller's promo codes",
    tag: "seller",
    role: "seller",
    auth: "viewer",
    response: { description: "Promo codes", schema: ItemsOf(PromoSchema) },
    handler: async ({ viewer }) => ({ items: (await commerce.selling.listPromos(viewer)).map(promoView) }),
  });
  api.route(app, {
    method: "POST",
    path: "/seller/promos",
    operationId: "createPromo",
    summary: "Create a promo code (% or amount off; buy, rent or both; limits and dates)",
    tag: "seller",
    role: "seller",
    auth: "viewer",
    body: PromoInputSchema,
    response: { status: 201, description: "Created", schema: z.object({ promo_id: z.string(), code: z.string() }) },
    errors: [404, 409],
    handler: ({ viewer, body }) => commerce.selling.createPromo(viewer, body),
  });
  api.route(app, {
    method: "GET",
    path: "/seller/sales",
    operationId: "salesReport",
    summary: "Gross, platform fee, refunds and net from the seller's ledger, overall and per title",
    tag: "seller",
    role: "seller",
    auth: "viewer",
    response: { description: "Report", schema: SalesReportSchema },
    handler: ({ viewer }) => commerce.selling.salesReport(viewer),
  });
  api.route(app, {
    method: "POST",
    path: "/seller/onboarding",
    operationId: "onboardingLink",
    summary: "A Stripe Connect onboarding link (to get paid); open it in a browser",
    tag: "seller",
    role: "seller",
    auth: "viewer",
    response: { description: "Link", schema: z.object({ url: z.string() }) },
    handler: ({ viewer }) =>
      commerce.selling.onboardingLink(viewer, {
        refreshUrl: `${base()}/seller?onboarding=retry`,
        returnUrl: `${base()}/seller?onboarding=done`,
      }),
  });
  api.route(app, {
    method: "GET",
    path: "/seller/account",
    operationId: "sellerAccount",
    summary: "The seller's payment account, re-read from Stripe",
    tag: "seller",
    role: "seller",
    auth: "viewer",
    response: {
      description: "Account",
      schema: z.object({ onboarded: z.boolean(), charges_enabled: z.boolean(), payouts_enabled: z.boolean() }),
    },
    handler: ({ viewer }) => commerce.selling.refreshAccount(viewer),
  });
  api.route(app, {
    method: "GET",
    path: "/seller/payouts",
    operationId: "payouts",
    summary: "Recent payouts to the seller's bank",
    tag: "seller",
    role: "seller",
    auth: "viewer",
    response: {
      description: "Payouts",
      schema: ItemsOf(
        z.object({
          id: z.string(),
          amount_minor: z.number().int(),
          currency: z.string(),
          status: z.string(),
          arrival_date: z.string(),
        }),
      ),
    },
    handler: async ({ viewer }) => ({ items: await commerce.selling.payouts(viewer) }),
  });

  // ─── Admin ──────────────────────────────────────────────────────────────────────────
  api.route(app, {
    method: "GET",
    path: "/admin/review",
    operationId: "reviewQueue",
    summary: "Titles waiting for review, oldest first",
    tag: "admin",
    role: "admin",
    auth: "viewer",
    response: {
      description: "Queue",
      schema: ItemsOf(
        z.object({
          id: z.string(),
          title: z.string(),
          seller: z.string(),
          age_rating: z.string(),
          submitted_at: z.string().nullable(),
        }),
      ),
    },
    handler: async ({ viewer }) => ({
      items: (await commerce.selling.reviewQueue(viewer)).map((t) => ({
        ...t,
        submitted_at: t.submitted_at?.toISOString() ?? null,
      })),
    }),
  });
  const decided = z.object({ title_id: z.string(), status: z.string() });
  api.route(app, {
    method: "POST",
    path: "/admin/titles/:id/approve",
    operationId: "approveTitle",
    summary: "Publish a title in review",
    tag: "admin",
    role: "admin",
    auth: "viewer",
    response: { description: "Published", schema: decided },
    errors: [404, 409],
    handler: async ({ viewer, param }) => {
      await commerce.selling.approve(viewer, param("id"));
      return { title_id: param("id"), status: "published" };
    },
  });
  api.route(app, {
    method: "POST",
    path: "/admin/titles/:id/reject",
    operationId: "rejectTitle",
    summary: "Send a title in review back to its seller as a draft, with a note",
    tag: "admin",
    role: "admin",
    auth: "viewer",
    body: RejectSchema,
    response: { description: "Back to draft", schema: decided },
    errors: [404, 409],
    handler: async ({ viewer, body, param }) => {
      await commerce.selling.reject(viewer, param("id"), body.note);
      return { title_id: param("id"), status: "draft" };
    },
  });
  api.route(app, {
    method: "POST",
    path: "/admin/titles/:id/withdraw",
    operationId: "withdrawTitle",
    summary: "Take a published title off sale (buyers keep what they bought)",
    tag: "admin",
    role: "admin",
    auth: "viewer",
    body: WithdrawSchema,
    response: { description: "Withdrawn", schema: decided },
    errors: [404, 409],
    handler: async ({ viewer, body, param }) => {
      await commerce.selling.withdraw(viewer, param("id"), body.note ?? "");
      return { title_id: param("id"), status: "withdrawn" };
    },
  });

  // ─── Stripe webhook: the signature covers the raw bytes, so this scope never parses them ──
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) =>
      done(null, body),
    );
    api.route(scope, {
      method: "POST",
      path: "/webhooks/stripe",
      operationId: "stripeWebhook",
      summary: "Stripe's event deliveries (checkout completed or expired, …)",
      description:
        "Verified on the raw body with the endpoint's signing secret; a bad signature answers 400 and changes nothing. A repeated or out-of-order event changes nothing either.",
      tag: "payments",
      auth: "none",
      rawBody: true,
      response: {
        description: "Received",
        schema: z.object({ received: z.literal(true), result: z.string() }),
      },
      handler: async ({ request, body }) => {
        const raw = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
        const outcome = await commerce.fulfilment.handleWebhook(raw, firstHeader(request.headers["stripe-signature"]));
        request.log.info({ outcome }, "stripe webhook handled");
        return { received: true, result: outcome.result };
      },
    });
  });

  api.route(app, {
    method: "GET",
    path: "/openapi.json",
    operationId: "openApi",
    summary: "This document",
    tag: "meta",
    auth: "none",
    response: { description: "OpenAPI 3.1" },
    handler: async ({ reply }) => {
      reply.header("cache-control", "public, max-age=300");
      return openApiDocument(api.specs, { prefix: API_PREFIX, serverUrl: base(), cookieName: cookie.name });
    },
  });

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

function userView(v: Viewer) {
  return {
    id: v.userId,
    email: v.email,
    display_name: v.displayName,
    roles: v.roles,
    region: v.region,
    seller_id: v.sellerId,
  };
}

function sellerTitleView(t: typeof titles.$inferSelect & { offers: (typeof offersTable.$inferSelect)[] }) {
  return {
    id: t.id,
    title: t.title,
    status: t.status,
    year: t.year,
    genres: t.genres,
    runtime_min: t.runtimeMin,
    age_rating: t.ageRating,
    synopsis: t.synopsis,
    cast: t.cast,
    director: t.director,
    regions: t.regions,
    release_date: t.releaseDate,
    review_note: t.reviewNote,
    submitted_at: t.submittedAt?.toISOString() ?? null,
    updated_at: t.updatedAt.toISOString(),
    offers: t.offers.map((o) => ({
      kind: o.kind,
      quality: o.quality,
      price_minor: o.priceMinor,
      currency: o.currency,
      rent_start_window_days: o.rentStartWindowDays,
      rent_watch_window_hours: o.rentWatchWindowHours,
      sale_price_minor: o.salePriceMinor,
      sale_starts_at: o.saleStartsAt?.toISOString() ?? null,
      sale_ends_at: o.saleEndsAt?.toISOString() ?? null,
    })),
  };
}

function promoView(p: typeof promoCodes.$inferSelect) {
  return {
    id: p.id,
    code: p.code,
    percent_off: p.percentOff,
    amount_off_minor: p.amountOffMinor,
    currency: p.currency,
    applies_to: p.appliesTo,
    title_id: p.titleId,
    max_redemptions: p.maxRedemptions,
    redemptions: p.redemptions,
    starts_at: p.startsAt?.toISOString() ?? null,
    ends_at: p.endsAt?.toISOString() ?? null,
    created_at: p.createdAt.toISOString(),
  };
}
