import { describe, expect, it } from "vitest";
import { fromTriples } from "../dataset.ts";
import { evaluateRanking, topK, userMetrics } from "./metrics.ts";

describe("ranking metrics", () => {
  it("match a hand-computed case", () => {
    // Recommended [5, 1, 7, 2], relevant {1, 2, 9}, k = 4: hits at ranks 2 and 4.
    const m = userMetrics([5, 1, 7, 2], new Set([1, 2, 9]), 4);
    expect(m.precision).toBeCloseTo(2 / 4);
    expect(m.recall).toBeCloseTo(2 / 3);
    const dcg = 1 / Math.log2(3) + 1 / Math.log2(5);
    const idcg = 1 + 1 / Math.log2(3) + 1 / Math.log2(4);
    expect(m.ndcg).toBeCloseTo(dcg / idcg);
    // precision at the hits: 1/2 and 2/4; divided by min(k, |rel|) = 3, or by |rel| = 3.
    expect(m.apMin).toBeCloseTo((1 / 2 + 2 / 4) / 3);
    expect(m.apAll).toBeCloseTo((1 / 2 + 2 / 4) / 3);
  });

  it("divide MAP@k by min(k, |relevant|) and the legacy MAP by |relevant|", () => {
    const m = userMetrics([1, 2], new Set([1, 2, 3, 4, 5]), 2);
    expect(m.apMin).toBeCloseTo((1 + 1) / 2);
    expect(m.apAll).toBeCloseTo((1 + 1) / 5);
    expect(m.ndcg).toBeCloseTo(1);
  });

  it("score zero when nothing is hit", () => {
    const m = userMetrics([0, 1], new Set([3]), 2);
    expect(m).toEqual({ precision: 0, recall: 0, ndcg: 0, apMin: 0, apAll: 0 });
  });

  it("topK orders best first, breaks ties by index and skips -Infinity", () => {
    const s = Float32Array.from([0.5, 2, Number.NEGATIVE_INFINITY, 2, 1]);
    expect([...topK(s, 3)]).toEqual([1, 3, 4]);
    expect([...topK(Float32Array.from([Number.NEGATIVE_INFINITY, 1]), 3)]).toEqual([1, -1, -1]);
  });

  it("evaluateRanking excludes training items and averages over users with test items", () => {
    // 2 users, 4 items. User 0 trained on item 0 (the top scorer), tests on item 1.
    const train = fromTriples(2, 4, [0, 1], [0, 2], null, null);
    const test = fromTriples(2, 4, [0], [1], null, null);
    const scorer = { scoreUser: (_u: number, out: Float32Array) => out.set([4, 3, 2, 1]) };
    const m = evaluateRanking(scorer, train, test, { k: 1 });
    expect(m.users).toBe(1);
    expect(m.precision_at_10).toBe(1); // item 0 excluded, item 1 ranks first
    expect(m.ndcg_at_10).toBe(1);
    expect(m.coverage).toBe(0.25);
  });
});
