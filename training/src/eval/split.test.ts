import { describe, expect, it } from "vitest";
import { fromTriples, type Interactions } from "../dataset.ts";
import { syntheticInteractions } from "../synthetic.ts";
import { randomSplit, temporalSplit, timeCutSplit } from "./split.ts";

const rows = (d: Interactions, u: number) => [...d.items.subarray(d.indptr[u], d.indptr[u + 1])];
const data = syntheticInteractions({ users: 200, items: 150, interactions: 6000, seed: 3 });

describe("splits", () => {
  it("random split: 75/25 per user, disjoint, complete, reproducible", () => {
    const a = randomSplit(data, { seed: 1 });
    const b = randomSplit(data, { seed: 1 });
    const c = randomSplit(data, { seed: 2 });
    expect(a.test.items).toEqual(b.test.items);
    expect(a.test.items).not.toEqual(c.test.items);
    for (let u = 0; u < data.nUsers; u++) {
      const all = rows(data, u);
      const tr = rows(a.train, u);
      const te = rows(a.test, u);
      expect(tr.length).toBe(Math.round(all.length * 0.75));
      expect(new Set([...tr, ...te])).toEqual(new Set(all));
      expect(tr.filter((i) => te.includes(i))).toEqual([]);
    }
  });

  it("temporal split never lets training see a user's future", () => {
    // Ties on purpose: several interactions share a timestamp at the boundary.
    const d = fromTriples(1, 6, [0, 0, 0, 0, 0, 0], [0, 1, 2, 3, 4, 5], null, [10, 20, 30, 30, 30, 30]);
    const s = temporalSplit(d);
    expect(rows(s.train, 0)).toEqual([0, 1]);
    expect(rows(s.test, 0)).toEqual([2, 3, 4, 5]);
    const big = temporalSplit(data);
    for (let u = 0; u < data.nUsers; u++) {
      const trainMax = Math.max(...big.train.times.subarray(big.train.indptr[u], big.train.indptr[u + 1]));
      const testMin = Math.min(...big.test.times.subarray(big.test.indptr[u], big.test.indptr[u + 1]));
      expect(trainMax).toBeLessThan(testMin);
    }
  });

  it("a global time cut puts nothing at or after the cut in training", () => {
    const cut = Date.UTC(2024, 2, 1);
    const s = timeCutSplit(data, cut);
    expect(Math.max(...s.train.times)).toBeLessThan(cut);
    expect(Math.min(...s.test.times)).toBeGreaterThanOrEqual(cut);
    expect(s.train.items.length + s.test.items.length).toBe(data.items.length);
  });
});
