import { COMMERCE_EVENT_TYPES } from "@marquee/contracts";
import { createLogger, httpErrorHandler, InProcessBus } from "@marquee/runtime";
import Fastify from "fastify";
import { v7 as uuidv7 } from "uuid";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { validateBatch } from "./collector.ts";
import { collectorRoutes } from "./routes.ts";

const click = (over: Record<string, unknown> = {}) => ({
  type: "click",
  anonymous_id: "a_visitor1",
  item_id: "t00001",
  context: { device: "desktop", row: "trending", position: 2 },
  ...over,
});

describe("validateBatch", () => {
  it("fills event_id and occurred_at and keeps valid events", () => {
    const { result, events } = validateBatch({ events: [click()] }, new Date("2026-11-25T12:00:00Z"));
    expect(result).toEqual({ accepted: 1, rejected: [] });
    expect(events[0]?.event_id).toMatch(/^[0-9a-f-]{14}7/);
    expect(events[0]?.occurred_at).toBe("2026-11-25T12:00:00.000Z");
    expect(events[0]?.received_at).toBe("2026-11-25T12:00:00.000Z");
    // An id made here is new; one the client chose may be a retry's, and is marked for the loader.
    expect(events[0]?.id_from_client).toBeUndefined();
    const chosen = validateBatch({ events: [click({ event_id: uuidv7() })] });
    expect(chosen.events[0]?.id_from_client).toBe(true);
  });

  it("reports each invalid event by index with a reason", () => {
    const id = uuidv7();
    const { result } = validateBatch({
      events: [
        click(),
        click({ type: "teleport" }),
        click({ item_id: undefined }),
        { type: "rating", user_id: "u1", item_id: "t1", payload: { value: 4.2 } },
        click({ anonymous_id: undefined }),
        "not an object",
        click({ event_id: "1234" }),
        click({ event_id: id }),
        click({ event_id: id }),
        click({ occurred_at: "2099-01-01T00:00:00Z" }),
        { type: "search", anonymous_id: "a1", payload: { query: "heat" }, item_id: "t1" },
        click({ context: { device: "toaster" } }),
      ],
    });
    expect(result.accepted).toBe(2);
    const reasons = Object.fromEntries(result.rejected.map((r) => [r.index, r.reason]));
    expect(Object.keys(reasons).map(Number)).toEqual([1, 2, 3, 4, 5, 6, 8, 9, 10, 11]);
    expect(reasons[1]).toMatch(/^type:/);
    expect(reasons[2]).toMatch(/item_id/);
    expect(reasons[3]).toMatch(/payload\.value: must be in steps of 0\.5/);
    expect(reasons[4]).toMatch(/user_id or anonymous_id/);
    expect(reasons[5]).toBe("event must be an object");
    expect(reasons[6]).toMatch(/event_id: must be a UUIDv7/);
    expect(reasons[8]).toMatch(/duplicates/);
    expect(reasons[9]).toMatch(/future/);
    expect(reasons[10]).toMatch(/item_id/);
    expect(reasons[11]).toMatch(/context\.device/);
  });

  it("refuses every commerce event type: those come only from the outbox", () => {
    const sale = { order_id: "o_1", quality: "HD", amount_minor: 399, currency: "USD" };
    const { result, events } = validateBatch({
      events: [
        { type: "purchase", user_id: "u1", item_id: "t00001", payload: sale },
        { type: "rental_start", user_id: "u1", item_id: "t00001", payload: sale },
        {
          type: "refund",
          user_id: "u1",
          item_id: "t00001",
          payload: { order_id: "o_1", amount_minor: 399, currency: "USD" },
        },
        click(),
      ],
    });
    expect(result.accepted).toBe(1);
    expect(events.map((e) => e.type)).toEqual(["click"]);
    expect(result.rejected.map((r) => r.index)).toEqual([0, 1, 2]);
    for (const r of result.rejected)
      expect(r.reason).toMatch(/^type: (purchase|rental_start|refund) events are recorded by the store/);
    // The list the collector refuses is every type commerce's outbox writes.
    expect([...COMMERCE_EVENT_TYPES].sort()).toEqual(["purchase", "refund", "rental_start"]);
  });

  it("refuses occurred_at older than the allowed age (30 days unless configured) and the year 0000", () => {
    const now = new Date("2026-11-25T12:00:00Z");
    const batch = {
      events: [
        click({ occurred_at: "2026-10-27T12:00:00Z" }), // 29 days
        click({ occurred_at: "2026-10-20T12:00:00Z" }), // 36 days
        click({ occurred_at: "0000-01-01T00:00:00Z" }),
        click({ occurred_at: "1999-03-01T00:00:00Z" }),
        click({ occurred_at: "2026-11-25T12:05:00Z" }), // within the clock skew allowed
      ],
    };
    const { result } = validateBatch(structuredClone(batch), now);
    expect(result.accepted).toBe(2);
    const reasons = Object.fromEntries(result.rejected.map((r) => [r.index, r.reason]));
    expect(reasons[1]).toBe("occurred_at: is more than 30 days in the past");
    expect(reasons[2]).toMatch(/^occurred_at: must be in the years 1970–2199/);
    expect(reasons[3]).toBe("occurred_at: is more than 30 days in the past");
    const wider = validateBatch(structuredClone(batch), now, { maxEventAgeDays: 60 });
    expect(wider.result.rejected.map((r) => r.index)).toEqual([2, 3]);
  });

  it("one request cannot spread its events over more than a couple of monthly partitions", () => {
    const now = new Date("2026-11-25T12:00:00Z");
    // 120 events a month apart: what made ClickHouse refuse the whole insert, and with it
    // every other request's events batched into it.
    const events = Array.from({ length: 120 }, (_, m) =>
      click({ occurred_at: new Date(Date.UTC(2026, 10 - m, 1)).toISOString() }),
    );
    const { events: accepted } = validateBatch({ events }, now);
    const months = new Set(accepted.map((e) => e.occurred_at.slice(0, 7)));
    expect(months.size).toBeLessThanOrEqual(2);
  });

  it("rejects bodies that are not a batch", () => {
    expect(() => validateBatch([])).toThrow(/JSON object/);
    expect(() => validateBatch({ events: {} })).toThrow(/must be an array/);
    expect(() => validateBatch({ events: [] })).toThrow(/must not be empty/);
    expect(() => validateBatch({ events: Array.from({ length: 501 }, () => click()) })).toThrow(/at most 500/);
  });
});

