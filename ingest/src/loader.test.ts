import { Readable } from "node:stream";
import type { CollectedEvent } from "@marquee/contracts";
import {
  type ClickHouseClient,
  createLogger,
  type KafkaBusBatch,
  MemoryOnlineStore,
  PoisonMessageError,
} from "@marquee/runtime";
import { v7 as uuidv7 } from "uuid";
import { describe, expect, it } from "vitest";
import { EVENT_VALUE_COLUMNS, eventValuesLine, toEventRow } from "./event-row.ts";
import { classifyInsertError } from "./insert-errors.ts";
import { decodeCollectedEvent, EventLoader } from "./loader.ts";

const logger = createLogger({ service: "test", level: "silent" });

const event = (over: Record<string, unknown> = {}) => ({
  event_id: uuidv7(),
  type: "click",
  user_id: "u1",
  item_id: "t1",
  occurred_at: "2026-11-25T12:00:00.000Z",
  received_at: "2026-11-25T12:00:01.000Z",
  context: { device: "tv" },
  ...over,
});

/** A ClickHouse stand-in: records inserts, answers the stored-offset query from them. */
function fakeClickHouse() {
  const inserts: { table: string; rows: Record<string, unknown>[] }[] = [];
  const client = {
    async insert(params: { table: string; values: unknown[]; format: string }) {
      // Kafka rows come as JSONCompactEachRow tuples: name their values for the assertions.
      const rows =
        params.format === "JSONCompactEachRow"
          ? (params.values as unknown[][]).map((v) => Object.fromEntries(EVENT_VALUE_COLUMNS.map((c, i) => [c, v[i]])))
          : (params.values as Record<string, unknown>[]);
      inserts.push({ table: params.table, rows });
      return {};
    },
    /** The loader's inserts: a statement with JSONCompactEachRow lines inline. */
    async exec(params: { query: string }) {
      const [statement = "", ...lines] = params.query.split("\n");
      const table = statement.replace(/^INSERT INTO /, "").replace(/ FORMAT JSONCompactEachRow$/, "");
      const rows = lines.map((line) => {
        const v = JSON.parse(line) as unknown[];
        return Object.fromEntries(EVENT_VALUE_COLUMNS.map((c, i) => [c, v[i]]));
      });
      inserts.push({ table, rows });
      return { stream: Readable.from([]) };
    },
    async query(params: { query: string; query_params: Record<string, unknown> }) {
      if (params.query.includes("FROM event_ids")) {
        // Which of these (lower-case) event ids are stored: what the event_ids view keeps.
        const ids = new Set(String(params.query_params.ids).split(","));
        const found = inserts.flatMap((i) => i.rows).filter((r) => ids.has(String(r.event_id).toLowerCase()));
        return { json: async () => found.map((r) => [String(r.event_id).toLowerCase()]) };
      }
      const offsets = inserts
        .flatMap((i) => i.rows)
        .filter(
          (r) => r.source_topic === params.query_params.topic && r.source_partition === params.query_params.partition,
        )
        .map((r) => BigInt(r.source_offset as string));
      let max = -1n;
      for (const o of offsets) if (o > max) max = o;
      return { json: async () => [{ o: String(max) }] };
    },
  };
  return { client: client as unknown as ClickHouseClient, inserts };
}

function kafkaBatch(partition: number, first: number, events: CollectedEvent[]): KafkaBusBatch<CollectedEvent> {
  return {
    topic: "events.v1",
    partition,
    firstOffset: String(first),
    lastOffset: String(first + events.length - 1),
    messages: events.map((value, i) => ({
      key: "u1",
      value,
      partition,
      offset: String(first + i),
    })),
  };
}

