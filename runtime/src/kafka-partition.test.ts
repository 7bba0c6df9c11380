import { Partitioners } from "kafkajs";
import { describe, expect, it } from "vitest";
import { mergePacked, type OutRecord, PACKED_CONTENT_TYPE, partitionOf } from "./kafka/index.ts";

describe("partitionOf", () => {
  it("gives every key the partition kafkajs's default (Java-compatible) partitioner gives it", () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    const metadata = (n: number) =>
      Array.from({ length: n }, (_, partitionId) => ({
        partitionId,
        leader: 0,
        replicas: [0],
        isr: [0],
        partitionErrorCode: 0,
      }));
    const keys = [
      "",
      "a",
      "ab",
      "abc",
      "abcd",
      "u00001",
      "anon-9f8e7d",
      "zoë",
      "日本語のキー",
      "emoji 🎬 key",
      "x".repeat(400),
      "é".repeat(400),
    ];
    for (let i = 0; i < 3000; i++) keys.push(`u${(i * 7919) % 100_000}`, `s:${i.toString(36)}.${"k".repeat(i % 9)}`);
    let checked = 0;
    for (const partitions of [1, 2, 3, 6, 12, 64]) {
      const partitionMetadata = metadata(partitions);
      for (const key of keys) {
        const expected = kafkajs({ topic: "t", partitionMetadata, message: { key, value: null } });
        expect(partitionOf(key, partitions), `${key} over ${partitions}`).toBe(expected);
        checked++;
      }
    }
    expect(checked).toBe(6 * keys.length);
  });
});

describe("mergePacked", () => {
  const packed = (partition: number, keys: string[]): OutRecord => ({
    key: keys[0] as string,
    value: keys.map((k) => JSON.stringify({ k })).join("\n"),
    partition,
    headers: { "content-type": PACKED_CONTENT_TYPE, "x-keys": JSON.stringify(keys) },
    count: keys.length,
  });
  const lines = (r: OutRecord) =>
    String(r.value)
      .split("\n")
      .map((l) => (JSON.parse(l) as { k: string }).k);

  it("joins a partition's packed records of one request, in order, and never across a plain record", () => {
    const out = mergePacked([
      packed(0, ["a", "b"]),
      packed(1, ["c"]),
      packed(0, ["d"]),
      { key: "a", value: '{"k":"plain"}' },
      packed(0, ["e"]),
      packed(1, ["f", "g"]),
    ]);
    expect(out.map((r) => [r.partition, lines(r)])).toEqual([
      [0, ["a", "b", "d"]],
      [1, ["c"]],
      [undefined, ["plain"]],
      [0, ["e"]],
      [1, ["f", "g"]],
    ]);
    for (const r of out) {
      if (r.count === undefined) continue;
      // The keys header stays a JSON array with one key per line.
      expect(JSON.parse(String(r.headers?.["x-keys"]))).toEqual(lines(r));
      expect(r.count).toBe(lines(r).length);
    }
  });

  it("starts a new record at the pack limit", () => {
    const big = Array.from({ length: 1_500 }, (_, i) => `k${i}`);
    const out = mergePacked([packed(2, big), packed(2, big.slice(0, 600)), packed(2, ["z"])]);
    expect(out.map((r) => r.count)).toEqual([1_500, 601]);
  });
});
