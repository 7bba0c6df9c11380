import type { RankedItem } from "@marquee/contracts";
import { describe, expect, it } from "vitest";
import { POPULARITY_PRIOR, type RankableNeighbours, type RankablePopularity, rankTopPicks } from "./top-picks.ts";

const items = ["a", "b", "c", "d", "e"].map((id) => ({ id }));
const index = new Map(items.map((t, i) => [t.id, i]));
// k = 2: a → (b 0.5, c 0.25), b → (d 1), the rest have none.
const model = {
  items,
  index,
  k: 2,
  neighbors: Int32Array.from([1, 2, 3, -1, -1, -1, -1, -1, -1, -1]),
  similarity: Float32Array.from([0.5, 0.25, 1, 0, 0, 0, 0, 0, 0, 0]),
};
const popularity = { items, index, popular: [0.1, 0.2, 0.3, 0.4, 1], byPopular: [4, 3, 2, 1, 0] };

describe("Top-picks ranking (shared by serving and the promotion gate)", () => {
  it("weights each neighbour by the viewer's interest, normalises, adds the prior and tops up from popularity", () => {
    const positives = new Map([
      ["a", 2],
      ["b", 0.25],
    ]);
    const ranked = rankTopPicks(model, positives, popularity, 4, (id) => positives.has(id));
    // b: 2 × 0.5 = 1 (the viewer's own: not shown, but the scale), c: 2 × 0.25, d: 0.25 × 1.
    expect(ranked).toEqual([
      { id: "c", score: 0.5 + POPULARITY_PRIOR * 0.3 },
      { id: "d", score: 0.25 + POPULARITY_PRIOR * 0.4 },
      { id: "e", score: POPULARITY_PRIOR * 1 },
    ]);
  });

  it("never shows a skipped title, and stops at the limit", () => {
    const positives = new Map([["a", 1]]);
    const skip = (id: string) => id === "a" || id === "b";
    expect(rankTopPicks(model, positives, popularity, 2, skip).map((r) => r.id)).toEqual(["c", "e"]);
    expect(rankTopPicks(model, positives, null, 5, skip).map((r) => r.id)).toEqual(["c"]);
  });

  it("ranks exactly as a plain score-everything-and-sort would, ties and repeated calls included", () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 200; round++) {
      const n = 5 + Math.floor(rand() * 40);
      const k = 1 + Math.floor(rand() * 6);
      const items = Array.from({ length: n }, (_, i) => ({ id: `t${String(i).padStart(3, "0")}` }));
      const index = new Map(items.map((t, i) => [t.id, i]));
      const neighbors = new Int32Array(n * k).fill(-1);
      // Weights on a coarse grid, so equal scores (and the id tie-break) are common.
      const similarity = new Float32Array(n * k);
      for (let i = 0; i < n; i++) {
        const m = Math.floor(rand() * (k + 1));
        for (let r = 0; r < m; r++) {
          neighbors[i * k + r] = Math.floor(rand() * n);
          similarity[i * k + r] = Math.ceil(rand() * 4) / 4;
        }
      }
      const model = { items, index, k, neighbors, similarity };
      const popular = Array.from({ length: n }, () => Math.floor(rand() * 3) / 2);
      const byPopular = Array.from(popular.keys()).sort((a, b) => (popular[b] ?? 0) - (popular[a] ?? 0) || a - b);
      const popularity = rand() < 0.2 ? null : { items, index, popular, byPopular };
      const positives = new Map<string, number>();
      for (let x = Math.floor(rand() * 6); x > 0; x--)
        positives.set(`t${String(Math.floor(rand() * n)).padStart(3, "0")}`, Math.ceil(rand() * 2));
      const turnedDown = new Set([`t${String(Math.floor(rand() * n)).padStart(3, "0")}`]);
      const skip = (id: string) => positives.has(id) || turnedDown.has(id);
      const limit = Math.floor(rand() * 12);
      const expected = reference(model, positives, popularity, limit, skip);
      expect(rankTopPicks(model, positives, popularity, limit, skip)).toEqual(expected);
      expect(rankTopPicks(model, positives, popularity, limit, skip)).toEqual(expected); // scratch left clean
    }
  });
});

/** The ranking written the obvious way: every reached title scored, sorted, cut. */
function reference(
  model: RankableNeighbours,
  positives: ReadonlyMap<string, number>,
  popularity: RankablePopularity | null,
  limit: number,
  skip: (id: string) => boolean,
): RankedItem[] {
  const round = (x: number) => Math.round(x * 1e5) / 1e5;
  const scores = new Map<number, number>();
  for (const [item, w] of positives) {
    const i = model.index.get(item);
    if (i === undefined) continue;
    for (let r = 0; r < model.k; r++) {
      const j = model.neighbors[i * model.k + r] as number;
      if (j < 0) break;
      scores.set(j, (scores.get(j) ?? 0) + w * (model.similarity[i * model.k + r] as number));
    }
  }
  const max = Math.max(1e-9, ...scores.values());
  const ranked: RankedItem[] = [];
  for (const [j, s] of scores) {
    const id = model.items[j]?.id as string;
    if (skip(id)) continue;
    const p = popularity?.index.get(id);
    const prior = p === undefined ? 0 : (popularity?.popular[p] ?? 0);
    ranked.push({ id, score: round(s / max + POPULARITY_PRIOR * prior) });
  }
  ranked.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  ranked.length = Math.min(ranked.length, limit);
  const seen = new Set(ranked.map((r) => r.id));
  for (const i of Array.from(popularity?.byPopular ?? [])) {
    if (ranked.length >= limit) break;
    const id = popularity?.items[i]?.id as string;
    if (!seen.has(id) && !skip(id)) ranked.push({ id, score: round(POPULARITY_PRIOR * (popularity?.popular[i] ?? 0)) });
  }
  return ranked;
}
