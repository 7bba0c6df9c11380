import { httpErrorHandler } from "@marquee/runtime";
import { eq } from "drizzle-orm";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Commerce } from "../src/commerce.ts";
import { commerceApiRoutes } from "../src/http/api.ts";
import { localCheckoutSessions, titles } from "../src/schema.ts";
import { addTitles, film, localStore, openPglite, TestClock } from "./support.ts";

/** A local store as `npm start` serves it: no PUBLIC_URL, so the server's own localhost address. */
const BASE = "http://localhost:3000";
const PASSWORD = "correct horse battery";

/**
 * Issue 17 and 10's store rules as apps reach them over /api/v1 (every answer checked against
 * its schema): playback that costs nothing until it really starts, 404 for unpublished titles,
 * return addresses from the request's own trusted origin, cancelling a checkout, and reviewing
 * a published title's edit.
 */
describe("/api/v1 store rules (PGlite)", () => {
  let env: Awaited<ReturnType<typeof openPglite>>;
  let app: FastifyInstance;
  let commerce: Commerce;
  const clock = new TestClock();
  let n = 0;

  beforeAll(async () => {
    env = await openPglite();
    await addTitles(env.pg, [film("r1"), film("r2")]);
    ({ commerce } = localStore(env.pg, clock));
    app = Fastify({ logger: false });
    app.setErrorHandler(httpErrorHandler);
    await app.register(commerceApiRoutes, { commerce, publicUrl: BASE, now: clock.now, validateResponses: true });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await env?.drop();
  });

  const signUp = async (name: string) => {
    const res = await app.inject({
      method: "POST",
      url: "/api/v1/auth/signup",
      payload: { email: `${name}-${++n}@example.com`, password: PASSWORD },
    });
    expect(res.statusCode, res.body).toBe(201);
    return { headers: { authorization: `Bearer ${res.json().token}` }, userId: res.json().user.id as string };
  };
  const post = (url: string, headers: Record<string, string>, payload?: object) =>
    app.inject({ method: "POST", url, headers, ...(payload ? { payload } : {}) });
  const pay = async (checkoutUrl: string) => {
    const res = await app.inject({
      method: "POST",
      url: `${new URL(checkoutUrl).pathname}/pay`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "",
    });
    expect(res.statusCode, res.body).toBe(303);
  };
  const seller = async (name: string) => {
    const s = await signUp(name);
    expect((await post("/api/v1/seller", s.headers, { display_name: name })).statusCode).toBe(201);
    return s;
  };
  /** A seller's draft with one HD purchase at `priceMinor`, made over the API as an app would. */
  const draftWithOffer = async (s: { headers: Record<string, string> }, draft: object, priceMinor: number) => {
    const t = await post("/api/v1/seller/titles", s.headers, draft);
    const titleId = t.json().title_id as string;
    await app.inject({
      method: "PUT",
      url: `/api/v1/seller/titles/${titleId}/offers`,
      headers: s.headers,
      payload: { offers: [{ kind: "buy", quality: "HD", price_minor: priceMinor }] },
    });
    return titleId;
  };

  it("Play is free until the first key request starts it (POST /playback/{id}/start), once; tampered grants are 401", async () => {
    const v = await signUp("player");
    const co = await post("/api/v1/checkout", v.headers, { items: [{ title_id: "r1", kind: "rent", quality: "HD" }] });
    expect(co.statusCode, co.body).toBe(201);
    await pay(co.json().checkout_url);

    const grant = await post("/api/v1/playback/r1", v.headers);
    expect(grant.statusCode, grant.body).toBe(200);
    expect(grant.json()).toMatchObject({ kind: "rent", expires_at: null, watch_window_hours: 48 });
    const library = await app.inject({ url: "/api/v1/library", headers: v.headers });
    expect(library.json().items[0]).toMatchObject({ title_id: "r1", first_played_at: null, refundable: true });

    const token = grant.json().token as string;
    // The key server calls it with the grant only: no session.
    const tampered = await post("/api/v1/playback/r1/start", {}, { token: `${token.slice(0, -1)}x` });
    expect(tampered.statusCode, tampered.body).toBe(401);
    expect((await post("/api/v1/playback/r1/start", {}, { token: `${token}.x` })).statusCode).toBe(401);
    expect((await post("/api/v1/playback/r1/start", {}, {})).statusCode).toBe(400);
    expect((await post("/api/v1/playback/r2/start", {}, { token })).statusCode).toBe(404);

    clock.advanceMinutes(2);
    const start = await post("/api/v1/playback/r1/start", {}, { token });
    expect(start.statusCode, start.body).toBe(200);
    expect(start.json()).toMatchObject({ title_id: "r1", kind: "rent", started_at: clock.now().toISOString() });
    expect(Date.parse(start.json().expires_at)).toBe(clock.now().getTime() + 48 * 3_600_000);
    clock.advanceMinutes(1);
    const again = await post("/api/v1/playback/r1/start", {}, { token });
    expect(again.json()).toEqual(start.json());
    const after = await app.inject({ url: "/api/v1/library", headers: v.headers });
    expect(after.json().items[0]).toMatchObject({ expires_at: start.json().expires_at, refundable: false });

    const doc = (await app.inject({ url: "/api/v1/openapi.json" })).json();
    expect(doc.paths["/api/v1/playback/{titleId}/start"].post).toMatchObject({ operationId: "playbackStarted" });
    expect(doc.paths["/api/v1/orders/{id}/cancel"].post).toMatchObject({ operationId: "cancelOrder" });
  });

  it("playback of another seller's unpublished title is 404, not 403", async () => {
    const s = await seller("studio-x");
    const created = await post("/api/v1/seller/titles", s.headers, {
      title: "Secret Project",
      year: 2026,
      runtime_min: 90,
      age_rating: "PG",
    });
    expect(created.statusCode, created.body).toBe(201);
    const v = await signUp("curious");
    const res = await post(`/api/v1/playback/${created.json().title_id}`, v.headers);
    expect(res.statusCode, res.body).toBe(404);
    expect((await post("/api/v1/playback/r2", v.headers)).statusCode).toBe(403); // published, not bought
  });

  it("checkout returns to the origin the viewer used when the store answers there, else the configured one", async () => {
    const v = await signUp("loopback");
    const checkout = (host: string, titleId: string) =>
      post("/api/v1/checkout", { ...v.headers, host }, { items: [{ title_id: titleId, kind: "buy", quality: "HD" }] });
    const local = await checkout("127.0.0.1:3000", "r1");
    expect(local.statusCode, local.body).toBe(201);
    expect(local.json().checkout_url).toMatch(/^http:\/\/127\.0\.0\.1:3000\/checkout\/local\/cs_local_/);
    const [session] = await env.pg.db
      .select()
      .from(localCheckoutSessions)
      .where(eq(localCheckoutSessions.id, new URL(local.json().checkout_url).pathname.split("/").pop() ?? ""));
    expect(session?.successUrl).toBe(`http://127.0.0.1:3000/orders/${local.json().order_id}`);
    expect(session?.cancelUrl).toBe("http://127.0.0.1:3000/titles/r1");
    // A Host the store does not answer at is never echoed back.
    const forged = await checkout("evil.example", "r2");
    expect(forged.json().checkout_url).toMatch(/^http:\/\/localhost:3000\/checkout\/local\//);
  });

  it("cancelling an unpaid checkout gives a held promo code use back at once", async () => {
    const s = await seller("studio-y");
    const titleId = await draftWithOffer(s, { title: "Once", year: 2025, runtime_min: 80, age_rating: "G" }, 800);
    await env.pg.db.update(titles).set({ status: "published" }).where(eq(titles.id, titleId));
    const promo = await post("/api/v1/seller/promos", s.headers, { code: "LAST", percent_off: 50, max_redemptions: 1 });
    expect(promo.statusCode, promo.body).toBe(201);
    const cart = { items: [{ title_id: titleId, kind: "buy", quality: "HD" }], promo_code: "LAST" };
    const a = await signUp("a");
    const b = await signUp("b");
    const first = await post("/api/v1/checkout", a.headers, cart);
    expect(first.json()).toMatchObject({ total_minor: 400, promo_hold_minutes: 30 });
    const refused = await post("/api/v1/checkout", b.headers, cart);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toMatch(/held by checkouts in progress/);
    expect((await post(`/api/v1/orders/${first.json().order_id}/cancel`, b.headers)).statusCode).toBe(404);
    const cancelled = await post(`/api/v1/orders/${first.json().order_id}/cancel`, a.headers);
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json()).toEqual({ order_id: first.json().order_id, status: "expired" });
    const second = await post("/api/v1/checkout", b.headers, cart);
    expect(second.statusCode, second.body).toBe(201);
    expect(second.json().total_minor).toBe(400);
  });

  it("an admin reviews a published title's edit: the queue shows what changed, approve names the revision", async () => {
    const s = await seller("studio-z");
    const titleId = await draftWithOffer(s, { title: "Grown Ups", year: 2025, runtime_min: 100, age_rating: "R" }, 900);
    await post(`/api/v1/seller/titles/${titleId}/submit`, s.headers);
    const admin = await signUp("admin");
    await commerce.accounts.grantRole(admin.userId, "admin");
    expect((await post(`/api/v1/admin/titles/${titleId}/approve`, admin.headers)).json().status).toBe("published");

    const edit = await app.inject({
      method: "PUT",
      url: `/api/v1/seller/titles/${titleId}`,
      headers: s.headers,
      payload: { title: "Grown Ups", year: 2025, runtime_min: 100, age_rating: "G" },
    });
    expect(edit.statusCode, edit.body).toBe(200);
    expect(edit.json()).toMatchObject({
      status: "published",
      age_rating: "R",
      revision: { status: "pending", changes: [{ field: "age_rating", from: "R", to: "G" }] },
    });
    expect((await app.inject({ url: `/api/v1/titles/${titleId}` })).json().age_rating).toBe("R");
    const queue = (await app.inject({ url: "/api/v1/admin/review", headers: admin.headers })).json().items;
    const item = queue.find((q: { id: string }) => q.id === titleId);
    expect(item).toMatchObject({ kind: "revision", revision_id: edit.json().revision.id, age_rating: "R" });
    const stale = await post(`/api/v1/admin/titles/${titleId}/approve`, admin.headers, {
      revision_id: "rev_not_this_one",
    });
    expect(stale.statusCode).toBe(409);
    const back = await post(`/api/v1/admin/titles/${titleId}/reject`, admin.headers, {
      note: "Keep the R rating.",
      revision_id: item.revision_id,
    });
    expect(back.json()).toEqual({ title_id: titleId, status: "published" });
    const mine = await app.inject({ url: `/api/v1/seller/titles/${titleId}`, headers: s.headers });
    expect(mine.json()).toMatchObject({
      age_rating: "R",
      revision: { status: "sent_back", review_note: "Keep the R rating." },
    });
  });
});
