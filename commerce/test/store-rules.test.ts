import { rowsOf } from "@marquee/runtime";
import { serviceSuite } from "@marquee/runtime/testing";
import { and, eq, sql } from "drizzle-orm";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Viewer } from "../src/accounts.ts";
import type { Commerce } from "../src/commerce.ts";
import type { LocalGateway } from "../src/payments/local-gateway.ts";
import { entitlements, ledgerEntries, orders, outbox, processedWebhookEvents, titles } from "../src/schema.ts";
import { draftWithOffers, openSellerAccount } from "../src/testing.ts";
import {
  addTitles,
  type Db,
  film,
  localStore,
  openPglite,
  openPostgres,
  TestClock,
  viewer,
  WEBHOOK_SECRET,
} from "./support.ts";

const URLS = { successUrl: "http://store.test/orders/{ORDER_ID}", cancelUrl: "http://store.test/" };
const signer = new Stripe("sk_test_signing_only");
const signed = (payload: object) => {
  const raw = JSON.stringify(payload);
  return { raw, sig: signer.webhooks.generateTestHeaderString({ payload: raw, secret: WEBHOOK_SECRET }) };
};
const sessionEvent = (id: string, type: string, sessionId: string) =>
  signed({ id, object: "event", type, created: 1, data: { object: { id: sessionId, object: "checkout.session" } } });

/**
 * The rules a viewer and a seller must be able to trust, on the database each mode uses:
 * PGlite (embedded) and a real Postgres server (scaled).
 */
