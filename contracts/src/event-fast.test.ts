import { describe, expect, it } from "vitest";
import { EVENT_TYPES, EventSchema, parseEventFast } from "./index.ts";

/** A small seeded PRNG (mulberry32), so a failure names a case that can be replayed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof rng>;

const sale = { order_id: "o1", quality: "HD", amount_minor: 499, currency: "USD" };
/** Valid payloads per type, the optional parts included or not. */
const PAYLOADS: Record<string, (Record<string, unknown> | undefined)[]> = {
  page_view: [{ path: "/titles/t1" }, { path: "/", referrer: "https://example.com" }, { path: "/x", referrer: "" }],
  impression: [undefined, {}],
  click: [undefined, {}, { target: "poster" }, { target: "link" }],
  trailer_play: [undefined, {}, { position_s: 0 }, { position_s: 12.5 }],
  play_start: [undefined, {}, { quality: "4K" }, { position_s: 30, playback_id: "pb1" }],
  play_progress: [{ position_s: 60 }, { position_s: 60, duration_s: 5400, quality: "SD", playback_id: "p:2" }],
  play_complete: [{ watched_s: 5300 }, { watched_s: 0, duration_s: 5400 }],
  watchlist_add: [undefined, {}],
  not_interested: [undefined, {}],
  rating: [{ value: 4.5 }, { value: 0.5 }, { value: 5 }],
  search: [{ query: "space heist" }, { query: "x", results: 0 }, { query: "y", results: 12 }],
  purchase: [sale, { ...sale, quality: "4K", amount_minor: 0, currency: "EUR" }],
  rental_start: [
    sale,
    { ...sale, expires_at: "2026-12-25T18:00:00Z" },
    { ...sale, expires_at: "2026-12-25T18:00:00+01:00" },
  ],
  refund: [
    { order_id: "o1", amount_minor: 499, currency: "USD" },
    { order_id: "o1", amount_minor: 1, currency: "USD", reason: "never played" },
  ],
};
const WITHOUT_ITEM = new Set(["page_view", "search"]);

function validEvent(r: Rng): Record<string, unknown> {
  const type = r.pick(EVENT_TYPES);
  const e: Record<string, unknown> = {
    event_id: r.pick(["01936d3e-7a2b-7c3d-8e4f-0123456789ab", "01936D3E-7A2B-7C3D-BE4F-0123456789AB"]),
    occurred_at: r.pick(["2026-11-25T18:00:00.000Z", "2026-11-25T18:00:00Z", "2024-02-29T23:59:59.5-05:30"]),
    type,
  };
  const who = r.int(3);
  if (who !== 1) e.user_id = r.pick(["u00001", "u.1:x-y_z", "A"]);
  if (who !== 0) e.anonymous_id = r.pick(["anon-1", "9f"]);
  if (r.chance(0.5)) e.session_id = "s1";
  if (!WITHOUT_ITEM.has(type)) e.item_id = r.pick(["t1", "t00042"]);
  if (r.chance(0.7)) {
    const ctx: Record<string, unknown> = {};
    if (r.chance(0.8)) ctx.device = r.pick(["phone", "tablet", "desktop", "tv", "other"]);
    if (r.chance(0.5)) ctx.page = r.pick(["home", "", "/titles/t1"]);
    if (r.chance(0.5)) ctx.row = "trending";
    if (r.chance(0.5)) ctx.position = r.pick([0, 3, 10_000]);
    if (r.chance(0.3)) ctx.model_version = "ease:12";
    if (r.chance(0.3)) ctx.variant = "B";
    e.context = ctx;
  }
  const payload = r.pick(PAYLOADS[type] ?? [undefined]);
  if (payload !== undefined) e.payload = { ...payload };
  return e;
}

/** Values that break one rule or another, or that zod would transform. */
const ODD: unknown[] = [
  undefined,
  null,
  true,
  0,
  -1,
  0.25,
  1.5,
  2.75,
  4.25,
  3,
  7,
  10_001,
  604_801,
  Number.MAX_SAFE_INTEGER + 2,
  1e9,
  "",
  " ",
  " padded ",
  "t 1",
  "x".repeat(65),
  "y".repeat(201),
  "USD",
  "usd",
  "HD",
  "8K",
  "poster",
  "tv",
  "2026-02-30T00:00:00Z",
  "2026-11-25T18:00:00",
  "2026-11-25T24:00:00Z",
  "2026-11-25 18:00:00Z",
  "0000-01-01T00:00:00Z",
  "1969-12-31T23:59:59.999Z",
  "1970-01-01T00:00:00+01:00",
  "2199-12-31T23:59:59-05:00",
  "2200-01-01T00:00:00Z",
  "9999-12-31T23:59:59Z",
  "01936d3e-7a2b-6c3d-8e4f-0123456789ab",
  "__proto__",
  "constructor",
  [],
  ["a"],
  {},
  { value: 3 },
  { device: "tv" },
];

