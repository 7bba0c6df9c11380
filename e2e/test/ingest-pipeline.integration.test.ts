import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { eventTotals, migrateClickHouse } from "@marquee/analytics";
import { collectorRoutes, type EventLoader, startLoader } from "@marquee/ingest";
import {
  type ClickHouseClient,
  type ClickHouseHandle,
  createClickHouse,
  createLogger,
  freePort,
  httpErrorHandler,
  KafkaBus,
  type KafkaBusBatch,
  loadConfig,
  MemoryOnlineStore,
  PACKED_CONTENT_TYPE,
} from "@marquee/runtime";
import { serviceSuite } from "@marquee/runtime/testing";
import Fastify from "fastify";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, expect, it } from "vitest";
import { until } from "./support.ts";

const execFileAsync = promisify(execFile);
const REPO = fileURLToPath(new URL("../..", import.meta.url));
const logger = createLogger({ service: "test", level: process.env.TEST_LOG_LEVEL === "debug" ? "debug" : "silent" });
const RUN = `${Date.now().toString(36)}-${process.pid}`;
let topicSeq = 0;
const uniqueTopic = (name: string) => `test.${name}.${RUN}.${++topicSeq}`;

function event(i: number, actor = `u${i % 97}`): Record<string, unknown> {
  return {
    event_id: uuidv7(),
    type: i % 5 === 0 ? "impression" : "click",
    user_id: actor,
    item_id: `t${String(i % 500).padStart(5, "0")}`,
    occurred_at: new Date(Date.now() - 60_000).toISOString(),
    received_at: new Date().toISOString(),
    context: { device: "desktop", row: "trending", position: i % 20 },
  };
}

/** Rows loaded from one topic: count, distinct event ids. */
async function topicTotals(client: ClickHouseClient, topic: string): Promise<{ rows: number; unique: number }> {
  const rs = await client.query({
    query: "SELECT count() AS rows, uniqExact(event_id) AS unique FROM events WHERE source_topic = {topic:String}",
    query_params: { topic },
    format: "JSONEachRow",
  });
  const [r] = await rs.json<{ rows: number; unique: number }>();
  return { rows: Number(r?.rows ?? 0), unique: Number(r?.unique ?? 0) };
}

async function waitForRows(client: ClickHouseClient, topic: string, n: number, timeoutMs = 60_000) {
  return until(
    `${n} rows from ${topic}`,
    async () => {
      const t = await topicTotals(client, topic);
      return t.rows >= n ? t : undefined;
    },
    timeoutMs,
    200,
  );
}

/** Read `<topic>.dlq` as raw records until at least `n` arrived; later arrivals keep landing in the array. */
async function deadLetters(b: KafkaBus, topic: string, n: number): Promise<KafkaBusBatch<Buffer>["messages"]> {
  const dead: KafkaBusBatch<Buffer>["messages"] = [];
  await b.subscribe<Buffer>(
    `${topic}.dlq`,
    `dlq-reader-${topic}`,
    async (batch) => {
      dead.push(...(batch as KafkaBusBatch<Buffer>).messages);
    },
    { raw: true },
  );
  await until(`${n} dead letters`, async () => (dead.length >= n ? true : undefined), 30_000);
  return dead;
}

