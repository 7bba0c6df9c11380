import { describe, expect, it } from "vitest";
import { POPULARITY_PRIOR, rankTopPicks } from "./top-picks.ts";

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
});
