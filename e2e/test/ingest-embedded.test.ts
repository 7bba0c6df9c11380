/**
 * The embedded ingest path end to end, with real parts: the HTTP collector, the in-process bus,
 * the loader and chDB. What a store without Kafka does when clients misbehave or retry.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { migrateClickHouse, titleDailyCounts } from "@marquee/analytics";
import { collectorRoutes, startLoader } from "@marquee/ingest";
import {
  type BusBatch,
  type ClickHouseClient,
  type ClickHouseHandle,
  createClickHouse,
  createLogger,
  createMetricsRegistry,
  httpErrorHandler,
  InProcessBus,
  loadConfig,
  MemoryOnlineStore,
  type Registry,
} from "@marquee/runtime";
import Fastify from "fastify";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const logger = createLogger({ service: "test", level: "silent" });

// chDB binds one data directory per process: this file opens exactly one, for every test.
describe("embedded ingest: collector → in-process bus → loader → chDB", () => {
  let dir: string;
  let ch: ClickHouseHandle;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "marquee-ingest-embedded-"));
    ch = await createClickHouse(loadConfig({ DATA_DIR: dir }));
    await migrateClickHouse(ch.client);
  });
  afterAll(async () => {
    await ch?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A store's ingest: the collector on a fresh in-process bus (its own topic), the loader on it. */
  async function pipeline(
    topic: string,
    options: { client?: ClickHouseClient; maxEventAgeDays?: number; lingerMs?: number } = {},
  ) {
    const bus = new InProcessBus({ lingerMs: options.lingerMs ?? 20, maxBatch: 50_000, logger });
    const dead: BusBatch["messages"] = [];
    await bus.subscribe(`${topic}.dlq`, "test-dlq", async (batch) => {
      dead.push(...batch.messages);
    });
    const metrics = createMetricsRegistry({ defaults: false });
    await startLoader(
      bus,
      { clickhouse: options.client ?? ch.client, online: new MemoryOnlineStore(), logger, metrics, retries: 1 },
      { topic },
    );
    const app = Fastify({ loggerInstance: logger });
    app.setErrorHandler(httpErrorHandler);
    await app.register(collectorRoutes, {
      bus,
      logger,
      topic,
      ...(options.maxEventAgeDays ? { maxEventAgeDays: options.maxEventAgeDays } : {}),
    });
    const post = (events: unknown[]) => app.inject({ method: "POST", url: "/v1/events", payload: { events } });
    return { bus, app, post, dead, metrics };
  }

  const count = async (where: string, params: Record<string, unknown>) => {
    const rs = await ch.client.query({
      query: `SELECT count() AS n, uniqExact(event_id) AS u FROM events WHERE ${where}`,
      query_params: params,
      format: "JSONEachRow",
    });
    const [r] = await rs.json<{ n: number; u: number }>();
    return { rows: Number(r?.n ?? 0), unique: Number(r?.u ?? 0) };
  };

  const metricValue = async (registry: Registry, name: string, labels: Record<string, string>) => {
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
    const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
    return values
      .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
      .reduce((sum, v) => sum + v.value, 0);
  };

  const click = (actor: string, item: string, over: Record<string, unknown> = {}) => ({
    type: "click",
    user_id: actor,
    item_id: item,
    context: { device: "desktop" },
    ...over,
  });
  const monthsBack = (m: number) => new Date(Date.UTC(2026, 10 - m, 15)).toISOString();

  it("a request spread over 120 months fails nobody else's events (issue 17.10)", async () => {
    const { post, app } = await pipeline("test.spread");
    // 100 ordinary requests and one whose events each name another month, all at once, so the
    // bus puts them into the same inserts: ClickHouse refuses an insert over 100+ partitions.
    const spread = Array.from({ length: 120 }, (_, m) => click("spreader", "t_spread", { occurred_at: monthsBack(m) }));
    const results = await Promise.all([
      post(spread),
      ...Array.from({ length: 100 }, (_, r) =>
        post(Array.from({ length: 5 }, (_, i) => click(`viewer${r}`, `t_ok${i}`))),
      ),
    ]);
    const [attack, ...ordinary] = results;
    expect(ordinary.map((r) => r.statusCode)).toEqual(ordinary.map(() => 200));
    expect(await count("user_id LIKE 'viewer%'", {})).toEqual({ rows: 500, unique: 500 });
    // The spreader's old events are refused, each with its reason; the recent ones stored.
    const body = attack?.json() as { accepted: number; rejected: { reason: string }[] };
    expect(body.rejected.length).toBeGreaterThan(110);
    expect(body.rejected[0]?.reason).toMatch(/more than 30 days in the past/);
    expect((await count("user_id = 'spreader'", {})).rows).toBe(body.accepted);
    await app.close();
  });

  it("even where old events are allowed, a batch over 100+ months is split, not failed", async () => {
    // An operator who accepts ten years of backlog: the loader splits the insert ClickHouse
    // refuses for its partitions; every event lands and every request gets its 200.
    const { post, app, dead, metrics } = await pipeline("test.spread-allowed", { maxEventAgeDays: 3650 });
    const spread = Array.from({ length: 120 }, (_, m) => click("backlog", "t_backlog", { occurred_at: monthsBack(m) }));
    const results = await Promise.all([
      post(spread),
      ...Array.from({ length: 20 }, (_, r) => post([click(`later${r}`, "t_later")])),
    ]);
    expect(results.map((r) => r.statusCode)).toEqual(results.map(() => 200));
    expect(await count("user_id = 'backlog'", {})).toEqual({ rows: 120, unique: 120 });
    expect((await count("user_id LIKE 'later%'", {})).rows).toBe(20);
    expect(dead).toHaveLength(0);
    // It did take a split: ClickHouse refused the insert whole first.
    expect(await metricValue(metrics, "marquee_loader_insert_errors_total", { class: "permanent" })).toBeGreaterThan(0);
    await app.close();
  });

  it("a client's retry is stored once, whatever its neighbours and whenever it comes (issue 17.11)", async () => {
    const { post, app } = await pipeline("test.retry");
    const ids = Array.from({ length: 4 }, () => uuidv7());
    const e = (i: number) => click("retrier", "t_retry", { event_id: ids[i] });
    expect((await post([e(0), e(1)])).statusCode).toBe(200);
    // The retry of that request, with another event beside it, and its ids upper-cased (the
    // schema takes either); then a request arriving together with another retry.
    expect((await post([e(2), { ...e(0), event_id: ids[0]?.toUpperCase() }, e(1)])).statusCode).toBe(200);
    const both = await Promise.all([post([e(3), e(2)]), post([e(1), click("other", "t_retry")])]);
    expect(both.map((r) => r.statusCode)).toEqual([200, 200]);
    expect(await count("user_id = 'retrier'", {})).toEqual({ rows: 4, unique: 4 });
    // And the views over events count each once: Trending reads these.
    const perDay = await titleDailyCounts(ch.client, "t_retry");
    expect(perDay.reduce((sum, d) => sum + d.events, 0)).toBe(5);
    await app.close();
  });

  it("an insert that can never succeed does not stop the ones after it (issue 10.7)", async () => {
    const unknownId = uuidv7();
    const refusedId = uuidv7();
    let attempts = 0;
    // ClickHouse refusing two rows for ever: one with an error nobody foresaw, one with a
    // type error (its data). Everything else goes to the real chDB.
    const failing = new Proxy(ch.client, {
      get(target, prop, receiver) {
        if (prop !== "exec") return Reflect.get(target, prop, receiver);
        return async (params: Parameters<ClickHouseClient["exec"]>[0]) => {
          if (params.query.includes(unknownId)) {
            attempts++;
            throw new Error("simulated: the engine says no, for reasons of its own");
          }
          if (params.query.includes(refusedId)) {
            throw Object.assign(new Error("Code: 53. DB::Exception: Type mismatch (simulated)"), { code: "53" });
          }
          return target.exec(params);
        };
      },
    });
    const { post, app, dead, metrics } = await pipeline("test.never", { client: failing });
    const first = await post([
      click("stuck", "t_a"),
      click("stuck", "t_b", { event_id: unknownId }),
      click("stuck", "t_c"),
      click("stuck", "t_d", { event_id: refusedId }),
    ]);
    expect(first.statusCode).toBe(200);
    const later = await post([click("stuck", "t_e")]);
    expect(later.statusCode).toBe(200);
    expect((await count("user_id = 'stuck'", {})).rows).toBe(3);
    // Both are in the DLQ as they were published, with the reason.
    const byId = new Map(dead.map((m) => [(m.value as { event_id: string }).event_id, m]));
    expect(byId.get(unknownId)?.headers?.["x-error"]).toMatch(/engine says no/);
    expect(byId.get(refusedId)?.headers?.["x-error"]).toMatch(/code 53.*Type mismatch/);
    expect(byId.get(unknownId)?.value).toMatchObject({
      type: "click",
      item_id: "t_b",
      received_at: expect.any(String),
    });
    expect(dead).toHaveLength(2);
    // The unknown error was tried more than once before giving up, and raised the alarm.
    expect(attempts).toBeGreaterThan(1);
    expect(await metricValue(metrics, "marquee_loader_dead_letters_total", { class: "unknown" })).toBe(1);
    expect(await metricValue(metrics, "marquee_loader_dead_letters_total", { class: "permanent" })).toBe(1);
    await app.close();
  });

  it("while the store is away the batch is refused (503), then loads once it is back", async () => {
    let down = true;
    const flaky = new Proxy(ch.client, {
      get(target, prop, receiver) {
        if (prop !== "exec") return Reflect.get(target, prop, receiver);
        return async (params: Parameters<ClickHouseClient["exec"]>[0]) => {
          if (down) throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8123"), { code: "ECONNREFUSED" });
          return target.exec(params);
        };
      },
    });
    const { post, app, dead } = await pipeline("test.away", { client: flaky });
    const events = [click("patient", "t_p1", { event_id: uuidv7() })];
    expect((await post(events)).statusCode).toBe(503);
    down = false;
    expect((await post(events)).statusCode).toBe(200);
    expect(await count("user_id = 'patient'", {})).toEqual({ rows: 1, unique: 1 });
    expect(dead).toHaveLength(0);
    await app.close();
  });
});