// chDB binds one data directory per process: this file opens exactly one, for every test.
// serviceSuite wants a URL; TEST_KAFKA_BROKERS is host:port[,host:port].
const BROKERS = process.env.TEST_KAFKA_BROKERS ?? "";
serviceSuite("Kafka → ClickHouse pipeline", BROKERS ? `kafka://${BROKERS.split(",")[0]}` : undefined, () => {
  const brokers = BROKERS;
  let dir: string;
  let ch: ClickHouseHandle;
  const buses: KafkaBus[] = [];

  const bus = async (topic: string, extra: Partial<Parameters<typeof KafkaBus.connect>[0]> = {}) => {
    const b = await KafkaBus.connect({
      brokers: brokers.split(","),
      clientId: `test-${RUN}`,
      logger,
      topics: [{ name: topic, partitions: 3 }],
      ...extra,
    });
    buses.push(b);
    return b;
  };
  const loader = (b: KafkaBus, topic: string, client: ClickHouseClient = ch.client): Promise<EventLoader> =>
    startLoader(
      b,
      { clickhouse: client, online: new MemoryOnlineStore(), logger, retries: 0 },
      { topic, group: `loader-${topic}`, batchRows: 500, batchMs: 50 },
    );

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "marquee-pipeline-"));
    ch = await createClickHouse(loadConfig({ DATA_DIR: dir }));
    await migrateClickHouse(ch.client);
  });

  afterAll(async () => {
    await Promise.allSettled(buses.map((b) => b.close()));
    // Delete this run's topics on the shared broker.
    const cleaner = await KafkaBus.connect({ brokers: brokers.split(","), logger });
    const admin = cleaner.admin();
    try {
      await admin.connect();
      const mine = (await admin.listTopics()).filter((t) => t.includes(RUN));
      if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    } finally {
      await admin.disconnect();
      await cleaner.close();
    }
    await ch?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("N events through the HTTP collector → exactly N rows, with online histories", async () => {
    const topic = uniqueTopic("http");
    const b = await bus(topic);
    const online = new MemoryOnlineStore();
    await startLoader(
      b,
      { clickhouse: ch.client, online, logger },
      { topic, group: `loader-${topic}`, batchRows: 700, batchMs: 50 },
    );
    const app = Fastify({ loggerInstance: logger });
    app.setErrorHandler(httpErrorHandler);
    await app.register(collectorRoutes, { bus: b, logger, topic });
    const N = 3_000;
    const events = Array.from({ length: N }, (_, i) => {
      const { received_at: _r, ...e } = event(i);
      return e;
    });
    for (let i = 0; i < N; i += 500) {
      const res = await app.inject({
        method: "POST",
        url: "/v1/events",
        payload: { events: events.slice(i, i + 500) },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ accepted: 500, rejected: [] });
    }
    const totals = await waitForRows(ch.client, topic, N);
    expect(totals).toEqual({ rows: N, unique: N });
    // Give stragglers a moment: nothing more may arrive.
    await new Promise((r) => setTimeout(r, 500));
    expect(await topicTotals(ch.client, topic)).toEqual({ rows: N, unique: N });
    const recent = await online.recent("u1", 5);
    expect(recent.length).toBeGreaterThan(0);
    expect(recent.every((r) => r.type === "click")).toBe(true);
    await app.close();
  });

  it("sends a poison message to the DLQ with its bytes and source, and keeps loading after it", async () => {
    const topic = uniqueTopic("poison");
    const b = await bus(topic);
    await loader(b, topic);
    await b.publish(
      topic,
      Array.from({ length: 100 }, (_, i) => ({ key: "u1", value: event(i, "u1") })),
    );
    await b.publishRaw(topic, [
      { key: "u1", value: "{not json", headers: { origin: "test" } },
      { key: "u1", value: JSON.stringify({ ...event(1, "u1"), type: "teleport" }) },
    ]);
    await b.publish(
      topic,
      Array.from({ length: 100 }, (_, i) => ({ key: "u1", value: event(i, "u1") })),
    );
    expect(await waitForRows(ch.client, topic, 200)).toEqual({ rows: 200, unique: 200 });

    const dead = await deadLetters(b, topic, 2);
    expect(dead).toHaveLength(2);
    const [bad, teleport] = dead;
    expect(bad?.value.toString()).toBe("{not json");
    expect(bad?.headers?.origin).toBe("test");
    expect(bad?.headers?.["x-source-topic"]).toBe(topic);
    expect(bad?.headers?.["x-source-offset"]).toBe("100");
    expect(bad?.headers?.["x-error"]).toMatch(/not JSON/);
    expect(teleport?.headers?.["x-error"]).toMatch(/^type:/);
  });

  it("packed records: one bad event goes to the DLQ alone (its bytes, its index), its neighbours load", async () => {
    const topic = uniqueTopic("packed-poison");
    const b = await bus(topic);
    await loader(b, topic);
    const bad = { ...event(5, "u1"), type: "teleport" };
    const values = [...Array.from({ length: 5 }, (_, i) => event(i, "u1")), bad, event(6, "u1")];
    await b.publish(
      topic,
      values.map((value) => ({ key: "u1", value })),
      { pack: true },
    );
    // A packed record whose framing is broken (one key for two lines) goes to the DLQ whole.
    const broken = `${JSON.stringify(event(8, "u3"))}\n${JSON.stringify(event(9, "u3"))}`;
    await b.publishRaw(topic, [
      { key: "u3", value: broken, headers: { "content-type": PACKED_CONTENT_TYPE, "x-keys": '["u3"]' } },
    ]);
    expect(await waitForRows(ch.client, topic, 6)).toEqual({ rows: 6, unique: 6 });

    const dead = await deadLetters(b, topic, 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(dead).toHaveLength(2);
    const [one, whole] = dead;
    expect(one?.value.toString()).toBe(JSON.stringify(bad));
    expect(one?.key).toBe("u1");
    expect(one?.headers?.["x-source-index"]).toBe("5");
    expect(one?.headers?.["content-type"]).toBeUndefined();
    expect(one?.headers?.["x-error"]).toMatch(/^type:/);
    expect(whole?.value.toString()).toBe(broken);
    expect(whole?.headers?.["x-error"]).toMatch(/one key per line/);
  });

  it("packed and plain publishes of one key reach a subscriber in publish order, with their keys", async () => {
    const topic = uniqueTopic("packed-order");
    const b = await bus(topic);
    const seen: { key: string; n: number }[] = [];
    await b.subscribe<{ n: number }>(topic, `reader-${topic}`, async (batch) => {
      for (const m of batch.messages) seen.push({ key: m.key, n: m.value.n });
    });
    const keys = ["a", "b", "c", "d", "e", "f", "g"];
    let n = 0;
    const publishes: Promise<void>[] = [];
    for (let round = 0; round < 20; round++) {
      const messages = Array.from({ length: 50 }, () => {
        const i = n++;
        return { key: keys[i % keys.length] as string, value: { n: i } };
      });
      // Not awaited one by one: the bus must keep call order on its own.
      publishes.push(b.publish(topic, messages, { pack: round % 3 !== 0 }));
    }
    await Promise.all(publishes);
    await until("all messages", async () => (seen.length >= n ? true : undefined), 30_000);
    expect(seen).toHaveLength(n);
    for (const key of keys) {
      const mine = seen.filter((s) => s.key === key).map((s) => s.n);
      expect(mine).toEqual([...mine].sort((x, y) => x - y));
      expect(mine.every((x) => keys[x % keys.length] === key)).toBe(true);
    }
  });

  it("stores an outbox event once when the relay publishes it again (its crash edge)", async () => {
    const topic = uniqueTopic("outbox-again");
    const b = await bus(topic);
    await loader(b, topic);
    // What the relay sends: plain records with the outbox row's id in x-outbox-id; one of them
    // twice in one publish, and then the whole round again, as after a crash before its commit.
    const round = Array.from({ length: 6 }, (_, i) => {
      const value = event(i, `buyer${i % 2}`);
      return { key: `buyer${i % 2}`, value, headers: { "x-outbox-id": value.event_id as string } };
    });
    await b.publish(topic, [...round, round[0] as (typeof round)[number]]);
    expect(await waitForRows(ch.client, topic, 6)).toEqual({ rows: 6, unique: 6 });
    await b.publish(topic, round);
    // And a collector-style event after them for each buyer (each key has its partition): once
    // both are in, the replayed round was handled.
    await b.publish(topic, [
      { key: "buyer0", value: event(98, "buyer0") },
      { key: "buyer1", value: event(99, "buyer1") },
    ]);
    expect(await waitForRows(ch.client, topic, 8)).toEqual({ rows: 8, unique: 8 });
    await new Promise((r) => setTimeout(r, 300));
    expect(await topicTotals(ch.client, topic)).toEqual({ rows: 8, unique: 8 });
  });

  it("retries a failing insert until it lands: nothing lost, nothing doubled", async () => {
    const topic = uniqueTopic("flaky");
    const b = await bus(topic);
    let failures = 0;
    // The first three inserts fail *after* the rows landed (a timeout on the way back), the
    // worst case: the retry must be recognised as a duplicate, not stored again.
    const flaky = new Proxy(ch.client, {
      get(target, prop, receiver) {
        // The loader's inserts are statements with their rows inline, through exec.
        if (prop !== "exec") return Reflect.get(target, prop, receiver);
        return async (params: Parameters<ClickHouseClient["exec"]>[0]) => {
          const result = await target.exec(params);
          if (failures < 3 && params.query.startsWith("INSERT INTO events")) {
            failures++;
            throw new Error("socket hang up (simulated)");
          }
          return result;
        };
      },
    });
    await loader(b, topic, flaky);
    const N = 1_000;
    await b.publish(
      topic,
      Array.from({ length: N }, (_, i) => ({ key: `u${i % 7}`, value: event(i, `u${i % 7}`) })),
    );
    expect(await waitForRows(ch.client, topic, N)).toEqual({ rows: N, unique: N });
    // At least one insert failed after landing. Up to three would: a retry that finds its rows
    // already stored skips its insert, so there may be fewer insert calls left to fail.
    expect(failures).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(await topicTotals(ch.client, topic)).toEqual({ rows: N, unique: N });
  });

  it("a client's retry through the collector is stored once, whatever its neighbours (issue 17.11)", async () => {
    const topic = uniqueTopic("client-retry");
    const b = await bus(topic);
    await loader(b, topic);
    const app = Fastify({ loggerInstance: logger });
    app.setErrorHandler(httpErrorHandler);
    await app.register(collectorRoutes, { bus: b, logger, topic });
    const ids = Array.from({ length: 3 }, () => uuidv7());
    const e = (i: number) => {
      const { received_at: _r, ...rest } = event(i, "retrier");
      return { ...rest, event_id: ids[i] };
    };
    const post = (events: unknown[]) => app.inject({ method: "POST", url: "/v1/events", payload: { events } });
    expect((await post([e(0), e(1)])).statusCode).toBe(200);
    expect(await waitForRows(ch.client, topic, 2)).toEqual({ rows: 2, unique: 2 });
    // The retry, with a new event beside it and then again on its own.
    expect((await post([e(2), e(0), e(1)])).statusCode).toBe(200);
    expect((await post([e(1)])).statusCode).toBe(200);
    expect(await waitForRows(ch.client, topic, 3)).toEqual({ rows: 3, unique: 3 });
    await new Promise((r) => setTimeout(r, 800));
    expect(await topicTotals(ch.client, topic)).toEqual({ rows: 3, unique: 3 });
    await app.close();
  });

  it("an insert that can never succeed: the partition moves on, the DLQ has the row and why (issue 10.7)", async () => {
    const topic = uniqueTopic("never");
    const b = await bus(topic, { topics: [{ name: topic, partitions: 1 }] });
    const never = event(3, "u1");
    let attempts = 0;
    const failing = new Proxy(ch.client, {
      get(target, prop, receiver) {
        if (prop !== "exec") return Reflect.get(target, prop, receiver);
        return async (params: Parameters<ClickHouseClient["exec"]>[0]) => {
          if (params.query.includes(never.event_id as string)) {
            attempts++;
            throw new Error("simulated: the engine says no, for reasons of its own");
          }
          return target.exec(params);
        };
      },
    });
    await startLoader(
      b,
      { clickhouse: failing, online: new MemoryOnlineStore(), logger, retries: 2 },
      { topic, group: `loader-${topic}`, batchRows: 500, batchMs: 50 },
    );
    // One packed record (as the collector publishes), the bad event in the middle of it.
    const values = [event(1, "u1"), event(2, "u1"), never, event(4, "u1")];
    await b.publish(
      topic,
      values.map((value) => ({ key: "u1", value })),
      { pack: true },
    );
    expect(await waitForRows(ch.client, topic, 3)).toEqual({ rows: 3, unique: 3 });
    // Later events of the same partition land too.
    await b.publish(
      topic,
      Array.from({ length: 50 }, (_, i) => ({ key: "u1", value: event(10 + i, "u1") })),
    );
    expect(await waitForRows(ch.client, topic, 53)).toEqual({ rows: 53, unique: 53 });
    const dead = await deadLetters(b, topic, 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(dead).toHaveLength(1);
    expect(dead[0]?.value.toString()).toBe(JSON.stringify(never));
    expect(dead[0]?.headers?.["x-error"]).toMatch(/engine says no/);
    expect(dead[0]?.headers?.["x-source-topic"]).toBe(topic);
    expect(dead[0]?.headers?.["x-source-index"]).toBe("2");
    expect(attempts).toBeGreaterThan(1);
  });

  it("a slice over 100+ monthly partitions is split, not retried for ever (issue 17.10)", async () => {
    const topic = uniqueTopic("months");
    const b = await bus(topic);
    await loader(b, topic);
    // Straight onto the topic, as no collector would let through: 120 months of one viewer.
    await b.publish(
      topic,
      Array.from({ length: 120 }, (_, m) => ({
        key: "u1",
        value: { ...event(m, "u1"), occurred_at: new Date(Date.UTC(2026, 10 - m, 15)).toISOString() },
      })),
      { pack: true },
    );
    await b.publish(topic, [{ key: "u1", value: event(999, "u1") }]);
    expect(await waitForRows(ch.client, topic, 121)).toEqual({ rows: 121, unique: 121 });
  });

  it("loses nothing when the broker restarts mid-stream", async () => {
    // A broker of its own (same infra script, its own port and folder), so restarting it
    // cannot disturb the other suites that share the CI broker.
    const kafkaDir = mkdtempSync(path.join(os.tmpdir(), "marquee-kafka-restart-"));
    const env = {
      ...process.env,
      KAFKA_DIR: kafkaDir,
      KAFKA_PORT: String(await freePort()),
      KAFKA_CONTROLLER_PORT: String(await freePort()),
    };
    const script = (name: string, ...args: string[]) =>
      execFileAsync("bash", [path.join(REPO, "infra/kafka", name), ...args], { env, timeout: 90_000 });
    try {
      const started = await script("start.sh");
      const own = started.stdout.trim().split("\n").pop()?.replace("KAFKA_BROKERS=", "") as string;
      const topic = uniqueTopic("restart");
      const b = await KafkaBus.connect({
        brokers: [own],
        logger,
        topics: [{ name: topic, partitions: 2 }],
      });
      buses.push(b);
      await loader(b, topic);
      // Settled outcomes, recorded as they happen (no rejection is left unhandled).
      const sent: Promise<"ok" | "failed">[] = [];
      const N = 4_000;
      let i = 0;
      const producing = (async () => {
        while (i < N) {
          const chunk = Array.from({ length: 100 }, () => ({ key: `u${i % 11}`, value: event(i++, `u${i % 11}`) }));
          sent.push(
            b.publish(topic, chunk).then(
              () => "ok" as const,
              () => "failed" as const,
            ),
          );
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      await until(
        "some rows before the restart",
        async () => ((await topicTotals(ch.client, topic)).rows > 0 ? true : undefined),
        60_000,
        200,
      );
      await script("stop.sh");
      await script("start.sh");
      await producing;
      const results = await Promise.all(sent);
      const failed = results.filter((r) => r === "failed").length;
      // Every publish the bus acknowledged is stored; none may have been refused here.
      expect(failed).toBe(0);
      expect(await waitForRows(ch.client, topic, N, 90_000)).toEqual({ rows: N, unique: N });
    } finally {
      await script("stop.sh", "--purge").catch(() => undefined);
      rmSync(kafkaDir, { recursive: true, force: true });
    }
  }, 180_000);

  it("counts every event once in the events table overall", async () => {
    const t = await eventTotals(ch.client);
    expect(t.rows).toBe(t.unique);
  });
});