/** Change one thing: a key removed, set to an odd value, or added; at the top or one level down. */
function mutate(r: Rng, e: Record<string, unknown>): void {
  let target = e;
  if (r.chance(0.4)) {
    const nested = r.pick(["context", "payload"]);
    if (typeof e[nested] !== "object" || e[nested] === null || Array.isArray(e[nested])) e[nested] = {};
    target = e[nested] as Record<string, unknown>;
  }
  const known = Object.keys(target);
  const key =
    r.chance(0.75) && known.length > 0
      ? r.pick(known)
      : r.pick([
          "extra",
          "received_at",
          "id_from_client",
          "item_id",
          "user_id",
          "anonymous_id",
          "context",
          "payload",
          "type",
          "__proto__",
          "position_s",
          "duration_s",
          "quality",
          "reason",
          "query",
          "value",
          "expires_at",
          "target",
          "device",
          "position",
        ]);
  if (r.chance(0.25)) delete target[key];
  else if (key === "type") target[key] = r.pick([...EVENT_TYPES, "unknown", "toString"]);
  else if (key === "__proto__")
    Object.defineProperty(target, key, {
      value: { polluted: true },
      enumerable: true,
      configurable: true,
      writable: true,
    });
  else target[key] = r.pick(ODD);
}

describe("parseEventFast", () => {
  it("never disagrees with EventSchema: its events are zod's, and everything else is left to zod", () => {
    const r = rng(20261126);
    let fast = 0;
    let validFast = 0;
    let valid = 0;
    for (let i = 0; i < 40_000; i++) {
      const original = validEvent(r);
      const mutations = i % 4 === 0 ? 0 : 1 + r.int(3);
      for (let m = 0; m < mutations; m++) mutate(r, original);
      const forZod = structuredClone(original);
      const forFast = structuredClone(original);
      const collected = r.chance(0.3);
      if (collected) forFast.received_at = "2026-11-25T18:00:01.000Z";
      if (collected && r.chance(0.5)) forFast.id_from_client = true;
      const expected = EventSchema.safeParse(forZod);
      const got = parseEventFast(forFast, collected);
      if (mutations === 0) {
        valid++;
        if (got !== undefined) validFast++;
      }
      if (got === undefined) continue;
      fast++;
      const label = `case ${i}: ${JSON.stringify(original)}`;
      expect(expected.success, label).toBe(true);
      const {
        received_at: _r,
        id_from_client: _c,
        ...event
      } = got as typeof got & {
        received_at?: string;
        id_from_client?: true;
      };
      expect(event, label).toStrictEqual(expected.data);
    }
    // Every untouched valid event takes the fast path, and many mutated ones do too.
    expect(validFast).toBe(valid);
    expect(fast).toBeGreaterThan(valid);
  });

  it("takes the fast path for what the collector and the loader see, filling zod's defaults in place", () => {
    const raw: Record<string, unknown> = {
      event_id: "01936d3e-7a2b-7c3d-8e4f-0123456789ab",
      occurred_at: "2026-11-25T18:00:00.000Z",
      type: "play_start",
      user_id: "u1",
      item_id: "t1",
      context: { page: "home" },
    };
    const got = parseEventFast(raw);
    expect(got).toBe(raw);
    expect(raw).toMatchObject({ context: { device: "other", page: "home" }, payload: { position_s: 0 } });
    const collected = { ...raw, received_at: "2026-11-25T18:00:01.000Z" };
    expect(parseEventFast(collected)).toBeUndefined();
    expect(parseEventFast(collected, true)).toBe(collected);
  });

  it("leaves to zod what zod would change or refuse", () => {
    const base = {
      event_id: "01936d3e-7a2b-7c3d-8e4f-0123456789ab",
      occurred_at: "2026-11-25T18:00:00.000Z",
      user_id: "u1",
    };
    // zod trims the query, strips unknown keys, and refuses events with neither actor.
    expect(parseEventFast({ ...base, type: "search", payload: { query: " heist " } })).toBeUndefined();
    expect(parseEventFast({ ...base, type: "impression", item_id: "t1", extra: 1 })).toBeUndefined();
    expect(parseEventFast({ ...base, user_id: undefined, type: "impression", item_id: "t1" })).toBeUndefined();
    expect(parseEventFast({ ...base, type: "rating", item_id: "t1", payload: { value: 4.25 } })).toBeUndefined();
    expect(parseEventFast({ ...base, type: "toString", item_id: "t1" })).toBeUndefined();
    expect(parseEventFast([base])).toBeUndefined();
  });

  it("refuses the years ClickHouse cannot hold, on both paths", () => {
    const at = (occurred_at: string) => ({
      event_id: "01936d3e-7a2b-7c3d-8e4f-0123456789ab",
      occurred_at,
      type: "impression",
      user_id: "u1",
      item_id: "t1",
    });
    for (const bad of [
      "0000-01-01T00:00:00Z",
      "1899-12-31T23:59:59Z",
      "2300-01-01T00:00:00Z",
      "9999-12-31T23:59:59Z",
    ]) {
      expect(parseEventFast(at(bad)), bad).toBeUndefined();
      const zod = EventSchema.safeParse(at(bad));
      expect(zod.success, bad).toBe(false);
      expect(zod.error?.issues[0]?.message, bad).toMatch(/years 1970–2199/);
    }
    expect(parseEventFast(at("1970-01-01T00:00:00Z"))).toBeDefined();
    expect(EventSchema.safeParse(at("2199-12-31T23:59:59Z")).success).toBe(true);
  });
});
