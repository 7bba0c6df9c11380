import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalGateway } from "../src/payments/local-gateway.ts";
import { entitlements, orders, outbox } from "../src/schema.ts";
import { addTitles, film, localStore, openPglite, TestClock, viewer } from "./support.ts";

describe("buying through the local checkout (PGlite)", () => {
  let env: Awaited<ReturnType<typeof openPglite>>;
  const clock = new TestClock();
  beforeAll(async () => {
    env = await openPglite();
    await addTitles(env.pg, [film("m1"), film("m2")]);
  });
  afterAll(() => env?.drop());

  it("pays on the local page and grants exactly one entitlement", async () => {
    const { commerce, gateway } = localStore(env.pg, clock);
    const v = await viewer(commerce);
    const co = await commerce.checkout.create(
      v.viewer,
      { items: [{ title_id: "m1", kind: "buy", quality: "HD" }] },
      { successUrl: "http://store.test/orders/{ORDER_ID}", cancelUrl: "http://store.test/titles/m1" },
    );
    expect(co.status).toBe("pending");
    expect(co.total_minor).toBe(1499);
    expect(co.checkout_url).toMatch(/\/checkout\/local\/cs_local_/);
    const sessionId = co.checkout_url?.split("/").pop() ?? "";
    const next = await (gateway as LocalGateway).pay(sessionId);
    expect(next).toBe(`http://store.test/orders/${co.order_id}`);
    const ents = await env.pg.db.select().from(entitlements).where(eq(entitlements.userId, v.viewer.userId));
    expect(ents).toHaveLength(1);
    const [order] = await env.pg.db.select().from(orders).where(eq(orders.id, co.order_id));
    expect(order?.status).toBe("paid");
    const lib = await commerce.library.list(v.viewer);
    expect(lib.map((l) => [l.title_id, l.kind, l.quality, l.playable])).toEqual([["m1", "own", "HD", true]]);
    const grant = await commerce.library.authorizePlayback(v.viewer, "m1");
    expect(grant.kind).toBe("own");
    expect(commerce.library.verifyGrant(grant.token)?.entitlementId).toBe(grant.entitlement_id);
    const events = await env.pg.db.select().from(outbox);
    expect(events.some((e) => (e.payload as { type: string }).type === "purchase")).toBe(true);
  });
});
