import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addTitles, film, localStore, openPglite, TestClock, viewer, WEBHOOK_SECRET } from "../../test/support.ts";
import { entitlements, orders } from "../schema.ts";
import { createPaymentGateway } from "./create-gateway.ts";
import type { PaymentGateway } from "./gateway.ts";
import { LocalGateway } from "./local-gateway.ts";

describe("createPaymentGateway and the gateway's optional capabilities", () => {
  let env: Awaited<ReturnType<typeof openPglite>>;
  const clock = new TestClock();
  beforeAll(async () => {
    env = await openPglite();
    await addTitles(env.pg, [film("g1")]);
  });
  afterAll(() => env?.drop());

  it("chooses Stripe when both keys are set, else the local test checkout", () => {
    const common = { db: env.pg.db, localWebhookSecret: WEBHOOK_SECRET, publicUrl: () => "http://store.test" };
    const stripe = createPaymentGateway({
      ...common,
      stripeSecretKey: "sk_test_123",
      stripeWebhookSecret: "whsec_abc",
    });
    expect(stripe.provider).toBe("stripe");
    expect(stripe.localCheckout).toBeUndefined();
    expect(stripe.onEvent).toBeUndefined();
    const local = createPaymentGateway({ ...common, stripeSecretKey: "sk_test_123" });
    expect(local.provider).toBe("local");
    expect(local.localCheckout).toBeDefined();
    expect(typeof local.expireStale).toBe("function");
  });

  it("Commerce wires a provider by what it can do, not by its class", async () => {
    // A provider that is not a LocalGateway instance but delivers its own events and expires
    // its own sessions (what any in-process provider would do) must be wired all the same.
    const inner = new LocalGateway(env.pg.db, {
      webhookSecret: WEBHOOK_SECRET,
      baseUrl: "http://store.test",
      now: clock.now,
    });
    const wrapped = new Proxy({} as PaymentGateway, {
      get: (_target, key) => {
        const value = (inner as unknown as Record<string | symbol, unknown>)[key];
        return typeof value === "function" ? value.bind(inner) : value;
      },
    });
    expect(wrapped instanceof LocalGateway).toBe(false);
    const { commerce } = localStore(env.pg, clock, wrapped);
    const { viewer: v } = await viewer(commerce);
    const urls = { successUrl: "http://store.test/orders/{ORDER_ID}", cancelUrl: "http://store.test/" };
    const paid = await commerce.checkout.create(v, { items: [{ title_id: "g1", kind: "buy", quality: "HD" }] }, urls);
    await inner.pay(paid.checkout_url?.split("/").pop() ?? "");
    expect(await env.pg.db.select().from(entitlements).where(eq(entitlements.userId, v.userId))).toHaveLength(1);

    // An unpaid checkout expires in the sweep, through the provider's own housekeeping.
    const { viewer: w } = await viewer(commerce);
    const open = await commerce.checkout.create(w, { items: [{ title_id: "g1", kind: "rent", quality: "HD" }] }, urls);
    clock.advanceHours(25);
    expect((await commerce.sweep()).expiredCheckouts).toBe(1);
    const [order] = await env.pg.db.select().from(orders).where(eq(orders.id, open.order_id));
    expect(order?.status).toBe("expired");
  });
});
