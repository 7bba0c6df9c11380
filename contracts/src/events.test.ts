import { describe, expect, it } from "vitest";
import { actorId, describeIssues, EVENT_TYPES, EventSchema } from "./index.ts";

const base = {
  event_id: "01936d3e-7a2b-7c3d-8e4f-0123456789ab",
  occurred_at: "2026-11-25T18:00:00.000Z",
  user_id: "u00001",
  session_id: "s1",
  context: { device: "tv", page: "/", row: "trending", position: 0, model_version: "pop:1", variant: "A" },
};
const sale = { order_id: "o1", quality: "HD", amount_minor: 499, currency: "USD" };

/** One valid example of every type. */
const VALID: Record<string, Record<string, unknown>> = {
  page_view: { payload: { path: "/titles/t1", referrer: "https://example.com" } },
  impression: { item_id: "t1" },
  click: { item_id: "t1", payload: { target: "poster" } },
  trailer_play: { item_id: "t1", payload: { position_s: 0 } },
  play_start: { item_id: "t1", payload: { quality: "4K" } },
  play_progress: { item_id: "t1", payload: { position_s: 60, duration_s: 5400 } },
  play_complete: { item_id: "t1", payload: { watched_s: 5300 } },
  watchlist_add: { item_id: "t1" },
  not_interested: { item_id: "t1" },
  rating: { item_id: "t1", payload: { value: 4.5 } },
  search: { payload: { query: "space heist", results: 12 } },
  purchase: { item_id: "t1", payload: sale },
  rental_start: { item_id: "t1", payload: { ...sale, expires_at: "2026-12-25T18:00:00Z" } },
  refund: { item_id: "t1", payload: { order_id: "o1", amount_minor: 499, currency: "USD", reason: "never played" } },
};

/** One invalid example of every type, with what the reason must mention. */
const INVALID: Record<string, [Record<string, unknown>, RegExp]> = {
  page_view: [{ payload: {} }, /payload\.path/],
  impression: [{}, /item_id/],
  click: [{ item_id: "t 1" }, /item_id/],
  trailer_play: [{ item_id: "t1", payload: { position_s: -1 } }, /position_s/],
  play_start: [{ item_id: "t1", payload: { quality: "8K" } }, /quality/],
  play_progress: [{ item_id: "t1", payload: {} }, /position_s/],
  play_complete: [{ item_id: "t1", payload: { watched_s: "long" } }, /watched_s/],
  watchlist_add: [{ item_id: "" }, /item_id/],
  not_interested: [{ item_id: "x".repeat(65) }, /item_id/],
  rating: [{ item_id: "t1", payload: { value: 6 } }, /value/],
  search: [{ payload: { query: "   " } }, /query/],
  purchase: [{ item_id: "t1", payload: { ...sale, currency: "usd" } }, /currency/],
  rental_start: [{ item_id: "t1", payload: { ...sale, amount_minor: 4.99 } }, /amount_minor/],
  refund: [{ item_id: "t1", payload: { amount_minor: 1, currency: "USD" } }, /order_id/],
};

describe("event schemas", () => {
  it("covers every event type", () => {
    expect(Object.keys(VALID).sort()).toEqual([...EVENT_TYPES].sort());
    expect(Object.keys(INVALID).sort()).toEqual([...EVENT_TYPES].sort());
  });

  for (const type of EVENT_TYPES) {
    it(`accepts a valid ${type}`, () => {
      const parsed = EventSchema.safeParse({ ...base, type, ...VALID[type] });
      expect(parsed.success, parsed.success ? "" : describeIssues(parsed.error)).toBe(true);
    });
    it(`rejects an invalid ${type} with a reason`, () => {
      const [over, reason] = INVALID[type] as [Record<string, unknown>, RegExp];
      const parsed = EventSchema.safeParse({ ...base, type, ...over });
      expect(parsed.success).toBe(false);
      if (!parsed.success) expect(describeIssues(parsed.error)).toMatch(reason);
    });
  }

  it("requires a user or an anonymous visitor and defaults the device", () => {
    const { user_id: _, context: __, ...anon } = base;
    expect(EventSchema.safeParse({ ...anon, type: "impression", item_id: "t1" }).success).toBe(false);
    const parsed = EventSchema.parse({ ...anon, anonymous_id: "a_x", type: "impression", item_id: "t1" });
    expect(parsed.context.device).toBe("other");
    expect(actorId(parsed)).toBe("a_x");
    expect(actorId({ user_id: "u1", anonymous_id: "a_x" })).toBe("u1");
  });

  it("rejects unknown types, non-v7 ids, zone-less times and item ids where none apply", () => {
    const bad = [
      { ...base, type: "teleport", item_id: "t1" },
      { ...base, type: "impression", item_id: "t1", event_id: "6ba7b810-9dad-11d1-80b4-00c04fd430c8" },
      { ...base, type: "impression", item_id: "t1", occurred_at: "2026-11-25 18:00:00" },
      { ...base, type: "search", item_id: "t1", payload: { query: "x" } },
    ];
    for (const e of bad) expect(EventSchema.safeParse(e).success).toBe(false);
  });
});
