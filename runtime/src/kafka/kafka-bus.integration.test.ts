import { randomUUID } from "node:crypto";
import { afterAll, expect, it } from "vitest";
import { type BusBatch, createBus, type EventBus } from "../bus.ts";
import { loadConfig } from "../config.ts";
import { createLogger } from "../logger.ts";
import { serviceSuite } from "../testing.ts";
import { isKafkaBatch, type KafkaBusBatch } from "./consumer.ts";
import { PoisonMessageError } from "./dead-letters.ts";
import type { KafkaBus } from "./kafka-bus.ts";

const BROKERS = process.env.TEST_KAFKA_BROKERS ?? "";
const logger = createLogger({ service: "test", level: "silent" });

/** Resolves once `want` messages arrived (or rejects after `ms`). */
function collect<T>(want: number, ms = 30_000) {
  const got: BusBatch<T>[] = [];
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.flatMap((b) => b.messages).length} of ${want}`)), ms);
    done = () => {
      if (got.flatMap((b) => b.messages).length >= want) {
        clearTimeout(timer);
        resolve();
      }
    };
  });
  return {
    got,
    all,
    handler: async (b: BusBatch<T>) => {
      got.push(b);
      done();
    },
  };
}

serviceSuite("Kafka bus (createBus)", BROKERS ? `kafka://${BROKERS.split(",")[0]}` : undefined, () => {
  const run = randomUUID().slice(0, 8);
  const topic = `test.bus.${run}`;
  const buses: EventBus[] = [];

  afterAll(async () => {
    await Promise.allSettled(buses.map((b) => b.close()));
    const admin = (buses[0] as KafkaBus | undefined)?.admin();
    if (!admin) return;
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
  });

  it("is Kafka when KAFKA_BROKERS is set: creates the topics, decodes, dead-letters what decode refuses", async () => {
    const config = loadConfig({ KAFKA_BROKERS: BROKERS, KAFKA_CLIENT_ID: `test-${run}` });
    const bus = await createBus(config, { logger, topics: [{ name: topic, partitions: 2 }] });
    buses.push(bus);
    expect(bus.kind).toBe("kafka");

    const good = collect<number>(2);
    // The same options any bus takes: two members of one group, concurrency shared between them.
    await bus.subscribe<number>(topic, `g-${run}`, good.handler, {
      decode: (v) => {
        const n = (v as { n?: unknown }).n;
        if (typeof n !== "number") throw new PoisonMessageError("n: must be a number");
        return n;
      },
      consumers: 2,
      concurrency: 2,
      maxWaitMs: 50,
    });
    const dead = collect<Buffer>(1);
    await (bus as KafkaBus).subscribe<Buffer>(`${topic}.dlq`, `dlq-${run}`, dead.handler, { raw: true, maxWaitMs: 50 });

    await bus.publish(topic, [
      { key: "a", value: { n: 1 } },
      { key: "a", value: { n: "one" } },
      { key: "b", value: { n: 2 } },
    ]);
    await good.all;
    await dead.all;
    expect(good.got.flatMap((b) => b.messages.map((m) => m.value)).sort()).toEqual([1, 2]);
    expect(good.got.every((b) => isKafkaBatch(b))).toBe(true);
    const letter = (dead.got[0] as KafkaBusBatch<Buffer>).messages[0];
    expect(letter?.value.toString("utf8")).toBe(JSON.stringify({ n: "one" }));
    expect(letter?.headers?.["x-source-topic"]).toBe(topic);
    expect(letter?.headers?.["x-error"]).toContain("n: must be a number");
  }, 90_000);
});
