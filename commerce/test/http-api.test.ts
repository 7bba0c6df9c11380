import { httpErrorHandler, toErrorResponse } from "@marquee/runtime";
import { serviceSuite } from "@marquee/runtime/testing";
import { and, eq, sql } from "drizzle-orm";
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { DELAY_AFTER } from "../src/accounts.ts";
import type { Commerce } from "../src/commerce.ts";
import { commerceApiRoutes } from "../src/http/api.ts";
import { ANONYMOUS, ApiRouter } from "../src/http/api-router.ts";
import { openApiPath } from "../src/http/openapi.ts";
import type { LocalGateway } from "../src/payments/local-gateway.ts";
import { entitlements, localCheckoutSessions } from "../src/schema.ts";
import { addTitles, type Db, film, localStore, openPglite, openPostgres, TestClock } from "./support.ts";

const BASE = "http://store.test";
const PASSWORD = "correct horse battery";

interface Api {
  app: FastifyInstance;
  commerce: Commerce;
  gateway: LocalGateway;
  /** `METHOD /url` of every route Fastify registered. */
  routes: string[];
}

/**
 * The API as cli/src/app.ts mounts it: the shared error handler at the root, the plugin below;
 * every JSON answer is checked against its route's response schema (a mismatch is a 500).
 */
async function buildApi(pg: Db, clock: TestClock): Promise<Api> {
  const { commerce, gateway } = localStore(pg, clock);
  const app = Fastify({ logger: false });
  app.setErrorHandler(httpErrorHandler);
  const routes: string[] = [];
  app.addHook("onRoute", (r) => {
    for (const m of [r.method].flat()) routes.push(`${m} ${r.url}`);
  });
  await app.register(commerceApiRoutes, { commerce, publicUrl: BASE, now: clock.now, validateResponses: true });
  await app.ready();
  return { app, commerce, gateway: gateway as LocalGateway, routes };
}

let n = 0;
const email = (name: string) => `${name}-${++n}-${Date.now().toString(36)}@example.com`;

interface Session {
  token: string;
  csrf: string;
  cookie: string;
  userId: string;
}

async function signUp(app: FastifyInstance, name: string): Promise<Session> {
  const res = await app.inject({
    method: "POST",
    url: "/api/v1/auth/signup",
    payload: { email: email(name), password: PASSWORD },
  });
  expect(res.statusCode, res.body).toBe(201);
  const body = res.json();
  return { token: body.token, csrf: body.csrf_token, cookie: cookieValue(res), userId: body.user.id };
}

function cookieValue(res: LightMyRequestResponse): string {
  const header = [res.headers["set-cookie"] ?? []].flat().find((c) => String(c).startsWith("mq_session="));
  return decodeURIComponent(String(header).split(";")[0]?.split("=")[1] ?? "");
}

const bearer = (s: Session) => ({ authorization: `Bearer ${s.token}` });

/** Check out one title with a bearer token and pay on the local page; returns the order id. */
async function buyAndPay(api: Api, s: Session, titleId: string, extra: Record<string, unknown> = {}) {
  const co = await api.app.inject({
    method: "POST",
    url: "/api/v1/checkout",
    headers: bearer(s),
    payload: { items: [{ title_id: titleId, kind: "buy", quality: "HD" }], ...extra },
  });
  expect(co.statusCode, co.body).toBe(201);
  const sessionId = new URL(co.json().checkout_url).pathname.split("/").pop() as string;
  const paid = await api.app.inject({
    method: "POST",
    url: `/checkout/local/${sessionId}/pay`,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    payload: "",
  });
  expect(paid.statusCode, paid.body).toBe(303);
  return co.json().order_id as string;
}