describe("POST /v1/events", () => {
  let bus: InProcessBus;
  let received: unknown[];
  let app: ReturnType<typeof Fastify>;

  beforeEach(async () => {
    bus = new InProcessBus({ lingerMs: 0 });
    received = [];
    await bus.subscribe("events.v1", "test", async (batch) => {
      received.push(...batch.messages.map((m) => m.value));
    });
    app = Fastify({ loggerInstance: createLogger({ service: "test", level: "silent" }) });
    app.setErrorHandler(httpErrorHandler);
    await app.register(collectorRoutes, { bus, logger: createLogger({ service: "test", level: "silent" }) });
  });
  afterEach(async () => {
    await app.close();
  });

  const post = (payload: string, contentType = "application/json") =>
    app.inject({ method: "POST", url: "/v1/events", payload, headers: { "content-type": contentType } });

  it("accepts valid events and delivers them to the bus before answering", async () => {
    const res = await post(JSON.stringify({ events: [click(), click({ item_id: "t00002" })] }));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ accepted: 2, rejected: [] });
    expect(received).toHaveLength(2);
  });

  it("a thousand forged purchases reach nothing: each refused with a reason, the bus sees none", async () => {
    const forged = (i: number) => ({
      type: "purchase",
      anonymous_id: `a_forger${i % 50}`,
      item_id: "t00666",
      payload: { order_id: `o_fake${i}`, quality: "4K", amount_minor: 1, currency: "USD" },
    });
    for (let r = 0; r < 2; r++) {
      const res = await post(JSON.stringify({ events: Array.from({ length: 500 }, (_, i) => forged(r * 500 + i)) }));
      expect(res.statusCode).toBe(400);
      const body = res.json() as { accepted: number; rejected: { index: number; reason: string }[] };
      expect(body.accepted).toBe(0);
      expect(body.rejected).toHaveLength(500);
      expect(body.rejected[0]?.reason).toMatch(/purchase events are recorded by the store/);
    }
    // Mixed with a real click, the click goes through and the purchase does not.
    const mixed = await post(JSON.stringify({ events: [forged(1), click()] }));
    expect(mixed.statusCode).toBe(200);
    expect(mixed.json()).toMatchObject({ accepted: 1, rejected: [{ index: 0 }] });
    expect(received.map((e) => (e as { type: string }).type)).toEqual(["click"]);
  });

  it("accepts a text/plain beacon body", async () => {
    const res = await post(JSON.stringify({ events: [click()] }), "text/plain;charset=UTF-8");
    expect(res.statusCode).toBe(200);
    expect(received).toHaveLength(1);
  });

  it("answers malformed JSON with 400 and a reason", async () => {
    const res = await post('{"events": [');
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("invalid_json");
    const beacon = await post("nope", "text/plain");
    expect(beacon.statusCode).toBe(400);
    expect(beacon.json().error.code).toBe("invalid_json");
    expect(received).toHaveLength(0);
  });

  it("answers an oversized body with 413", async () => {
    const big = JSON.stringify({ events: [click({ payload: { target: "x".repeat(2 * 1024 * 1024) } })] });
    const res = await post(big);
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe("payload_too_large");
  });

  it("answers too many events with 413 and a batch of only bad events with 400", async () => {
    const many = await post(JSON.stringify({ events: Array.from({ length: 501 }, () => click()) }));
    expect(many.statusCode).toBe(413);
    expect(many.json().error.message).toMatch(/at most 500/);
    const bad = await post(JSON.stringify({ events: [{ type: "click" }] }));
    expect(bad.statusCode).toBe(400);
    expect(bad.json().accepted).toBe(0);
    expect(bad.json().rejected[0].index).toBe(0);
  });

  it("answers an unsupported media type with 415", async () => {
    const res = await post("events=1", "application/x-www-form-urlencoded");
    expect(res.statusCode).toBe(415);
  });

  it("answers 503 and accepts nothing when storage fails", async () => {
    const failing = new InProcessBus({ lingerMs: 0 });
    await failing.subscribe("events.v1", "broken", async () => {
      throw new Error("clickhouse down");
    });
    const a = Fastify({ loggerInstance: createLogger({ service: "test", level: "silent" }) });
    a.setErrorHandler(httpErrorHandler);
    await a.register(collectorRoutes, { bus: failing, logger: createLogger({ service: "test", level: "silent" }) });
    const res = await a.inject({ method: "POST", url: "/v1/events", payload: { events: [click()] } });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe("unavailable");
    expect(res.body).not.toMatch(/clickhouse down/);
    await a.close();
  });
});

