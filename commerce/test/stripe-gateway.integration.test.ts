import { serviceSuite } from "@marquee/runtime/testing";
import { eq } from "drizzle-orm";
import Stripe from "stripe";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Viewer } from "../src/accounts.ts";
import { StripeGateway } from "../src/payments/stripe-gateway.ts";
import { entitlements, orders, sellers } from "../src/schema.ts";
import { addTitles, type Db, film, localStore, openPglite, TestClock, viewer } from "./support.ts";

const WEBHOOK_SECRET = "whsec_stripe_mock_suite_secret";

/**
 * Every Stripe call commerce makes, against stripe-mock (Stripe's own OpenAPI spec and
 * fixtures): a request with a wrong shape fails there as it would at Stripe. stripe-mock keeps
 * no state, so what it answers is a fixture: its sessions always say `unpaid`.
 */
serviceSuite("stripe-mock", process.env.TEST_STRIPE_API_URL, (apiUrl) => {
  let env: { pg: Db; drop: () => Promise<void> };
  const clock = new TestClock(new Date());
  const gateway = () => new StripeGateway({ secretKey: "sk_test_123", webhookSecret: WEBHOOK_SECRET, apiUrl });
  beforeAll(async () => {
    env = await openPglite();
    await addTitles(env.pg, [film("s1"), film("s2", { title: "Seller film" })]);
  });
  afterAll(() => env?.drop());

  it("creates a Checkout Session with a destination charge and reads it back", async () => {
    const gw = gateway();
    const session = await gw.createCheckoutSession(
      {
        orderId: "ord_test_1",
        currency: "USD",
        customerEmail: "v@example.com",
        lines: [{ name: "Film — rent HD", amountMinor: 399 }],
        successUrl: "http://store.test/orders/ord_test_1",
        cancelUrl: "http://store.test/",
        destination: { account: "acct_123", applicationFeeMinor: 60 },
      },
      "checkout-ord_test_1",
    );
    expect(session.id).toMatch(/^cs_/);
    expect(session.url).toMatch(/^https:\/\//);
    const again = await gw.retrieveCheckoutSession(session.id);
    expect(again.id).toBe(session.id);
    expect(["paid", "unpaid", "no_payment_required"]).toContain(again.paymentStatus);
  });

  it("creates a session that expires early (a held promo code) and expires it on cancel", async () => {
    const gw = gateway();
    const session = await gw.createCheckoutSession(
      {
        orderId: "ord_test_2",
        currency: "USD",
        lines: [{ name: "Film — buy HD", amountMinor: 999 }],
        successUrl: "http://store.test/orders/ord_test_2",
        cancelUrl: "http://store.test/checkout?cancelled=1&order=ord_test_2",
        expiresAt: new Date(Date.now() + 31 * 60_000),
      },
      "checkout-ord_test_2",
    );
    expect(session.id).toMatch(/^cs_/);
    await expect(gw.expireCheckoutSession(session.id)).resolves.toBeUndefined();
  });

  it("refunds, onboards a Connect account, links it and lists its payouts", async () => {
    const gw = gateway();
    const refund = await gw.refund(
      { paymentIntent: "pi_123", amountMinor: 399, reason: "not played", reverseTransfer: true },
      "refund-rf_1",
    );
    expect(refund.id).toMatch(/^re_/);
    const account = await gw.createConnectedAccount({ email: "s@example.com", country: "US" }, "connect-s_1");
    expect(account.id).toMatch(/^acct_/);
    const link = await gw.createAccountLink({
      account: account.id,
      refreshUrl: "http://store.test/sell",
      returnUrl: "http://store.test/sell",
    });
    expect(link.url).toMatch(/^https:\/\//);
    expect((await gw.retrieveAccount(account.id)).id).toBe(account.id);
    const refunds = await gw.retrievePaymentRefunds("pi_123");
    expect(refunds).toMatchObject({ amountMinor: expect.any(Number), refundedMinor: expect.any(Number) });
    const payouts = await gw.listPayouts(account.id);
    expect(Array.isArray(payouts)).toBe(true);
    for (const p of payouts)
      expect(p).toMatchObject({ id: expect.stringMatching(/^po_/), currency: expect.any(String) });
  });

  it("runs checkout through the SDK; a signed 'completed' event is not trusted until Stripe says paid", async () => {
    const { commerce } = localStore(env.pg, clock, gateway());
    const s = await viewer(commerce, "mock-seller");
    await commerce.selling.becomeSeller(s.viewer, "Mock Studio");
    const seller = (await commerce.accounts.authenticate(s.token)) as Viewer;
    const onboarding = await commerce.selling.onboardingLink(seller, {
      refreshUrl: "http://store.test/sell",
      returnUrl: "http://store.test/sell",
    });
    expect(onboarding.url).toMatch(/^https:\/\//);
    const [row] = await env.pg.db
      .select()
      .from(sellers)
      .where(eq(sellers.id, seller.sellerId ?? ""));
    expect(row?.stripeAccountId).toMatch(/^acct_/);

    const { viewer: v } = await viewer(commerce);
    const co = await commerce.checkout.create(
      v,
      { items: [{ title_id: "s1", kind: "rent", quality: "HD" }] },
      { successUrl: "http://store.test/orders/{ORDER_ID}", cancelUrl: "http://store.test/" },
    );
    expect(co.checkout_url).toMatch(/^https:\/\//);
    const [order] = await env.pg.db.select().from(orders).where(eq(orders.id, co.order_id));
    expect(order?.checkoutSessionId).toMatch(/^cs_/);
    expect(order?.idempotencyKey).toBe(`checkout-${co.order_id}`);

    const payload = JSON.stringify({
      id: "evt_mock_1",
      object: "event",
      type: "checkout.session.completed",
      created: 1,
      data: { object: { id: order?.checkoutSessionId, object: "checkout.session", payment_status: "paid" } },
    });
    const header = new Stripe("sk_test_123").webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
    const outcome = await commerce.fulfilment.handleWebhook(payload, header);
    // stripe-mock's fixture says "unpaid": the re-read wins over the event's claim.
    expect(outcome).toMatchObject({ result: "no_change" });
    expect(await env.pg.db.select().from(entitlements).where(eq(entitlements.userId, v.userId))).toHaveLength(0);
    await expect(commerce.fulfilment.handleWebhook(payload, `${header}0`)).rejects.toMatchObject({ status: 400 });
  });
});