function storeRules(open: () => Promise<{ pg: Db; drop: () => Promise<void> }>) {
  let env: { pg: Db; drop: () => Promise<void> };
  const clock = new TestClock();
  let commerce: Commerce;
  let gateway: LocalGateway;

  beforeAll(async () => {
    env = await open();
    await addTitles(env.pg, [
      film("f1"),
      film("f2"),
      film("f3"),
      film("f4"),
      film("f5"),
      film("p1"),
      film("p2"),
      film("kid-ok", { age_rating: "G" }),
      film("adult", { age_rating: "R" }),
    ]);
    ({ commerce } = localStore(env.pg, clock));
    gateway = commerce.gateway as LocalGateway;
  });
  afterAll(() => env?.drop());

  const entitlementCount = async (userId: string, titleId: string) =>
    (
      await env.pg.db
        .select()
        .from(entitlements)
        .where(and(eq(entitlements.userId, userId), eq(entitlements.titleId, titleId)))
    ).length;
  const sessionOf = (url: string | null) => url?.split("/").pop() ?? "";

  it("a webhook delivered twice and out of order grants one entitlement", async () => {
    const { viewer: v } = await viewer(commerce);
    const co = await commerce.checkout.create(v, { items: [{ title_id: "f1", kind: "rent", quality: "HD" }] }, URLS);
    const session = sessionOf(co.checkout_url);
    // The session is paid at the provider, but its events arrive late, twice, out of order.
    await env.pg.db.execute(
      sql`update local_checkout_sessions set status = 'complete', payment_status = 'paid' where id = ${session}`,
    );
    const completed = sessionEvent("evt_completed_1", "checkout.session.completed", session);
    const asyncOk = sessionEvent("evt_async_1", "checkout.session.async_payment_succeeded", session);
    const expired = sessionEvent("evt_expired_1", "checkout.session.expired", session);
    const outcomes = [];
    outcomes.push(await commerce.fulfilment.handleWebhook(asyncOk.raw, asyncOk.sig));
    outcomes.push(
      ...(await Promise.all([
        commerce.fulfilment.handleWebhook(completed.raw, completed.sig),
        commerce.fulfilment.handleWebhook(completed.raw, completed.sig),
      ])),
    );
    outcomes.push(await commerce.fulfilment.handleWebhook(expired.raw, expired.sig));
    outcomes.push(await commerce.fulfilment.handleWebhook(completed.raw, completed.sig));
    expect(outcomes.filter((o) => o.result === "granted")).toHaveLength(1);
    expect(await entitlementCount(v.userId, "f1")).toBe(1);
    const [order] = await env.pg.db.select().from(orders).where(eq(orders.id, co.order_id));
    expect(order?.status).toBe("paid"); // the late "expired" did not undo the payment
    const rentalEvents = (await env.pg.db.select().from(outbox)).filter(
      (e) =>
        (e.payload as { type: string; user_id: string }).type === "rental_start" &&
        (e.payload as { user_id: string }).user_id === v.userId,
    );
    expect(rentalEvents).toHaveLength(1);
  });

  it("a bad signature is refused with 400 and grants nothing", async () => {
    const { viewer: v } = await viewer(commerce);
    const co = await commerce.checkout.create(v, { items: [{ title_id: "f2", kind: "buy", quality: "HD" }] }, URLS);
    const session = sessionOf(co.checkout_url);
    await env.pg.db.execute(
      sql`update local_checkout_sessions set status = 'complete', payment_status = 'paid' where id = ${session}`,
    );
    const good = sessionEvent("evt_forged_1", "checkout.session.completed", session);
    const forged = new Stripe("sk_x").webhooks.generateTestHeaderString({
      payload: good.raw,
      secret: "whsec_not_ours_at_all",
    });
    for (const sig of [
      forged,
      undefined,
      "t=1,v1=deadbeef",
      good.sig.replace(/v1=(.)/, (_m, c: string) => `v1=${c === "0" ? "1" : "0"}`),
    ]) {
      await expect(commerce.fulfilment.handleWebhook(good.raw, sig)).rejects.toMatchObject({ status: 400 });
    }
    // A body changed after signing fails too.
    await expect(
      commerce.fulfilment.handleWebhook(good.raw.replace("evt_forged_1", "evt_forged_2"), good.sig),
    ).rejects.toMatchObject({
      status: 400,
    });
    expect(await entitlementCount(v.userId, "f2")).toBe(0);
    const recorded = await env.pg.db
      .select()
      .from(processedWebhookEvents)
      .where(eq(processedWebhookEvents.eventId, "evt_forged_1"));
    expect(recorded).toHaveLength(0);
  });

  it("two concurrent checkouts of one cart make one order and one payment session", async () => {
    const { viewer: v } = await viewer(commerce);
    const cart = {
      items: [
        { title_id: "f3", kind: "buy" as const, quality: "SD" as const },
        { title_id: "f4", kind: "rent" as const, quality: "HD" as const },
      ],
    };
    const reversed = { items: [...cart.items].reverse() };
    const [a, b] = await Promise.all([
      commerce.checkout.create(v, cart, URLS),
      commerce.checkout.create(v, reversed, URLS),
    ]);
    expect(a.order_id).toBe(b.order_id);
    expect(a.checkout_url).toBe(b.checkout_url);
    const mine = await env.pg.db.select().from(orders).where(eq(orders.userId, v.userId));
    expect(mine).toHaveLength(1);
    const sessions = await env.pg.db.execute(
      sql`select count(*)::int as n from local_checkout_sessions where metadata->>'order_id' = ${a.order_id}`,
    );
    expect(rowsOf<{ n: number }>(sessions)[0]?.n).toBe(1);
    // Paying it grants both items once.
    await gateway.pay(sessionOf(a.checkout_url));
    expect(await entitlementCount(v.userId, "f3")).toBe(1);
    expect(await entitlementCount(v.userId, "f4")).toBe(1);
  });

  it("an expired rental is refused at playback, before and after it was started", async () => {
    const { viewer: never } = await viewer(commerce);
    const co = await commerce.checkout.create(
      never,
      { items: [{ title_id: "f5", kind: "rent", quality: "HD" }] },
      URLS,
    );
    expect(co.lines[0]).toMatchObject({ rent_start_window_days: 30, rent_watch_window_hours: 48 });
    await gateway.pay(sessionOf(co.checkout_url));
    const { viewer: started } = await viewer(commerce);
    const co2 = await commerce.checkout.create(
      started,
      { items: [{ title_id: "f5", kind: "rent", quality: "HD" }] },
      URLS,
    );
    await gateway.pay(sessionOf(co2.checkout_url));
    const grant = await commerce.library.authorizePlayback(started, "f5");
    const start = await commerce.library.playbackStarted(grant.token, "f5");
    expect(new Date(start.expires_at ?? 0).getTime() - clock.now().getTime()).toBe(48 * 3_600_000);

    clock.advanceHours(47);
    await expect(commerce.library.authorizePlayback(started, "f5")).resolves.toMatchObject({ kind: "rent" });
    clock.advanceHours(2); // 49 h after the first play: the watch window is over
    await expect(commerce.library.authorizePlayback(started, "f5")).rejects.toMatchObject({
      status: 403,
      message: expect.stringContaining("watch window"),
    });
    clock.advanceHours(30 * 24); // well past the 30-day start window
    await expect(commerce.library.authorizePlayback(never, "f5")).rejects.toMatchObject({
      status: 403,
      message: expect.stringContaining("start window"),
    });
    const lib = await commerce.library.list(never);
    expect(lib.find((l) => l.title_id === "f5")?.playable).toBe(false);
  });

  it("refunds an unplayed rental once, refuses a played one", async () => {
    const { viewer: v } = await viewer(commerce);
    const rent = async (id: string) => {
      const co = await commerce.checkout.create(v, { items: [{ title_id: id, kind: "rent", quality: "HD" }] }, URLS);
      await gateway.pay(sessionOf(co.checkout_url));
      const lib = await commerce.library.list(v);
      return lib.find((l) => l.title_id === id)?.entitlement_id ?? "";
    };
    const played = await rent("f1");
    const grant = await commerce.library.authorizePlayback(v, "f1");
    await commerce.library.playbackStarted(grant.token, "f1");
    await expect(commerce.library.refund(v, played)).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining("played"),
    });
    const unplayed = await rent("f2");
    const refund = await commerce.library.refund(v, unplayed);
    expect(refund).toMatchObject({ amount_minor: 399, currency: "USD" });
    await expect(commerce.library.refund(v, unplayed)).rejects.toMatchObject({ status: 409 });
    await expect(commerce.library.authorizePlayback(v, "f2")).rejects.toMatchObject({ status: 403 });
    const events = (await env.pg.db.select().from(outbox)).filter(
      (e) =>
        (e.payload as { type: string; user_id: string }).type === "refund" &&
        (e.payload as { user_id: string }).user_id === v.userId,
    );
    expect(events).toHaveLength(1);
    // Someone else cannot refund it, nor see it.
    const { viewer: other } = await viewer(commerce);
    await expect(commerce.library.refund(other, played)).rejects.toMatchObject({ status: 404 });
  });

  it("a refund window of 48 hours: an unplayed purchase after 49 hours is refused", async () => {
    const { viewer: v } = await viewer(commerce);
    const co = await commerce.checkout.create(v, { items: [{ title_id: "f3", kind: "buy", quality: "HD" }] }, URLS);
    await gateway.pay(sessionOf(co.checkout_url));
    const [item] = await commerce.library.list(v);
    clock.advanceHours(49);
    await expect(commerce.library.refund(v, item?.entitlement_id ?? "")).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining("48 hours"),
    });
  });

  it("a kids' profile has no access above its limit, anywhere, and needs its PIN to buy", async () => {
    const parent = await viewer(commerce);
    const kid = await commerce.accounts.createProfile(parent.viewer, {
      name: "Sam",
      kind: "kids",
      max_age_rating: "PG",
      pin: "4321",
    });
    await commerce.accounts.selectProfile(parent.viewer, kid.id);
    const k = (await commerce.accounts.authenticate(parent.token)) as Viewer;
    expect(k.profile.kind).toBe("kids");
    const audience = { maxAgeRating: k.profile.max_age_rating };
    expect(await commerce.catalog.title("adult", audience)).toBeNull();
    expect(await commerce.catalog.cards(["adult", "kid-ok"], audience)).toHaveLength(1);
    expect((await commerce.catalog.search("Film adult", { audience })).map((c) => c.id)).toEqual([]);
    await expect(
      commerce.checkout.create(k, { items: [{ title_id: "adult", kind: "rent", quality: "HD" }], pin: "4321" }, URLS),
    ).rejects.toMatchObject({ status: 404 });
    await expect(commerce.library.addToWatchlist(k, "adult")).rejects.toMatchObject({ status: 404 });
    await expect(
      commerce.checkout.create(k, { items: [{ title_id: "kid-ok", kind: "rent", quality: "HD" }] }, URLS),
    ).rejects.toMatchObject({ status: 403 });
    await expect(
      commerce.checkout.create(k, { items: [{ title_id: "kid-ok", kind: "rent", quality: "HD" }], pin: "0000" }, URLS),
    ).rejects.toMatchObject({ status: 403 });
    const ok = await commerce.checkout.create(
      k,
      { items: [{ title_id: "kid-ok", kind: "rent", quality: "HD" }], pin: "4321" },
      URLS,
    );
    expect(ok.status).toBe("pending");
    // Something the parent bought above the limit stays out of the kid's library and player.
    const { viewer: adultView } = { viewer: parent.viewer };
    const bought = await commerce.checkout.create(
      adultView,
      { items: [{ title_id: "adult", kind: "buy", quality: "HD" }] },
      URLS,
    );
    await gateway.pay(sessionOf(bought.checkout_url));
    expect((await commerce.library.list(k)).map((l) => l.title_id)).not.toContain("adult");
    await expect(commerce.library.authorizePlayback(k, "adult")).rejects.toMatchObject({ status: 404 });
    // Leaving the kids' profile needs the PIN.
    const main = (await commerce.accounts.listProfiles(k.userId)).find((p) => p.kind === "standard");
    await expect(commerce.accounts.selectProfile(k, main?.id ?? "")).rejects.toMatchObject({ status: 403 });
    await expect(commerce.accounts.selectProfile(k, main?.id ?? "", "4321")).resolves.toMatchObject({
      kind: "standard",
    });
  });

  it("seller A has no access to seller B's titles or sales", async () => {
    const a = await viewer(commerce, "seller-a");
    const b = await viewer(commerce, "seller-b");
    await commerce.selling.becomeSeller(a.viewer, "Studio A");
    await commerce.selling.becomeSeller(b.viewer, "Studio B");
    const sa = (await commerce.accounts.authenticate(a.token)) as Viewer;
    const sb = (await commerce.accounts.authenticate(b.token)) as Viewer;
    const { title_id } = await commerce.selling.createTitle(sb, {
      title: "B's film",
      year: 2024,
      runtime_min: 90,
      age_rating: "PG-13",
    });
    await expect(commerce.selling.getTitle(sa, title_id)).rejects.toMatchObject({ status: 404 });
    await expect(
      commerce.selling.updateTitle(sa, title_id, { title: "Stolen", year: 2024, runtime_min: 90, age_rating: "PG" }),
    ).rejects.toMatchObject({ status: 404 });
    await expect(
      commerce.selling.setOffers(sa, title_id, [{ kind: "buy", quality: "HD", price_minor: 1 }]),
    ).rejects.toMatchObject({ status: 404 });
    await expect(commerce.selling.submitForReview(sa, title_id)).rejects.toMatchObject({ status: 404 });
    await expect(commerce.selling.createPromo(sa, { code: "STEAL", percent_off: 50, title_id })).rejects.toMatchObject({
      status: 404,
    });
    expect((await commerce.selling.listTitles(sa)).map((t) => t.id)).not.toContain(title_id);
    // A viewer without the seller role is refused outright; an admin action needs admin.
    const plain = await viewer(commerce);
    await expect(commerce.selling.listTitles(plain.viewer)).rejects.toMatchObject({ status: 403 });
    await expect(commerce.selling.approve(sa, title_id)).rejects.toMatchObject({ status: 403 });
  });

  it("only a title's seller or an admin may manage its media; a film that is not ready blocks review", async () => {
    const films = new Map<string, string | null>();
    const { commerce: withMedia } = localStore(env.pg, clock, undefined, {
      filmProblem: async (id) => (films.has(id) ? (films.get(id) ?? null) : "upload the film first"),
    });
    const s = await viewer(withMedia, "media-seller");
    const seller = await openSellerAccount(withMedia, s, "Studio M");
    const other = await viewer(withMedia, "media-other");
    const stranger = await openSellerAccount(withMedia, other, "Studio O");
    const a = await viewer(withMedia, "media-admin");
    await withMedia.accounts.grantRole(a.viewer.userId, "admin");
    const admin = (await withMedia.accounts.authenticate(a.token)) as Viewer;
    const { title_id } = await withMedia.selling.createTitle(seller, {
      title: "Reels",
      year: 2025,
      runtime_min: 80,
      age_rating: "PG",
    });
    expect(await withMedia.selling.mayManageMedia(seller, title_id)).toEqual({ userId: seller.userId });
    expect(await withMedia.selling.mayManageMedia(admin, title_id)).toEqual({ userId: admin.userId });
    await expect(withMedia.selling.mayManageMedia(stranger, title_id)).rejects.toMatchObject({ status: 404 });
    await expect(withMedia.selling.mayManageMedia(null, title_id)).rejects.toMatchObject({ status: 401 });
    await expect(withMedia.selling.mayManageMedia(admin, "t_nosuchtitle")).rejects.toMatchObject({ status: 404 });

    await withMedia.selling.setOffers(seller, title_id, [{ kind: "buy", quality: "HD", price_minor: 500 }]);
    await expect(withMedia.selling.submitForReview(seller, title_id)).rejects.toMatchObject({
      status: 409,
      message: "upload the film first",
    });
    films.set(title_id, "the film is still being prepared (40 %)");
    await expect(withMedia.selling.submitForReview(seller, title_id)).rejects.toMatchObject({
      message: "the film is still being prepared (40 %)",
    });
    films.set(title_id, null);
    await withMedia.selling.submitForReview(seller, title_id);
    const [t] = await env.pg.db.select().from(titles).where(eq(titles.id, title_id));
    expect(t?.status).toBe("in_review");
  });

  it("a seller lists a film, an admin publishes it, a viewer buys it, the ledger splits the money", async () => {
    const s = await viewer(commerce, "studio");
    const seller = await openSellerAccount(commerce, s, "Studio C");
    const { title_id } = await commerce.selling.createTitle(seller, {
      title: "Night Train",
      year: 2025,
      runtime_min: 95,
      age_rating: "PG-13",
      genres: ["Thriller"],
    });
    await expect(commerce.selling.submitForReview(seller, title_id)).rejects.toMatchObject({ status: 409 });
    await commerce.selling.setOffers(seller, title_id, [
      { kind: "buy", quality: "HD", price_minor: 1000 },
      { kind: "rent", quality: "HD", price_minor: 400, rent_start_window_days: 14, rent_watch_window_hours: 72 },
    ]);
    await commerce.selling.submitForReview(seller, title_id);
    const adminUser = await viewer(commerce, "admin");
    await commerce.accounts.grantRole(adminUser.viewer.userId, "admin");
    const admin = (await commerce.accounts.authenticate(adminUser.token)) as Viewer;
    expect((await commerce.selling.reviewQueue(admin)).map((t) => t.id)).toContain(title_id);
    await commerce.selling.approve(admin, title_id);
    const [t] = await env.pg.db.select().from(titles).where(eq(titles.id, title_id));
    expect(t?.status).toBe("published");
    const published = (await env.pg.db.select().from(outbox)).filter(
      (e) => e.topic === "catalog.titles.v1" && (e.payload as { title_id: string }).title_id === title_id,
    );
    expect(published).toHaveLength(1);

    await commerce.selling.createPromo(seller, {
      code: "launch",
      percent_off: 20,
      applies_to: "rent",
      max_redemptions: 1,
    });
    const { viewer: v } = await viewer(commerce);
    const co = await commerce.checkout.create(
      v,
      { items: [{ title_id, kind: "rent", quality: "HD" }], promo_code: "LAUNCH" },
      URLS,
    );
    expect(co).toMatchObject({ discount_minor: 80, total_minor: 320 });
    expect(co.lines[0]).toMatchObject({ rent_start_window_days: 14, rent_watch_window_hours: 72 });
    await gateway.pay(sessionOf(co.checkout_url));
    // Used up: a second viewer cannot use it.
    const { viewer: w } = await viewer(commerce);
    await expect(
      commerce.checkout.create(w, { items: [{ title_id, kind: "rent", quality: "HD" }], promo_code: "launch" }, URLS),
    ).rejects.toMatchObject({ status: 400, message: expect.stringContaining("used up") });

    // Rent-to-own: the rental's 320 is credited when buying within 7 days.
    const buy = await commerce.checkout.create(v, { items: [{ title_id, kind: "buy", quality: "HD" }] }, URLS);
    expect(buy).toMatchObject({ credit_minor: 320, total_minor: 680 });
    await gateway.pay(sessionOf(buy.checkout_url));
    const report = await commerce.selling.salesReport(seller);
    expect(report).toMatchObject({ gross_minor: 1000, fee_minor: 48 + 102, net_minor: 1000 - 150, sales: 2 });
    const ledger = await env.pg.db.select().from(ledgerEntries).where(eq(ledgerEntries.sellerId, report.seller_id));
    expect(ledger).toHaveLength(2);
    // Owning it now, renting or buying it again is refused.
    await expect(
      commerce.checkout.create(v, { items: [{ title_id, kind: "buy", quality: "HD" }] }, URLS),
    ).rejects.toMatchObject({
      status: 409,
    });
  });

  it("Connect: account.updated turns a seller's destination charges on, and a viewer's checkout then routes the money", async () => {
    const s = await viewer(commerce, "studio-e");
    const seller = await openSellerAccount(commerce, s, "Studio E");
    await env.pg.db.execute(sql`update sellers set stripe_account_id = 'acct_test_e' where id = ${seller.sellerId}`);
    const upd = signed({
      id: "evt_account_e",
      object: "event",
      type: "account.updated",
      created: 1,
      data: { object: { id: "acct_test_e", object: "account", charges_enabled: true } },
    });
    await expect(commerce.fulfilment.handleWebhook(upd.raw, upd.sig)).resolves.toMatchObject({ result: "ignored" });
    const [row] = await env.pg.db
      .execute(sql`select charges_enabled from sellers where id = ${seller.sellerId}`)
      .then((r) => rowsOf<{ charges_enabled: boolean }>(r));
    expect(row?.charges_enabled).toBe(true);
  });

  it("an unpaid checkout holding a promo code's last use gives it back: 30 minutes after it was abandoned, at once when cancelled", async () => {
    const s = await viewer(commerce, "studio-f");
    const seller = await openSellerAccount(commerce, s, "Studio F");
    const title_id = await draftWithOffers(
      commerce,
      seller,
      { title: "Late", year: 2025, runtime_min: 80, age_rating: "G" },
      [{ kind: "rent", quality: "HD", price_minor: 500 }],
    );
    await env.pg.db.update(titles).set({ status: "published" }).where(eq(titles.id, title_id));
    const { promo_id } = await commerce.selling.createPromo(seller, {
      code: "ONCE",
      amount_off_minor: 100,
      max_redemptions: 1,
    });
    const redemptions = async () =>
      (
        await env.pg.db
          .execute(sql`select redemptions from promo_codes where id = ${promo_id}`)
          .then((r) => rowsOf<{ redemptions: number }>(r))
      )[0]?.redemptions;
    const statusOf = async (id: string) => (await env.pg.db.select().from(orders).where(eq(orders.id, id)))[0]?.status;
    const cart = { items: [{ title_id, kind: "rent" as const, quality: "HD" as const }], promo_code: "ONCE" };
    const { viewer: v } = await viewer(commerce);
    const { viewer: w } = await viewer(commerce);
    const first = await commerce.checkout.create(v, cart, URLS);
    expect(first.total_minor).toBe(400);
    expect(await redemptions()).toBe(1);
    // While v's checkout holds the last use, w is told it is held, not that it is gone.
    await expect(commerce.checkout.create(w, cart, URLS)).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining("held by checkouts in progress"),
    });

    // Abandoned (the tab closed): the session and its hold expire after 30 minutes, not 24 hours.
    clock.advanceMinutes(29);
    await commerce.sweep();
    expect(await statusOf(first.order_id)).toBe("pending");
    clock.advanceMinutes(3);
    expect((await commerce.sweep()).expiredCheckouts).toBeGreaterThanOrEqual(1);
    expect(await statusOf(first.order_id)).toBe("expired");
    expect(await redemptions()).toBe(0);
    await expect(gateway.pay(sessionOf(first.checkout_url))).rejects.toMatchObject({ status: 409 });

    // The last use is available again; w takes it, then cancels on the payment page.
    const second = await commerce.checkout.create(w, cart, URLS);
    expect(second.total_minor).toBe(400);
    await expect(commerce.checkout.cancel(v, second.order_id)).rejects.toMatchObject({ status: 404 });
    await expect(commerce.checkout.cancel(w, second.order_id)).resolves.toEqual({
      order_id: second.order_id,
      status: "expired",
    });
    await expect(commerce.checkout.cancel(w, second.order_id)).resolves.toMatchObject({ status: "expired" });
    expect(await redemptions()).toBe(0);
    await expect(gateway.pay(sessionOf(second.checkout_url))).rejects.toMatchObject({ status: 409 });
    // Given back at once: v can use it again now, and paying it spends it for good.
    const third = await commerce.checkout.create(v, cart, URLS);
    expect(third.order_id).not.toBe(first.order_id);
    await gateway.pay(sessionOf(third.checkout_url));
    expect(await redemptions()).toBe(1);
    await expect(commerce.checkout.cancel(v, third.order_id)).resolves.toMatchObject({ status: "paid" });
    await expect(commerce.checkout.create(w, cart, URLS)).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining("used up"),
    });
  });

  it("a checkout paid after its promo hold lapsed is honoured, and its promo use counted again", async () => {
    const s = await viewer(commerce, "studio-l");
    const seller = await openSellerAccount(commerce, s, "Studio L");
    const title_id = await draftWithOffers(commerce, seller, {
      title: "Lapsed",
      year: 2025,
      runtime_min: 80,
      age_rating: "G",
    });
    await env.pg.db.update(titles).set({ status: "published" }).where(eq(titles.id, title_id));
    const { promo_id } = await commerce.selling.createPromo(seller, {
      code: "LATE",
      percent_off: 10,
      max_redemptions: 3,
    });
    const { viewer: v } = await viewer(commerce);
    const co = await commerce.checkout.create(
      v,
      { items: [{ title_id, kind: "buy", quality: "HD" }], promo_code: "LATE" },
      URLS,
    );
    const redemptions = async () =>
      (
        await env.pg.db
          .execute(sql`select redemptions from promo_codes where id = ${promo_id}`)
          .then((r) => rowsOf<{ redemptions: number }>(r))
      )[0]?.redemptions;
    const session = sessionOf(co.checkout_url);
    // The expiry event arrives first; the provider had in fact taken the payment just before.
    const expired = sessionEvent(`evt_late_exp_${session}`, "checkout.session.expired", session);
    await commerce.fulfilment.handleWebhook(expired.raw, expired.sig);
    expect(await redemptions()).toBe(0);
    await env.pg.db.execute(
      sql`update local_checkout_sessions set status = 'complete', payment_status = 'paid' where id = ${session}`,
    );
    const completed = sessionEvent(`evt_late_ok_${session}`, "checkout.session.completed", session);
    await expect(commerce.fulfilment.handleWebhook(completed.raw, completed.sig)).resolves.toMatchObject({
      result: "granted",
    });
    expect(await redemptions()).toBe(1);
    await expect(commerce.fulfilment.handleWebhook(completed.raw, completed.sig)).resolves.toMatchObject({
      result: "already_processed",
    });
    expect(await redemptions()).toBe(1);
  });

  it("an unpaid checkout without a limited promo code stays payable for 24 hours", async () => {
    const { viewer: v } = await viewer(commerce);
    const co = await commerce.checkout.create(v, { items: [{ title_id: "f4", kind: "buy", quality: "HD" }] }, URLS);
    clock.advanceHours(23);
    await commerce.sweep();
    const statusOf = async () => (await env.pg.db.select().from(orders).where(eq(orders.id, co.order_id)))[0]?.status;
    expect(await statusOf()).toBe("pending");
    clock.advanceHours(2);
    expect((await commerce.sweep()).expiredCheckouts).toBeGreaterThanOrEqual(1);
    expect(await statusOf()).toBe("expired");
    // The cart starts over with a new order.
    const again = await commerce.checkout.create(v, { items: [{ title_id: "f4", kind: "buy", quality: "HD" }] }, URLS);
    expect(again.order_id).not.toBe(co.order_id);
  });

  it("two concurrent checkouts of one cart with a promo code reserve one redemption", async () => {
    const s = await viewer(commerce, "studio-g");
    const seller = await openSellerAccount(commerce, s, "Studio G");
    const title_id = await draftWithOffers(commerce, seller, {
      title: "Twice",
      year: 2025,
      runtime_min: 80,
      age_rating: "G",
    });
    await env.pg.db.update(titles).set({ status: "published" }).where(eq(titles.id, title_id));
    const { promo_id } = await commerce.selling.createPromo(seller, {
      code: "TWICE",
      percent_off: 10,
      max_redemptions: 5,
    });
    const { viewer: v } = await viewer(commerce);
    const cart = { items: [{ title_id, kind: "buy" as const, quality: "HD" as const }], promo_code: "TWICE" };
    const [a, b, c] = await Promise.all([
      commerce.checkout.create(v, cart, URLS),
      commerce.checkout.create(v, cart, URLS),
      commerce.checkout.create(v, cart, URLS),
    ]);
    expect(new Set([a.order_id, b.order_id, c.order_id]).size).toBe(1);
    const [promo] = await env.pg.db
      .execute(sql`select redemptions from promo_codes where id = ${promo_id}`)
      .then((r) => rowsOf<{ redemptions: number }>(r));
    expect(promo?.redemptions).toBe(1);
  });

  it("a full refund made outside Marquee revokes the order's entitlements once; Marquee's own refunds are not doubled", async () => {
    const s = await viewer(commerce, "studio-h");
    const seller = await openSellerAccount(commerce, s, "Studio H");
    const title_id = await draftWithOffers(
      commerce,
      seller,
      { title: "Dashboard", year: 2025, runtime_min: 80, age_rating: "G" },
      [{ kind: "buy", quality: "HD", price_minor: 1200 }],
    );
    await env.pg.db.update(titles).set({ status: "published" }).where(eq(titles.id, title_id));
    const { viewer: v } = await viewer(commerce);
    const co = await commerce.checkout.create(v, { items: [{ title_id, kind: "buy", quality: "HD" }] }, URLS);
    await gateway.pay(sessionOf(co.checkout_url));
    // Played: no self-serve refund any more.
    await commerce.library.playbackStarted((await commerce.library.authorizePlayback(v, title_id)).token, title_id);
    const [order] = await env.pg.db.select().from(orders).where(eq(orders.id, co.order_id));
    const pi = order?.paymentIntentId ?? "";
    // Support refunds it in the provider's dashboard; the provider then sends charge.refunded.
    await gateway.refund({ paymentIntent: pi, amountMinor: 1200, reason: "support", reverseTransfer: false }, "dash-1");
    const charge = (id: string) =>
      signed({
        id,
        object: "event",
        type: "charge.refunded",
        created: 1,
        data: { object: { id: "ch_1", object: "charge", payment_intent: pi } },
      });
    const first = charge("evt_refund_dash_1");
    const firstOutcome = await commerce.fulfilment.handleWebhook(first.raw, first.sig);
    expect(firstOutcome).toEqual({ result: "refunded", order_id: co.order_id, entitlements: 1 });
    await expect(commerce.fulfilment.handleWebhook(first.raw, first.sig)).resolves.toMatchObject({
      result: "already_processed",
    });
    const again = charge("evt_refund_dash_2");
    await expect(commerce.fulfilment.handleWebhook(again.raw, again.sig)).resolves.toMatchObject({
      result: "no_change",
    });
    await expect(commerce.library.authorizePlayback(v, title_id)).rejects.toMatchObject({ status: 403 });
    const report = await commerce.selling.salesReport(seller);
    expect(report).toMatchObject({ gross_minor: 1200, refunds_minor: 1200, net_minor: 0, refunds: 1 });
    const refundEvents = (await env.pg.db.select().from(outbox)).filter(
      (e) =>
        (e.payload as { type: string; user_id: string }).type === "refund" &&
        (e.payload as { user_id: string }).user_id === v.userId,
    );
    expect(refundEvents).toHaveLength(1);
  });

  it("a quality upgrade costs the difference; a timed sale lowers the price only inside its window", async () => {
    const s = await viewer(commerce, "studio-d");
    const seller = await openSellerAccount(commerce, s, "Studio D");
    const { title_id } = await commerce.selling.createTitle(seller, {
      title: "Upgrade Me",
      year: 2025,
      runtime_min: 95,
      age_rating: "G",
    });
    const now = clock.now().getTime();
    await commerce.selling.setOffers(seller, title_id, [
      { kind: "buy", quality: "SD", price_minor: 800 },
      {
        kind: "buy",
        quality: "4K",
        price_minor: 2000,
        sale_price_minor: 1500,
        sale_starts_at: new Date(now - 3_600_000).toISOString(),
        sale_ends_at: new Date(now + 3_600_000).toISOString(),
      },
    ]);
    await env.pg.db.update(titles).set({ status: "published" }).where(eq(titles.id, title_id));
    const { viewer: v } = await viewer(commerce);
    const sd = await commerce.checkout.create(v, { items: [{ title_id, kind: "buy", quality: "SD" }] }, URLS);
    await gateway.pay(sessionOf(sd.checkout_url));
    const onSale = await commerce.checkout.quote(v, { items: [{ title_id, kind: "buy", quality: "4K" }] });
    expect(onSale).toMatchObject({ subtotal_minor: 1500, credit_minor: 800, total_minor: 700 });
    clock.advanceHours(2);
    const after = await commerce.checkout.quote(v, { items: [{ title_id, kind: "buy", quality: "4K" }] });
    expect(after).toMatchObject({ subtotal_minor: 2000, credit_minor: 800, total_minor: 1200 });
    const up = await commerce.checkout.create(v, { items: [{ title_id, kind: "buy", quality: "4K" }] }, URLS);
    await gateway.pay(sessionOf(up.checkout_url));
    const lib = await commerce.library.list(v);
    expect(lib.filter((l) => l.title_id === title_id).map((l) => l.quality)).toEqual(["4K"]);
    expect((await commerce.library.authorizePlayback(v, title_id)).quality).toBe("4K");
  });

  it("pressing Play costs nothing: the rental's 48 h and the end of its refund start at the first key request, once", async () => {
    const { viewer: v } = await viewer(commerce);
    const rent = async (id: string) => {
      const co = await commerce.checkout.create(v, { items: [{ title_id: id, kind: "rent", quality: "HD" }] }, URLS);
      await gateway.pay(sessionOf(co.checkout_url));
      return (await commerce.library.list(v)).find((l) => l.title_id === id);
    };
    // Play pressed with no player to watch in: still unstarted, still refundable.
    const first = await rent("p1");
    const grant = await commerce.library.authorizePlayback(v, "p1");
    expect(grant).toMatchObject({ kind: "rent", expires_at: null, watch_window_hours: 48 });
    const afterPlay = (await commerce.library.list(v)).find((l) => l.title_id === "p1");
    expect(afterPlay).toMatchObject({ first_played_at: null, expires_at: null, refundable: true });
    expect(afterPlay?.start_by).toBe(first?.start_by);
    await expect(commerce.library.refund(v, first?.entitlement_id ?? "")).resolves.toMatchObject({ amount_minor: 399 });

    // The media step's first key request starts the window, from that moment.
    const second = await rent("p2");
    clock.advanceHours(1);
    const g2 = await commerce.library.authorizePlayback(v, "p2");
    const startedAt = clock.now();
    const start = await commerce.library.playbackStarted(g2.token, "p2");
    expect(start).toMatchObject({ entitlement_id: second?.entitlement_id, kind: "rent" });
    expect(new Date(start.started_at).getTime()).toBe(startedAt.getTime());
    expect(new Date(start.expires_at ?? 0).getTime()).toBe(startedAt.getTime() + 48 * 3_600_000);
    // Repeated (every key request, retries, a second grant, concurrently): the same start.
    clock.advanceMinutes(5);
    const g3 = await commerce.library.authorizePlayback(v, "p2");
    expect(g3.expires_at).toBe(start.expires_at);
    const repeats = await Promise.all([
      commerce.library.playbackStarted(g2.token, "p2"),
      commerce.library.playbackStarted(g3.token, "p2"),
      commerce.library.playbackStarted(g3.token),
    ]);
    for (const r of repeats) expect(r).toEqual(start);
    const listed = (await commerce.library.list(v)).find((l) => l.title_id === "p2");
    expect(listed).toMatchObject({
      first_played_at: start.started_at,
      expires_at: start.expires_at,
      refundable: false,
    });
    await expect(commerce.library.refund(v, second?.entitlement_id ?? "")).rejects.toMatchObject({ status: 409 });
    // A grant names its title: it cannot start another one.
    await expect(commerce.library.playbackStarted(g3.token, "p1")).rejects.toMatchObject({ status: 404 });

    // A player reporting a position past the start is playing too (position 0 is not).
    await rent("f3");
    await commerce.library.authorizePlayback(v, "f3");
    await commerce.library.saveProgress(v, "f3", 0);
    expect((await commerce.library.list(v)).find((l) => l.title_id === "f3")).toMatchObject({
      first_played_at: null,
      refundable: true,
    });
    await commerce.library.saveProgress(v, "f3", 30);
    const watching = (await commerce.library.list(v)).find((l) => l.title_id === "f3");
    expect(watching).toMatchObject({ first_played_at: clock.now().toISOString(), refundable: false });
    expect(new Date(watching?.expires_at ?? 0).getTime()).toBe(clock.now().getTime() + 48 * 3_600_000);
  });

  it("a tampered or expired playback grant is refused", async () => {
    const { viewer: v } = await viewer(commerce);
    const co = await commerce.checkout.create(v, { items: [{ title_id: "p1", kind: "buy", quality: "HD" }] }, URLS);
    await gateway.pay(sessionOf(co.checkout_url));
    const { token } = await commerce.library.authorizePlayback(v, "p1");
    expect(commerce.library.verifyGrant(token)).not.toBeNull();
    const [body = "", mac = ""] = token.split(".");
    const flip = (c: string) => (c === "A" ? "B" : "A");
    const otherBody = Buffer.from(
      Buffer.from(body, "base64url")
        .toString()
        .replace(/\|HD\|/, "|4K|"),
    ).toString("base64url");
    const tampered = [
      `${body}.${mac.slice(0, -1)}${flip(mac.slice(-1))}`, // one MAC character changed
      `${body}.${mac}A`, // a longer MAC
      `${body}.${mac.slice(0, -2)}`, // a shorter one
      `${body}.${mac}!`, // a character base64 decoding would skip
      `${token}.extra`, // a third part
      `${otherBody}.${mac}`, // another quality under the same MAC
      `${body}.`,
      `.${mac}`,
      "",
    ];
    for (const t of tampered) {
      expect(commerce.library.verifyGrant(t), t).toBeNull();
      await expect(commerce.library.playbackStarted(t, "p1")).rejects.toMatchObject({ status: 401 });
    }
    clock.advanceMinutes(11); // grants last 10 minutes
    expect(commerce.library.verifyGrant(token)).toBeNull();
    await expect(commerce.library.playbackStarted(token, "p1")).rejects.toMatchObject({ status: 401 });
  });

  it("playback of a title that is not published answers 404 to anyone who did not buy it", async () => {
    const s = await viewer(commerce, "studio-p");
    const seller = await openSellerAccount(commerce, s, "Studio P");
    const draft = await draftWithOffers(
      commerce,
      seller,
      { title: "Unreleased", year: 2026, runtime_min: 90, age_rating: "G" },
      [{ kind: "buy", quality: "HD", price_minor: 900 }],
    );
    const { viewer: v } = await viewer(commerce);
    // Another seller's draft is as unknown as a title that never existed.
    await expect(commerce.library.authorizePlayback(v, draft)).rejects.toMatchObject({ status: 404 });
    await expect(commerce.library.authorizePlayback(v, "no-such-title")).rejects.toMatchObject({ status: 404 });
    // A published title not bought is 403 (its page is public); bought then withdrawn still plays.
    await env.pg.db.update(titles).set({ status: "published" }).where(eq(titles.id, draft));
    await expect(commerce.library.authorizePlayback(v, draft)).rejects.toMatchObject({ status: 403 });
    const co = await commerce.checkout.create(v, { items: [{ title_id: draft, kind: "buy", quality: "HD" }] }, URLS);
    await gateway.pay(sessionOf(co.checkout_url));
    await env.pg.db.update(titles).set({ status: "withdrawn" }).where(eq(titles.id, draft));
    await expect(commerce.library.authorizePlayback(v, draft)).resolves.toMatchObject({ kind: "own" });
    const { viewer: w } = await viewer(commerce);
    await expect(commerce.library.authorizePlayback(w, draft)).rejects.toMatchObject({ status: 404 });
  });

  it("an edit to a published title waits for review; the approved version stays live until it is approved", async () => {
    const s = await viewer(commerce, "studio-r");
    const seller = await openSellerAccount(commerce, s, "Studio R");
    const approved = {
      title: "After Dark",
      year: 2024,
      runtime_min: 110,
      age_rating: "NC-17" as const,
      synopsis: "Not for children.",
      genres: ["Thriller"],
    };
    const title_id = await draftWithOffers(commerce, seller, approved, [
      { kind: "buy", quality: "HD", price_minor: 1500 },
    ]);
    await commerce.selling.submitForReview(seller, title_id);
    const adminUser = await viewer(commerce, "admin-r");
    await commerce.accounts.grantRole(adminUser.viewer.userId, "admin");
    const admin = (await commerce.accounts.authenticate(adminUser.token)) as Viewer;
    await commerce.selling.approve(admin, title_id);
    const kids = { maxAgeRating: "PG" };
    expect(await commerce.catalog.title(title_id, kids)).toBeNull();
    const catalogueEvents = async () =>
      (await env.pg.db.select().from(outbox)).filter(
        (e) => e.topic === "catalog.titles.v1" && (e.payload as { title_id: string }).title_id === title_id,
      );
    expect(await catalogueEvents()).toHaveLength(1);

    // The seller relabels it G with a family synopsis: nothing live changes, kids still see nothing.
    const relabelled = { ...approved, title: "Family Night", age_rating: "G" as const, synopsis: "Fun for all." };
    await expect(commerce.selling.updateTitle(seller, title_id, relabelled)).resolves.toEqual({ review: true });
    expect(await commerce.catalog.title(title_id, kids)).toBeNull();
    expect(await commerce.catalog.cards([title_id], kids)).toEqual([]);
    expect(await commerce.catalog.search("Family Night", { audience: kids })).toEqual([]);
    expect(await commerce.catalog.title(title_id)).toMatchObject({
      title: "After Dark",
      age_rating: "NC-17",
      synopsis: "Not for children.",
    });
    const mine = await commerce.selling.getTitle(seller, title_id);
    expect(mine).toMatchObject({ status: "published", title: "After Dark", ageRating: "NC-17" });
    expect(mine.revision).toMatchObject({ status: "pending", review_note: null, draft: { age_rating: "G" } });
    expect(mine.revision?.changes).toEqual([
      { field: "title", from: "After Dark", to: "Family Night" },
      { field: "age_rating", from: "NC-17", to: "G" },
      { field: "synopsis", from: "Not for children.", to: "Fun for all." },
    ]);
    // Prices stay the seller's to change at once.
    await commerce.selling.setOffers(seller, title_id, [{ kind: "buy", quality: "HD", price_minor: 1200 }]);
    expect((await commerce.catalog.title(title_id))?.offers[0]?.price_minor).toBe(1200);

    // The queue shows the revision with what changed; sending it back keeps the approved version.
    const queued = (await commerce.selling.reviewQueue(admin)).find((q) => q.id === title_id);
    expect(queued).toMatchObject({ kind: "revision", age_rating: "NC-17", revision_id: mine.revision?.id });
    expect(queued?.changes.map((c) => c.field)).toEqual(["title", "age_rating", "synopsis"]);
    await commerce.selling.reject(admin, title_id, "This film is not suitable for a G rating.");
    const sentBack = await commerce.selling.getTitle(seller, title_id);
    expect(sentBack).toMatchObject({ status: "published", ageRating: "NC-17" });
    expect(sentBack.revision).toMatchObject({ status: "sent_back", review_note: expect.stringContaining("G rating") });
    expect((await commerce.selling.reviewQueue(admin)).map((q) => q.id)).not.toContain(title_id);
    await expect(commerce.selling.approve(admin, title_id)).rejects.toMatchObject({ status: 409 });

    // A second edit replaces what a reviewer had open: approving the older one is refused.
    const fixed = { ...approved, title: "After Dark (Director's Cut)", runtime_min: 125 };
    await commerce.selling.updateTitle(seller, title_id, { ...fixed, runtime_min: 120 });
    const opened = (await commerce.selling.reviewQueue(admin)).find((q) => q.id === title_id);
    await commerce.selling.updateTitle(seller, title_id, fixed);
    await expect(commerce.selling.approve(admin, title_id, opened?.revision_id ?? "")).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining("changed this title again"),
    });
    expect((await commerce.catalog.title(title_id))?.title).toBe("After Dark");
    const latest = (await commerce.selling.reviewQueue(admin)).find((q) => q.id === title_id);
    await expect(commerce.selling.approve(admin, title_id, latest?.revision_id ?? "")).resolves.toMatchObject({
      revision: true,
    });
    expect(await commerce.catalog.title(title_id)).toMatchObject({
      title: "After Dark (Director's Cut)",
      runtime_min: 125,
      age_rating: "NC-17",
    });
    expect((await commerce.selling.getTitle(seller, title_id)).revision).toBeNull();
    const events = await catalogueEvents();
    expect(events.map((e) => (e.payload as { type: string }).type)).toEqual(["published", "updated"]);
    const updated = events[1]?.payload as { changed?: string[] } | undefined;
    expect(updated?.changed).toEqual(["title", "runtime_min"]);
    // Editing back to the approved values leaves nothing to review.
    await commerce.selling.updateTitle(seller, title_id, { ...fixed, synopsis: "Longer." });
    await expect(commerce.selling.updateTitle(seller, title_id, fixed)).resolves.toEqual({ review: false });
    expect((await commerce.selling.reviewQueue(admin)).map((q) => q.id)).not.toContain(title_id);
  });
}

describe("store rules on PGlite", () => {
  storeRules(openPglite);
});

serviceSuite("store rules on Postgres", process.env.TEST_DATABASE_URL, (url) => {
  storeRules(() => openPostgres(url));
});