describe("collector hardening", () => {
  const build = async (options: { rateLimitPerMinute?: number; corsOrigins?: string[] }) => {
    const bus = new InProcessBus({ lingerMs: 0 });
    await bus.subscribe("events.v1", "test", async () => undefined);
    const app = Fastify({ loggerInstance: createLogger({ service: "test", level: "silent" }) });
    app.setErrorHandler(httpErrorHandler);
    await app.register(collectorRoutes, {
      bus,
      logger: createLogger({ service: "test", level: "silent" }),
      ...options,
    });
    return app;
  };
  const body = JSON.stringify({ events: [click()] });
  const headers = { "content-type": "application/json" };

  it("answers 429 with Retry-After once a client exceeds its per-minute limit, per client", async () => {
    const app = await build({ rateLimitPerMinute: 3 });
    for (let i = 0; i < 3; i++) {
      const ok = await app.inject({ method: "POST", url: "/v1/events", payload: body, headers });
      expect(ok.statusCode).toBe(200);
    }
    const limited = await app.inject({ method: "POST", url: "/v1/events", payload: body, headers });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect(limited.json().error.code).toBe("rate_limited");
    // Another client is not affected.
    const other = await app.inject({
      method: "POST",
      url: "/v1/events",
      payload: body,
      headers,
      remoteAddress: "10.0.0.9",
    });
    expect(other.statusCode).toBe(200);
    await app.close();
  });

  it("allows the configured storefront origins and no others", async () => {
    const app = await build({ corsOrigins: ["https://shop.example"] });
    const preflight = await app.inject({
      method: "OPTIONS",
      url: "/v1/events",
      headers: { origin: "https://shop.example", "access-control-request-method": "POST" },
    });
    expect(preflight.statusCode).toBeLessThan(300);
    expect(preflight.headers["access-control-allow-origin"]).toBe("https://shop.example");
    const post = await app.inject({
      method: "POST",
      url: "/v1/events",
      payload: body,
      headers: { ...headers, origin: "https://shop.example" },
    });
    expect(post.headers["access-control-allow-origin"]).toBe("https://shop.example");
    const evil = await app.inject({
      method: "POST",
      url: "/v1/events",
      payload: body,
      headers: { ...headers, origin: "https://evil.example" },
    });
    expect(evil.headers["access-control-allow-origin"]).toBeUndefined();
    await app.close();
  });

  it("rejects wrong types and missing ids per event with a reason", async () => {
    const app = await build({});
    const res = await app.inject({
      method: "POST",
      url: "/v1/events",
      headers,
      payload: JSON.stringify({
        events: [
          click({ item_id: 42 }),
          click({ anonymous_id: undefined }),
          click({ context: { position: "first" } }),
          { type: 7, anonymous_id: "a1" },
        ],
      }),
    });
    expect(res.statusCode).toBe(400);
    const { accepted, rejected } = res.json() as { accepted: number; rejected: { index: number; reason: string }[] };
    expect(accepted).toBe(0);
    expect(rejected.map((r) => r.index)).toEqual([0, 1, 2, 3]);
    expect(rejected[0]?.reason).toMatch(/item_id/);
    expect(rejected[1]?.reason).toMatch(/user_id or anonymous_id/);
    expect(rejected[2]?.reason).toMatch(/context\.position/);
    expect(rejected[3]?.reason).toMatch(/type/);
    await app.close();
  });
});