describe("decodeCollectedEvent", () => {
  it("accepts a collected event and rejects anything else as poison, with a reason", () => {
    const good = event();
    expect(decodeCollectedEvent(good).event_id).toBe(good.event_id);
    expect(() => decodeCollectedEvent({ ...good, type: "teleport" })).toThrow(PoisonMessageError);
    expect(() => decodeCollectedEvent({ ...good, event_id: "nope" })).toThrow(/event_id/);
    expect(() => decodeCollectedEvent({ ...good, received_at: undefined })).toThrow(/received_at/);
    expect(() => decodeCollectedEvent("a string")).toThrow(PoisonMessageError);
  });
});

describe("EventLoader on Kafka batches", () => {
  it("tags each insert with topic-partition-first-last and each row with its source offset", async () => {
    const ch = fakeClickHouse();
    const online = new MemoryOnlineStore();
    const loader = new EventLoader({ clickhouse: ch.client, online, logger });
    await loader.load(kafkaBatch(3, 10, [decodeCollectedEvent(event()), decodeCollectedEvent(event())]));
    expect(ch.inserts).toHaveLength(1);
    expect(ch.inserts[0]?.table).toContain("insert_deduplication_token = 'events.v1-3-10-11'");
    expect(ch.inserts[0]?.table).toContain("deduplicate_blocks_in_dependent_materialized_views = 1");
    expect(ch.inserts[0]?.rows.map((r) => [r.source_partition, r.source_offset])).toEqual([
      [3, "10"],
      [3, "11"],
    ]);
    expect((await online.recent("u1")).map((r) => r.item_id)).toContain("t1");
  });

  it("after a restart, skips offsets ClickHouse already has even when the replay is cut differently", async () => {
    const ch = fakeClickHouse();
    const events = Array.from({ length: 10 }, () => decodeCollectedEvent(event()));
    const first = new EventLoader({ clickhouse: ch.client, online: new MemoryOnlineStore(), logger });
    await first.load(kafkaBatch(0, 0, events.slice(0, 4))); // inserted, then the process died
    const restarted = new EventLoader({ clickhouse: ch.client, online: new MemoryOnlineStore(), logger });
    await restarted.load(kafkaBatch(0, 0, events.slice(0, 7))); // replay from the last commit (0)
    await restarted.load(kafkaBatch(0, 7, events.slice(7)));
    const stored = ch.inserts.flatMap((i) => i.rows.map((r) => r.source_offset));
    expect(stored).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    // A batch whose offsets are all stored inserts nothing.
    await restarted.load(kafkaBatch(0, 5, events.slice(5, 8)));
    expect(ch.inserts.flatMap((i) => i.rows)).toHaveLength(10);
  });

  it("loads unpacked messages that share an offset, and skips a stored record's messages on replay", async () => {
    const ch = fakeClickHouse();
    const events = Array.from({ length: 6 }, () => decodeCollectedEvent(event()));
    // Offsets 20, 20, 20 (one packed record), 21, 22, 22.
    const offsets = [20, 20, 20, 21, 22, 22];
    const batch = (from: number): KafkaBusBatch<CollectedEvent> => ({
      topic: "events.v1",
      partition: 1,
      firstOffset: String(offsets[from]),
      lastOffset: "22",
      messages: events.slice(from).map((value, i) => ({
        key: "u1",
        value,
        partition: 1,
        offset: String(offsets[from + i]),
        index: i,
      })),
    });
    const first = new EventLoader({ clickhouse: ch.client, online: new MemoryOnlineStore(), logger });
    const partial: KafkaBusBatch<CollectedEvent> = { ...batch(0), lastOffset: "21" };
    partial.messages = partial.messages.slice(0, 4);
    await first.load(partial);
    expect(ch.inserts[0]?.rows.map((r) => r.source_offset)).toEqual(["20", "20", "20", "21"]);
    // Restarted, the replay starts at the record with offset 20 again: only offset 22 is new.
    const restarted = new EventLoader({ clickhouse: ch.client, online: new MemoryOnlineStore(), logger });
    await restarted.load(batch(0));
    expect(ch.inserts).toHaveLength(2);
    expect(ch.inserts[1]?.rows.map((r) => [r.event_id, r.source_offset])).toEqual([
      [events[4]?.event_id, "22"],
      [events[5]?.event_id, "22"],
    ]);
  });

  it("puts slices that became ready during an insert into the next insert together", async () => {
    const ch = fakeClickHouse();
    const loader = new EventLoader({ clickhouse: ch.client, online: new MemoryOnlineStore(), logger });
    const events = () => [decodeCollectedEvent(event()), decodeCollectedEvent(event())];
    // First batches: each partition's stored offset is looked up once.
    for (const p of [0, 1, 2]) await loader.load(kafkaBatch(p, 0, events()));
    const before = ch.inserts.length;
    await Promise.all([0, 1, 2].map((p) => loader.load(kafkaBatch(p, 2, events()))));
    const together = ch.inserts.slice(before);
    // Partition 0's slice goes alone; 1 and 2 arrive while it is in flight and go next, as one.
    expect(together.map((i) => i.rows.map((r) => r.source_partition))).toEqual([
      [0, 0],
      [1, 1, 2, 2],
    ]);
    expect(together[1]?.table).toContain("insert_deduplication_token = 'events.v1-1-2-3_events.v1-2-2-3'");
  });

  it("stores an event id once: repeats in a batch, a relay's replay, a client's retry in another batch", async () => {
    const ch = fakeClickHouse();
    const loader = new EventLoader({ clickhouse: ch.client, online: new MemoryOnlineStore(), logger });
    // Ids the clients chose (the collector marks them): each may be a retry's.
    const a = decodeCollectedEvent(event({ id_from_client: true }));
    const b = decodeCollectedEvent(event({ id_from_client: true }));
    const c = decodeCollectedEvent(event({ id_from_client: true }));
    const outbox = (e: CollectedEvent) => ({ key: "u1", value: e, headers: { "x-outbox-id": e.event_id } });
    await loader.load({ topic: "events.v1", messages: [outbox(a), outbox(b), outbox(a)] });
    // The same ids again, one upper-cased, among new neighbours; and through Kafka.
    const retried = { ...b, event_id: b.event_id.toUpperCase() };
    await loader.load({
      topic: "events.v1",
      messages: [outbox(b), { key: "u1", value: retried }, { key: "u1", value: c }],
    });
    await loader.load(kafkaBatch(0, 0, [a, c]));
    expect(ch.inserts.map((i) => i.rows.map((r) => r.event_id))).toEqual([[a.event_id, b.event_id], [c.event_id]]);
  });

  it("looks up only ids that may be stored already: the collector's own skip the lookup", async () => {
    const ch = fakeClickHouse();
    let lookups = 0;
    const counting = {
      ...ch.client,
      exec: ch.client.exec,
      query: async (params: { query: string; query_params: Record<string, unknown> }) => {
        if (params.query.includes("FROM event_ids")) lookups++;
        return ch.client.query(params as never);
      },
    } as unknown as ClickHouseClient;
    const loader = new EventLoader({ clickhouse: counting, online: new MemoryOnlineStore(), logger });
    await loader.load({ topic: "events.v1", messages: [{ key: "u1", value: decodeCollectedEvent(event()) }] });
    expect(lookups).toBe(0);
    await loader.load({
      topic: "events.v1",
      messages: [{ key: "u1", value: decodeCollectedEvent(event({ id_from_client: true })) }],
    });
    expect(lookups).toBe(1);
    // The marker survives zod's path too (which strips keys it does not know).
    expect(
      decodeCollectedEvent(event({ id_from_client: true, payload: { target: "poster" }, extra: 1 })).id_from_client,
    ).toBe(true);
  });

  it("writes the same values as toEventRow, plus the source", () => {
    const e = decodeCollectedEvent(event({ type: "rating", payload: { value: 4.5 }, anonymous_id: "a1" }));
    const values = JSON.parse(eventValuesLine(e, "events.v1", 2, "7")) as unknown[];
    expect(Object.fromEntries(EVENT_VALUE_COLUMNS.map((c, i) => [c, values[i]]))).toEqual({
      ...toEventRow(e),
      source_topic: "events.v1",
      source_partition: 2,
      source_offset: "7",
    });
  });

  it("writes each row as the very JSON of toEventRow's values and the source, odd text included", () => {
    const expected = (e: CollectedEvent, topic: string, partition: number, offset: string) => {
      const row: Record<string, unknown> = {
        ...toEventRow(e),
        source_topic: topic,
        source_partition: partition,
        source_offset: offset,
      };
      return JSON.stringify(EVENT_VALUE_COLUMNS.map((c) => row[c]));
    };
    const odd = [
      "",
      'quote " and backslash \\',
      "tab\tnew\nline\u0001",
      "zoë 日本 🎬",
      "lone \ud800 surrogate",
      "</script>",
    ];
    let checked = 0;
    for (const text of odd) {
      for (const payload of [{ path: text }, { query: "q", results: 3 }]) {
        const e = decodeCollectedEvent(
          event({
            type: "path" in payload ? "page_view" : "search",
            item_id: undefined,
            anonymous_id: "a1",
            session_id: "s1",
            payload: "path" in payload ? { path: text || "/", referrer: text } : payload,
            context: { device: "phone", page: text, row: text, position: 3, model_version: text, variant: text },
          }),
        );
        const line = eventValuesLine(e, "events.v1", 4, "123");
        expect(line).toBe(expected(e, "events.v1", 4, "123"));
        expect(JSON.parse(line)).toHaveLength(EVENT_VALUE_COLUMNS.length);
        checked++;
      }
    }
    const plain = decodeCollectedEvent(event({ context: { device: "tv" } }));
    expect(eventValuesLine(plain, "", -1, "-1")).toBe(expected(plain, "", -1, "-1"));
    expect(checked).toBe(odd.length * 2);
  });

  it("retries a failing insert and then gives the batch back as failed", async () => {
    const ch = fakeClickHouse();
    let calls = 0;
    const flaky = {
      ...ch.client,
      query: ch.client.query,
      exec: async () => {
        calls++;
        throw new Error("connection reset");
      },
    } as unknown as ClickHouseClient;
    const loader = new EventLoader({ clickhouse: flaky, online: new MemoryOnlineStore(), logger, retries: 2 });
    await expect(loader.load(kafkaBatch(0, 0, [decodeCollectedEvent(event())]))).rejects.toThrow(/reset/);
    expect(calls).toBe(3);
  });

  it("classifies insert errors: the store away is retried, refused data is split and dead-lettered", () => {
    const ch = (code: string, message: string) => Object.assign(new Error(message), { code, type: "X" });
    expect(classifyInsertError(new Error("socket hang up"))).toBe("retriable");
    expect(classifyInsertError(Object.assign(new Error("connect"), { code: "ECONNREFUSED" }))).toBe("retriable");
    expect(classifyInsertError(ch("252", "Too many parts (300). Merges are processing significantly slower"))).toBe(
      "retriable",
    );
    expect(classifyInsertError(ch("241", "Memory limit (total) exceeded"))).toBe("retriable");
    expect(
      classifyInsertError(ch("252", "Too many partitions for single INSERT block (more than 100). The limit is ...")),
    ).toBe("permanent");
    expect(classifyInsertError(ch("27", "Cannot parse input: expected '\"' before: 'x'"))).toBe("permanent");
    expect(classifyInsertError(ch("53", "Type mismatch"))).toBe("permanent");
    expect(classifyInsertError(new Error("something odd"))).toBe("unknown");
    expect(classifyInsertError(new Error("wrapped", { cause: ch("376", "Cannot parse uuid") }))).toBe("permanent");
  });
});
