import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { businessEvent } from "../src/context.ts";
import { enqueueOutbox } from "../src/outbox.ts";
import { outbox } from "../src/schema.ts";
import { openPglite } from "./support.ts";

describe("the outbox accepts only events the loader will store", () => {
  let env: Awaited<ReturnType<typeof openPglite>>;
  beforeAll(async () => {
    env = await openPglite();
  });
  afterAll(() => env?.drop());

  it("stores a valid business event, refuses a malformed one (which would block the relay)", async () => {
    const at = new Date("2026-06-01T12:00:00Z");
    const good = businessEvent(
      "purchase",
      "u_1",
      "t_1",
      { order_id: "ord_1", quality: "HD", amount_minor: 999, currency: "USD" },
      at,
    );
    await enqueueOutbox(env.pg.db, [good]);
    const bad = businessEvent(
      "purchase",
      "u_1",
      "t_1",
      { order_id: "ord_2", quality: "8K", amount_minor: 1, currency: "USD" },
      at,
    );
    await expect(enqueueOutbox(env.pg.db, [bad])).rejects.toThrow(/not a valid events.v1 event/);
    const noReceipt = { ...good, id: bad.id, payload: { ...(good.payload as object), received_at: undefined } };
    await expect(enqueueOutbox(env.pg.db, [noReceipt])).rejects.toThrow(/received_at/);
    const rows = await env.pg.db.select().from(outbox);
    expect(rows.map((r) => r.id)).toEqual([good.id]);
  });
});