/** Sign up → sign in → checkout → local pay page → webhook → library → playback, all over HTTP. */
function purchaseOverHttp(open: () => Promise<{ pg: Db; drop: () => Promise<void> }>) {
  let env: Awaited<ReturnType<typeof openPglite>>;
  let api: Api;
  const clock = new TestClock();
  beforeAll(async () => {
    env = await open();
    await addTitles(env.pg, [film("h1", { title: `Rock & <Roll> "Live"` }), film("h2")]);
    api = await buildApi(env.pg, clock);
  });
  afterAll(async () => {
    await api?.app.close();
    await env?.drop();
  });

  it("signs up, signs in, pays on the local page and plays what it bought", async () => {
    const { app } = api;
    const address = email("buyer");
    const up = await app.inject({
      method: "POST",
      url: "/api/v1/auth/signup",
      payload: { email: address, password: PASSWORD, display_name: "Buyer" },
    });
    expect(up.statusCode, up.body).toBe(201);
    expect(up.json()).toMatchObject({ token_type: "Bearer", user: { email: address, roles: ["viewer"] } });
    // Plain-http local dev: the cookie without the __Host- prefix and without Secure.
    const setCookie = String(up.headers["set-cookie"]);
    expect(setCookie).toMatch(/^mq_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=2592000; Expires=/);
    expect(setCookie).not.toMatch(/Secure/);

    const wrong = await app.inject({
      method: "POST",
      url: "/api/v1/auth/signin",
      payload: { email: address, password: "not the password" },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe("unauthorized");

    // Signing in while presenting the old token rotates it: the old one stops working.
    const oldToken = up.json().token as string;
    const inRes = await app.inject({
      method: "POST",
      url: "/api/v1/auth/signin",
      headers: { authorization: `Bearer ${oldToken}` },
      payload: { email: address, password: PASSWORD },
    });
    expect(inRes.statusCode, inRes.body).toBe(200);
    const token = inRes.json().token as string;
    expect(token).not.toBe(oldToken);
    expect((await app.inject({ url: "/api/v1/me", headers: { authorization: `Bearer ${oldToken}` } })).statusCode).toBe(
      401,
    );
    const auth = { authorization: `Bearer ${token}` };
    const me = await app.inject({ url: "/api/v1/me", headers: auth });
    expect(me.json()).toMatchObject({ user: { email: address }, profiles: [{ kind: "standard" }] });

    const quote = await app.inject({
      method: "POST",
      url: "/api/v1/checkout/quote",
      headers: auth,
      payload: { items: [{ title_id: "h1", kind: "buy", quality: "HD" }] },
    });
    expect(quote.json()).toMatchObject({ total_minor: 1499, currency: "USD" });

    const co = await app.inject({
      method: "POST",
      url: "/api/v1/checkout",
      headers: auth,
      payload: { items: [{ title_id: "h1", kind: "buy", quality: "HD" }] },
    });
    expect(co.statusCode, co.body).toBe(201);
    const order = co.json();
    expect(order).toMatchObject({ status: "pending", total_minor: 1499 });
    expect(order.checkout_url).toMatch(/^http:\/\/store\.test\/checkout\/local\/cs_local_[a-z0-9]+$/);
    const path = new URL(order.checkout_url).pathname;

    // The stand-in for Stripe's page: escaped, marked as test mode, no scripts.
    const page = await app.inject({ url: path });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page.body).toContain("TEST MODE");
    expect(page.body).toContain("Rock &amp; &lt;Roll&gt; &quot;Live&quot;");
    expect(page.body).not.toContain("<Roll>");
    expect(page.body).toContain("$14.99");
    expect(page.body).toContain(`action="${path}/pay"`);

    const paid = await app.inject({
      method: "POST",
      url: `${path}/pay`,
      headers: { "content-type": "application/x-www-form-urlencoded", origin: BASE },
      payload: "",
    });
    expect(paid.statusCode).toBe(303);
    expect(paid.headers.location).toBe(`${BASE}/orders/${order.order_id}`);
    // Pressing Pay again (a double click) grants nothing more.
    expect((await app.inject({ method: "POST", url: `${path}/pay` })).statusCode).toBe(303);

    const after = await app.inject({ url: `/api/v1/orders/${order.order_id}`, headers: auth });
    expect(after.json()).toMatchObject({ status: "paid", checkout_url: null });
    expect((await app.inject({ url: path })).body).toContain("already paid");
    const orders = await app.inject({ url: "/api/v1/orders", headers: auth });
    expect(orders.json().items.map((o: { order_id: string }) => o.order_id)).toEqual([order.order_id]);

    const library = await app.inject({ url: "/api/v1/library", headers: auth });
    expect(library.json().items).toMatchObject([
      { title_id: "h1", kind: "own", quality: "HD", playable: true, refundable: true },
    ]);

    const play = await app.inject({ method: "POST", url: "/api/v1/playback/h1", headers: auth });
    expect(play.statusCode, play.body).toBe(200);
    expect(play.json()).toMatchObject({ title_id: "h1", kind: "own", quality: "HD", resume_at_s: 0 });
    expect(api.commerce.library.verifyGrant(play.json().token)?.entitlementId).toBe(play.json().entitlement_id);
    expect((await app.inject({ method: "POST", url: "/api/v1/playback/h2", headers: auth })).statusCode).toBe(403);

    const progress = await app.inject({
      method: "PUT",
      url: "/api/v1/progress/h1",
      headers: auth,
      payload: { position_s: 120 },
    });
    expect(progress.statusCode, progress.body).toBe(204);
    expect((await app.inject({ url: "/api/v1/library", headers: auth })).json().items[0]).toMatchObject({
      position_s: 120,
      refundable: false,
    });
    // Played: the self-serve refund is refused, with the reason.
    const refund = await app.inject({
      method: "POST",
      url: `/api/v1/library/${play.json().entitlement_id}/refund`,
      headers: auth,
      payload: {},
    });
    expect(refund.statusCode).toBe(409);
    expect(refund.json().error.message).toMatch(/cannot refund/);

    const rows = await env.pg.db.select().from(entitlements).where(eq(entitlements.titleId, "h1"));
    expect(rows).toHaveLength(1);
  });

  it("grants once from a signed webhook over HTTP; a bad signature is a 400 that grants nothing", async () => {
    const { app, gateway } = api;
    const s = await signUp(app, "hook");
    const co = await app.inject({
      method: "POST",
      url: "/api/v1/checkout",
      headers: bearer(s),
      payload: { items: [{ title_id: "h2", kind: "rent", quality: "HD" }] },
    });
    expect(co.statusCode, co.body).toBe(201);
    const sessionId = new URL(co.json().checkout_url).pathname.split("/").pop() as string;
    // As if paid on Stripe's side: the handler re-reads the session before granting.
    await env.pg.db
      .update(localCheckoutSessions)
      .set({ status: "complete", paymentStatus: "paid" })
      .where(eq(localCheckoutSessions.id, sessionId));
    const payload = JSON.stringify({
      id: `evt_http_${n}`,
      object: "event",
      type: "checkout.session.completed",
      created: Math.floor(clock.now().getTime() / 1000),
      data: { object: { id: sessionId, object: "checkout.session" } },
    });
    const granted = async () =>
      env.pg.db
        .select()
        .from(entitlements)
        .where(and(eq(entitlements.userId, s.userId), eq(entitlements.titleId, "h2")));
    const post = (body: string, signature?: string) =>
      app.inject({
        method: "POST",
        url: "/api/v1/webhooks/stripe",
        headers: {
          "content-type": "application/json; charset=utf-8",
          ...(signature ? { "stripe-signature": signature } : {}),
        },
        payload: body,
      });

    const tampered = await post(
      payload.replace("checkout.session.completed", "checkout.session.completed "),
      gateway.sign(payload),
    );
    expect(tampered.statusCode).toBe(400);
    expect(tampered.json().error.message).toMatch(/signature/);
    expect((await post(payload)).statusCode).toBe(400);
    expect((await post(payload, "t=1,v1=deadbeef")).statusCode).toBe(400);
    expect(await granted()).toHaveLength(0);

    // The signature covers the exact bytes: whitespace a JSON parser would drop still counts.
    const spaced = `${payload}\n`;
    const ok = await post(spaced, gateway.sign(spaced));
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({ received: true, result: "granted" });
    const again = await post(spaced, gateway.sign(spaced));
    expect(again.json()).toEqual({ received: true, result: "already_processed" });
    expect(await granted()).toHaveLength(1);
  });
}

describe("the /api/v1 purchase flow (PGlite)", () => purchaseOverHttp(openPglite));

serviceSuite("postgres", process.env.TEST_DATABASE_URL, (url) => {
  describe("the /api/v1 purchase flow (Postgres)", () => purchaseOverHttp(() => openPostgres(url)));
});

describe("/api/v1 security and validation (PGlite)", () => {
  let env: Awaited<ReturnType<typeof openPglite>>;
  let api: Api;
  const clock = new TestClock();
  beforeAll(async () => {
    env = await openPglite();
    await addTitles(env.pg, [
      film("g1", { title: "Gentle Giants", age_rating: "G" }),
      film("r1", { title: "Razor Night", age_rating: "R" }),
    ]);
    api = await buildApi(env.pg, clock);
  });
  afterAll(async () => {
    await api?.app.close();
    await env?.drop();
  });

  it("answers 401 without a session, and for an unknown or expired one", async () => {
    const { app } = api;
    for (const url of [
      "/api/v1/library",
      "/api/v1/me",
      "/api/v1/orders",
      "/api/v1/watchlist",
      "/api/v1/seller/titles",
    ]) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(401);
      expect(res.json().error.code).toBe("unauthorized");
      expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
    }
    const post = await app.inject({ method: "POST", url: "/api/v1/playback/g1" });
    expect(post.statusCode).toBe(401);
    expect((await app.inject({ url: "/api/v1/me", headers: { authorization: "Bearer nope" } })).statusCode).toBe(401);
    expect((await app.inject({ url: "/api/v1/me", headers: { authorization: "Basic abc" } })).statusCode).toBe(401);
    // A stale cookie is a 401 too (never silently anonymous), and the cookie is dropped.
    const stale = await app.inject({ url: "/api/v1/titles/g1", cookies: { mq_session: "expired-or-forged" } });
    expect(stale.statusCode).toBe(401);
    expect(String(stale.headers["set-cookie"])).toMatch(/^mq_session=; .*Max-Age=0/);
    // The catalogue itself is open to anonymous visitors.
    expect((await app.inject({ url: "/api/v1/titles/g1" })).statusCode).toBe(200);
  });

  it("rejects malformed JSON and invalid input with 400 and a reason", async () => {
    const { app } = api;
    const s = await signUp(app, "input");
    const bad = await app.inject({
      method: "POST",
      url: "/api/v1/auth/signin",
      headers: { "content-type": "application/json" },
      payload: '{"email": "a@b.c", "password": ',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("invalid_json");
    const cases: [string, string, unknown, RegExp][] = [
      ["POST", "/api/v1/checkout", { items: [] }, /cart is empty/],
      ["POST", "/api/v1/checkout", { items: [{ title_id: "g1", kind: "lease", quality: "HD" }] }, /items\.0\.kind/],
      ["POST", "/api/v1/checkout", [1, 2], /body/],
      ["PUT", "/api/v1/progress/g1", { position_s: -1 }, /position_s/],
      ["POST", "/api/v1/me/profiles", { name: "Kid", kind: "kids" }, /age limit and a purchase PIN/],
      ["POST", "/api/v1/seller", {}, /display_name/],
    ];
    for (const [method, url, payload, reason] of cases) {
      const res = await app.inject({ method: method as "POST", url, headers: bearer(s), payload: payload as object });
      expect(res.statusCode, `${method} ${url} ${res.body}`).toBe(400);
      expect(res.json().error.message).toMatch(reason);
    }
    expect((await app.inject({ url: "/api/v1/titles/bad%20id" })).statusCode).toBe(400);
    const noQ = await app.inject({ url: "/api/v1/search" });
    expect(noQ.statusCode).toBe(400);
    expect(noQ.json().error.message).toMatch(/^query: q/);
    expect((await app.inject({ url: "/api/v1/search?q=giant&limit=1000" })).statusCode).toBe(400);
    expect((await app.inject({ url: "/api/v1/titles?ids=" })).statusCode).toBe(400);
    const signup = await app.inject({
      method: "POST",
      url: "/api/v1/auth/signup",
      payload: { email: "not-an-address", password: PASSWORD },
    });
    expect(signup.statusCode).toBe(400);
    expect(signup.json().error.message).toMatch(/email/);
  });

  it("answers a NUL byte (U+0000) in any text with 400 and where it was, never a 500", async () => {
    const { app } = api;
    const s = await signUp(app, "nul");
    const nul = "a\u0000b";
    const search = await app.inject({ url: "/api/v1/search?q=gi%00ant" });
    expect(search.statusCode, search.body).toBe(400);
    expect(search.json().error.message).toMatch(/^query\.q: must not contain NUL/);
    const cases: [string, Record<string, unknown>, Record<string, string> | undefined, RegExp][] = [
      ["/api/v1/auth/signup", { email: `x${nul}@example.com`, password: PASSWORD }, undefined, /body\.email/],
      [
        "/api/v1/auth/signup",
        { email: email("nulname"), password: PASSWORD, display_name: nul },
        undefined,
        /display_name/,
      ],
      ["/api/v1/auth/signin", { email: "someone@example.com", password: `pass${nul}word long` }, undefined, /password/],
      ["/api/v1/seller", { display_name: `Studio${nul}` }, bearer(s), /body\.display_name/],
      ["/api/v1/me/profiles", { name: nul }, bearer(s), /body\.name/],
    ];
    for (const [url, payload, headers, where] of cases) {
      const res = await app.inject({ method: "POST", url, payload, ...(headers ? { headers } : {}) });
      expect(res.statusCode, `${url} ${res.body}`).toBe(400);
      expect(res.json().error.message).toMatch(where);
      expect(res.json().error.message).toMatch(/NUL/);
    }
    // A seller's title, in the title and deep in an array.
    expect(
      (await app.inject({ method: "POST", url: "/api/v1/seller", headers: bearer(s), payload: { display_name: "S" } }))
        .statusCode,
    ).toBe(201);
    for (const payload of [
      { title: `Film${nul}`, year: 2024, runtime_min: 90, age_rating: "PG" },
      { title: "Film", year: 2024, runtime_min: 90, age_rating: "PG", cast: ["A", nul] },
    ]) {
      const res = await app.inject({ method: "POST", url: "/api/v1/seller/titles", headers: bearer(s), payload });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error.message).toMatch(/^body\.(title|cast\.1): must not contain NUL/);
    }
  });

  it("answers Postgres's refusal of a text value (22021) with 400 as a backstop", async () => {
    const err = await env.pg.db.execute(sql`select ${"a\u0000b"}::text`).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeTruthy();
    expect(toErrorResponse(err)).toMatchObject({ status: 400, body: { error: { code: "bad_request" } } });
  });

  it("needs the CSRF token on cookie requests that change state; bearer requests do not", async () => {
    const { app } = api;
    const s = await signUp(app, "csrf");
    const cookies = { mq_session: s.cookie };
    // Reading with the cookie needs no token.
    const me = await app.inject({ url: "/api/v1/me", cookies });
    expect(me.statusCode).toBe(200);
    expect(me.json().csrf_token).toBe(s.csrf);

    const missing = await app.inject({ method: "PUT", url: "/api/v1/watchlist/g1", cookies });
    expect(missing.statusCode).toBe(403);
    expect(missing.json().error.message).toMatch(/CSRF token missing/);
    const wrong = await app.inject({
      method: "PUT",
      url: "/api/v1/watchlist/g1",
      cookies,
      headers: { "x-csrf-token": "x".repeat(43) },
    });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().error.message).toMatch(/does not match/);
    expect((await app.inject({ url: "/api/v1/watchlist", cookies })).json().items).toEqual([]);

    const withHeader = await app.inject({
      method: "PUT",
      url: "/api/v1/watchlist/g1",
      cookies,
      headers: { "x-csrf-token": s.csrf },
    });
    expect(withHeader.statusCode).toBe(204);
    const byBearer = await app.inject({ method: "DELETE", url: "/api/v1/watchlist/g1", headers: bearer(s) });
    expect(byBearer.statusCode).toBe(204);
    const byBearerAdd = await app.inject({ method: "PUT", url: "/api/v1/watchlist/g1", headers: bearer(s) });
    expect(byBearerAdd.statusCode).toBe(204);
    const list = await app.inject({ url: "/api/v1/watchlist", headers: bearer(s) });
    expect(list.json().items.map((c: { id: string }) => c.id)).toEqual(["g1"]);
    expect(list.json().items[0].poster_url).toBe(`${BASE}/posters/g1.svg`);

    // A cross-site page cannot sign anyone in (login CSRF), even with a correct password.
    const forged = await app.inject({
      method: "POST",
      url: "/api/v1/auth/signin",
      headers: { origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
      payload: "email=a%40b.c&password=whatever-it-is",
    });
    expect(forged.statusCode).toBe(403);
    expect(forged.json().error.message).toMatch(/cross-site/);

    // A plain HTML form can sign out with the _csrf field; the cookie is cleared.
    const signout = await app.inject({
      method: "POST",
      url: "/api/v1/auth/signout",
      cookies,
      headers: { "content-type": "application/x-www-form-urlencoded", origin: BASE },
      payload: `_csrf=${encodeURIComponent(s.csrf)}`,
    });
    expect(signout.statusCode, signout.body).toBe(204);
    expect(String(signout.headers["set-cookie"])).toMatch(/^mq_session=; .*Max-Age=0/);
    expect((await app.inject({ url: "/api/v1/me", cookies })).statusCode).toBe(401);
  });

  it("throttles repeated failed sign-ins with 429 and Retry-After", async () => {
    const { app } = api;
    const address = email("throttle");
    await app.inject({ method: "POST", url: "/api/v1/auth/signup", payload: { email: address, password: PASSWORD } });
    const attempt = (password: string) =>
      app.inject({ method: "POST", url: "/api/v1/auth/signin", payload: { email: address, password } });
    for (let i = 0; i < 3; i++) expect((await attempt("wrong password!")).statusCode).toBe(401);
    const throttled = await attempt(PASSWORD);
    expect(throttled.statusCode).toBe(429);
    expect(throttled.json().error.code).toBe("rate_limited");
    expect(Number(throttled.headers["retry-after"])).toBeGreaterThanOrEqual(1);
  });

  it("never shows, sells or plays an R-rated title to a kids' profile", async () => {
    const { app } = api;
    const parent = await signUp(app, "parent");
    await buyAndPay(api, parent, "r1");
    expect((await app.inject({ method: "POST", url: "/api/v1/playback/r1", headers: bearer(parent) })).statusCode).toBe(
      200,
    );
    const kid = await app.inject({
      method: "POST",
      url: "/api/v1/me/profiles",
      headers: bearer(parent),
      payload: { name: "Kid", kind: "kids", max_age_rating: "PG", pin: "2468" },
    });
    expect(kid.statusCode, kid.body).toBe(201);
    const switched = await app.inject({
      method: "POST",
      url: "/api/v1/me/profile",
      headers: bearer(parent),
      payload: { profile_id: kid.json().id },
    });
    expect(switched.json().profile).toMatchObject({ kind: "kids", max_age_rating: "PG", has_pin: true });
    const h = bearer(parent);

    expect((await app.inject({ url: "/api/v1/titles/r1", headers: h })).statusCode).toBe(404);
    expect((await app.inject({ url: "/api/v1/titles/g1", headers: h })).statusCode).toBe(200);
    const search = await app.inject({ url: "/api/v1/search?q=night", headers: h });
    expect(search.statusCode).toBe(200);
    expect(search.json().items).toEqual([]);
    const cards = await app.inject({ url: "/api/v1/titles?ids=r1,g1", headers: h });
    expect(cards.json().items.map((c: { id: string }) => c.id)).toEqual(["g1"]);
    const buy = await app.inject({
      method: "POST",
      url: "/api/v1/checkout",
      headers: h,
      payload: { items: [{ title_id: "r1", kind: "rent", quality: "HD" }], pin: "2468" },
    });
    expect(buy.statusCode).toBe(404);
    const quote = await app.inject({
      method: "POST",
      url: "/api/v1/checkout/quote",
      headers: h,
      payload: { items: [{ title_id: "r1", kind: "rent", quality: "HD" }] },
    });
    expect(quote.statusCode).toBe(404);
    expect((await app.inject({ method: "POST", url: "/api/v1/playback/r1", headers: h })).statusCode).toBe(404);
    expect((await app.inject({ method: "PUT", url: "/api/v1/watchlist/r1", headers: h })).statusCode).toBe(404);
    const library = await app.inject({ url: "/api/v1/library", headers: h });
    expect(library.json().items).toEqual([]);
    // Anonymous visitors have no age limit; the kid cannot leave the profile without the PIN.
    expect((await app.inject({ url: "/api/v1/titles/r1" })).statusCode).toBe(200);
    const me = await app.inject({ url: "/api/v1/me", headers: h });
    const standard = me.json().profiles.find((p: { kind: string }) => p.kind === "standard");
    const leave = await app.inject({
      method: "POST",
      url: "/api/v1/me/profile",
      headers: h,
      payload: { profile_id: standard.id },
    });
    expect(leave.statusCode).toBe(403);
  });

  it("does not let a kids' profile guess its purchase or exit PIN: 30 at once, then the right one, all refused", async () => {
    const { app } = api;
    const parent = await signUp(app, "pinparent");
    const h = bearer(parent);
    const kid = await app.inject({
      method: "POST",
      url: "/api/v1/me/profiles",
      headers: h,
      payload: { name: "Kid", kind: "kids", max_age_rating: "PG", pin: "1357" },
    });
    await app.inject({ method: "POST", url: "/api/v1/me/profile", headers: h, payload: { profile_id: kid.json().id } });
    const cart = (pin: string) => ({ items: [{ title_id: "g1", kind: "buy", quality: "HD" }], pin });
    const guesses = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        app.inject({ method: "POST", url: "/api/v1/checkout", headers: h, payload: cart(String(2000 + i)) }),
      ),
    );
    const statuses = guesses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 403)).toHaveLength(DELAY_AFTER);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30 - DELAY_AFTER);
    expect(guesses.find((r) => r.statusCode === 429)?.headers["retry-after"]).toBeTruthy();
    const right = await app.inject({ method: "POST", url: "/api/v1/checkout", headers: h, payload: cart("1357") });
    expect(right.statusCode).toBe(429);
    // Leaving the profile is the same PIN behind the same throttle.
    const me = await app.inject({ url: "/api/v1/me", headers: h });
    const standard = me.json().profiles.find((p: { kind: string }) => p.kind === "standard");
    const leave = await app.inject({
      method: "POST",
      url: "/api/v1/me/profile",
      headers: h,
      payload: { profile_id: standard.id, pin: "1357" },
    });
    expect(leave.statusCode).toBe(429);
  });

  it("keeps each seller to their own titles; an admin publishes", async () => {
    const { app, commerce } = api;
    const a = await signUp(app, "sellerA");
    const b = await signUp(app, "sellerB");
    const viewerOnly = await signUp(app, "viewer");
    expect((await app.inject({ url: "/api/v1/seller/titles", headers: bearer(viewerOnly) })).statusCode).toBe(403);
    for (const s of [a, b])
      expect(
        (
          await app.inject({
            method: "POST",
            url: "/api/v1/seller",
            headers: bearer(s),
            payload: { display_name: "Studio" },
          })
        ).statusCode,
      ).toBe(201);
    const created = await app.inject({
      method: "POST",
      url: "/api/v1/seller/titles",
      headers: bearer(b),
      payload: { title: "B's Film", year: 2024, runtime_min: 90, age_rating: "PG" },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().title_id as string;
    const offers = {
      offers: [
        { kind: "buy", quality: "HD", price_minor: 1299 },
        { kind: "rent", quality: "HD", price_minor: 399 },
      ],
    };
    const attempts: [string, string, unknown][] = [
      ["GET", `/api/v1/seller/titles/${id}`, undefined],
      ["PUT", `/api/v1/seller/titles/${id}`, { title: "Mine now", year: 2024, runtime_min: 90, age_rating: "PG" }],
      ["PUT", `/api/v1/seller/titles/${id}/offers`, offers],
      ["POST", `/api/v1/seller/titles/${id}/submit`, undefined],
    ];
    for (const [method, url, payload] of attempts) {
      const res = await app.inject({
        method: method as "GET",
        url,
        headers: bearer(a),
        ...(payload ? { payload: payload as object } : {}),
      });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
    expect((await app.inject({ url: "/api/v1/seller/titles", headers: bearer(a) })).json().items).toEqual([]);

    const set = await app.inject({
      method: "PUT",
      url: `/api/v1/seller/titles/${id}/offers`,
      headers: bearer(b),
      payload: offers,
    });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toMatchObject({ id, title: "B's Film", status: "draft", offers: [{}, {}] });
    const submitted = await app.inject({
      method: "POST",
      url: `/api/v1/seller/titles/${id}/submit`,
      headers: bearer(b),
    });
    expect(submitted.json().status).toBe("in_review");
    const promo = await app.inject({
      method: "POST",
      url: "/api/v1/seller/promos",
      headers: bearer(b),
      payload: { code: "launch10", percent_off: 10 },
    });
    expect(promo.statusCode, promo.body).toBe(201);
    expect((await app.inject({ url: "/api/v1/seller/promos", headers: bearer(a) })).json().items).toEqual([]);
    expect((await app.inject({ url: "/api/v1/seller/promos", headers: bearer(b) })).json().items).toMatchObject([
      { code: "LAUNCH10", percent_off: 10 },
    ]);

    expect((await app.inject({ url: "/api/v1/admin/review", headers: bearer(b) })).statusCode).toBe(403);
    const admin = await signUp(app, "admin");
    await commerce.accounts.grantRole(admin.userId, "admin");
    const queue = await app.inject({ url: "/api/v1/admin/review", headers: bearer(admin) });
    expect(queue.json().items.map((t: { id: string }) => t.id)).toContain(id);
    expect((await app.inject({ url: `/api/v1/titles/${id}` })).statusCode).toBe(404);
    const approved = await app.inject({
      method: "POST",
      url: `/api/v1/admin/titles/${id}/approve`,
      headers: bearer(admin),
    });
    expect(approved.json()).toEqual({ title_id: id, status: "published" });
    expect((await app.inject({ url: `/api/v1/titles/${id}` })).json()).toMatchObject({ title: "B's Film" });
    expect((await app.inject({ url: "/api/v1/seller/sales", headers: bearer(b) })).json()).toMatchObject({ sales: 0 });
    const onboarding = await app.inject({ method: "POST", url: "/api/v1/seller/onboarding", headers: bearer(b) });
    expect(onboarding.json().url).toBe(`${BASE}/seller?onboarding=done`);
    expect((await app.inject({ url: "/api/v1/seller/account", headers: bearer(b) })).json()).toMatchObject({
      onboarded: true,
    });
  });

  it("documents every /api/v1 route in the OpenAPI document, with its security", async () => {
    const { app, routes } = api;
    const res = await app.inject({ url: "/api/v1/openapi.json" });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe("3.1.0");
    // Every route but the JSON 404 for unknown paths below the prefix.
    const registered = routes.filter((r) => r.includes(" /api/v1/") && !r.startsWith("HEAD ") && !r.endsWith("/*"));
    expect(registered.length).toBeGreaterThan(35);
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const asDocumented = registered.map((r) => {
      const [method, url] = r.split(" ") as [string, string];
      return `${method} ${openApiPath(url)}`;
    });
    expect([...asDocumented].sort()).toEqual([...documented].sort());

    const unknown = await app.inject({ url: "/api/v1/no-such-thing" });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.message).toMatch(/openapi\.json/);
    expect((await app.inject({ method: "DELETE", url: "/api/v1/library" })).statusCode).toBe(404);

    const op = (method: string, path: string) => doc.paths[path][method];
    expect(op("post", "/api/v1/auth/signin").security).toEqual([]);
    expect(op("get", "/api/v1/library").security).toEqual([{ bearerAuth: [] }, { sessionCookie: [] }]);
    expect(op("put", "/api/v1/watchlist/{titleId}").security).toEqual([
      { bearerAuth: [] },
      { sessionCookie: [], csrfToken: [] },
    ]);
    expect(op("get", "/api/v1/search").security).toContainEqual({});
    expect(
      op("post", "/api/v1/auth/signup").requestBody.content["application/json"].schema.properties.email,
    ).toBeTruthy();
    expect(op("get", "/api/v1/search").parameters.map((p: { name: string }) => p.name)).toEqual([
      "q",
      "limit",
      "region",
    ]);
    expect(
      op("post", "/api/v1/checkout").responses["201"].content["application/json"].schema.properties.checkout_url,
    ).toBeTruthy();
    expect(doc.components.securitySchemes.sessionCookie).toMatchObject({ in: "cookie", name: "mq_session" });
    // Every operation has a unique id (client generators need them).
    const ids = documented.map((d) => {
      const [method, path] = d.split(" ") as [string, string];
      return op(method.toLowerCase(), path).operationId;
    });
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("response validation (validateResponses)", () => {
  const guard = { authenticate: async () => ANONYMOUS, checkUnsafe() {} };
  async function serve(validateResponses: boolean) {
    const app = Fastify({ logger: false });
    app.setErrorHandler(httpErrorHandler);
    const api = new ApiRouter("/v", guard, { validateResponses });
    api.route(app, {
      method: "GET",
      path: "/drifted",
      operationId: "drifted",
      summary: "answers a number where its schema says a string",
      tag: "test",
      auth: "none",
      response: { description: "x", schema: z.object({ id: z.string() }) },
      handler: async () => ({ id: 7 }),
    });
    await app.ready();
    return app;
  }

  it("answers 500 naming the route when an answer does not match its schema, and passes it through when off", async () => {
    const strict = await serve(true);
    const res = await strict.inject({ method: "GET", url: "/v/drifted" });
    expect(res.statusCode).toBe(500);
    const loose = await serve(false);
    expect((await loose.inject({ method: "GET", url: "/v/drifted" })).json()).toEqual({ id: 7 });
    await Promise.all([strict.close(), loose.close()]);
  });
});
