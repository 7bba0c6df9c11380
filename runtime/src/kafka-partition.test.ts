import { Partitioners } from "kafkajs";
import { describe, expect, it } from "vitest";
import { partitionOf } from "./kafka-bus.ts";

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
