import { rankTopPicks } from "@marquee/runtime";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { beforeAll, describe, expect, it } from "vitest";
import { fromTriples, type Interactions } from "./dataset.ts";
import { randomSplit } from "./eval/split.ts";
import { emptyNeighbours, fitGraphNeighbours, type NeighbourLists } from "./models/graph.ts";
import { type CandidateRecipe, evaluateServed, rankable, recipeFor, selectPersonalModel } from "./selection.ts";
import { syntheticInteractions } from "./synthetic.ts";

const handle = { tf, backend: "cpu", tried: [] };
beforeAll(async () => {
  await tf.setBackend("cpu");
});

const itemsOf = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `t${i}`, title: "", genres: [], year: 0 }));

function pairs(d: Interactions): Set<string> {
  const out = new Set<string>();
  for (let u = 0; u < d.nUsers; u++)
    for (let p = d.indptr[u] as number; p < (d.indptr[u + 1] as number); p++) out.add(`${u}:${d.items[p]}`);
  return out;
}

describe("selection by validation", () => {
  const data = syntheticInteractions({ users: 500, items: 200, interactions: 15_000, seed: 4 });
  const { train, test } = randomSplit(data, { seed: 42 });
  const items = itemsOf(data.nItems);

  it("picks the best validation score, refits it on the training data, and never looks at the test split", async () => {
    const seen: Interactions[] = [];
    const spy = (recipe: CandidateRecipe): CandidateRecipe => ({
      ...recipe,
      fit: (d) => {
        seen.push(d);
        return recipe.fit(d);
      },
    });
    // A deliberately poor model: every title's neighbours are the next two titles.
    const arbitrary: CandidateRecipe = {
      model: "next-titles",
      params: {},
      fit: async (d) => {
        const lists = emptyNeighbours(d.nItems, 2);
        for (let i = 0; i < d.nItems; i++) {
          lists.neighbors[i * 2] = (i + 1) % d.nItems;
          lists.neighbors[i * 2 + 1] = (i + 2) % d.nItems;
          lists.weights.fill(1, i * 2, i * 2 + 2);
        }
        return lists;
      },
    };
    const recipes = [
      spy(arbitrary),
      spy(recipeFor(handle, "popularity", {}, 50)),
      spy(recipeFor(handle, "rp3b", { alpha: 1, beta: 0.3 }, 50)),
      spy(recipeFor(handle, "item-knn", { shrink: 10 }, 50)),
    ];
    const selection = await selectPersonalModel(handle, train, items, { recipes, k: 50 });
    const scores = selection.candidates.map((c) => c.validation_ndcg_at_10 as number);
    const best = selection.candidates[scores.indexOf(Math.max(...scores))];
    expect(selection.chosen.model).toBe(best?.model);
    expect(["rp3b", "item-knn"]).toContain(selection.chosen.model);
    // The figures are each candidate's served form on a split carved from the training data.
    const valid = randomSplit(train, { ratio: 0.8, seed: 43 });
    const rp3b = fitGraphNeighbours(valid.train, [{ kind: "rp3b", alpha: 1, beta: 0.3 }], 50)[0] as NeighbourLists;
    expect(selection.candidates[2]?.validation_ndcg_at_10).toBe(
      evaluateServed(rp3b, items, valid.train, valid.test).ndcg_at_10,
    );
    // No fit ever saw a test pair: four validation fits, then the winner's refit on `train`.
    const testPairs = pairs(test);
    expect(seen).toHaveLength(5);
    for (const d of seen) for (const p of pairs(d)) expect(testPairs.has(p)).toBe(false);
    expect(seen[4]).toBe(train);
    expect(selection.chosen.neighbours.k).toBe(50);
  });

  it("the built-in candidates: every one scored, the best wins, far above popularity on the test split", async () => {
    const selection = await selectPersonalModel(handle, train, items, { budgetSeconds: 60, k: 50 });
    const scored = selection.candidates.filter((c) => c.validation_ndcg_at_10 !== null);
    expect(scored.map((c) => c.model)).toEqual(expect.arrayContaining(["popularity", "item-knn", "rp3b", "ease"]));
    const best = Math.max(...scored.map((c) => c.validation_ndcg_at_10 as number));
    expect(scored.find((c) => c.validation_ndcg_at_10 === best)?.model).toBe(selection.chosen.model);
    for (const c of scored) expect(c.seconds).toBeGreaterThanOrEqual(0);
    const chosen = evaluateServed(selection.chosen.neighbours, items, train, test).ndcg_at_10;
    const popularity = evaluateServed(emptyNeighbours(data.nItems, 50), items, train, test).ndcg_at_10;
    expect(chosen).toBeGreaterThan(1.3 * popularity);
  }, 60_000);
});

describe("EASE over the head, RP3β for the long tail (hand-checked)", () => {
  // u0 {0,1,3}, u1 {0,1}, u2 {0,2}, u3 {1,2,4}: titles 0–2 are the head (3, 3, 2 viewers),
  // 3 and 4 the tail (1 viewer each).
  const tiny = fromTriples(4, 5, [0, 0, 0, 1, 1, 2, 2, 3, 3, 3], [0, 1, 3, 0, 1, 0, 2, 1, 2, 4], null, null);
  const head = Uint8Array.from([1, 1, 1, 0, 0]);
  const row = (l: NeighbourLists, i: number) =>
    Array.from({ length: l.k }, (_, r) => [l.neighbors[i * l.k + r], l.weights[i * l.k + r]] as const)
      .filter(([j]) => (j as number) >= 0)
      .map(([j, w]) => [j, Math.round((w as number) * 1e5) / 1e5]);

  it("RP3β weights: w(i→j) = deg(i)^-α Σ_u∋i,j deg(u)^-α / deg(j)^β; head rows keep tail targets only", () => {
    const [all, tail] = fitGraphNeighbours(
      tiny,
      [
        { kind: "rp3b", alpha: 1, beta: 0.5 },
        { kind: "rp3b", alpha: 1, beta: 0.5, headOnlyTail: head },
      ],
      4,
    ) as [NeighbourLists, NeighbourLists];
    const r = (x: number) => Math.round(x * 1e5) / 1e5;
    // Title 3, seen by u0 only (3 titles): to 0 and 1, each 1 · 1/3 · 3^-½.
    expect(row(all, 3)).toEqual([
      [0, r(1 / 3 / Math.sqrt(3))],
      [1, r(1 / 3 / Math.sqrt(3))],
    ]);
    // Title 4, seen by u3 only: to 2 (1/3 · 2^-½) before 1 (1/3 · 3^-½).
    expect(row(all, 4)).toEqual([
      [2, r(1 / 3 / Math.sqrt(2))],
      [1, r(1 / 3 / Math.sqrt(3))],
    ]);
    // Head rows in the tail graph: title 0 reaches 3 through u0 (1/3 · 1/3 · 1^-½); title 1
    // reaches 3 (u0) and 4 (u3) equally, the lower index first; title 2 reaches 4 (1/2 · 1/3).
    expect(row(tail, 0)).toEqual([[3, r(1 / 9)]]);
    expect(row(tail, 1)).toEqual([
      [3, r(1 / 9)],
      [4, r(1 / 9)],
    ]);
    expect(row(tail, 2)).toEqual([[4, r(1 / 6)]]);
    expect(row(tail, 4)).toEqual(row(all, 4));
  });

  it("the blend reaches tail titles that EASE over the head alone never ranks", async () => {
    const items = itemsOf(5);
    const easeHead = await recipeFor(handle, "ease-head", { lambda: 1, modelled_items: 3 }, 4).fit(tiny);
    const blended = await recipeFor(
      handle,
      "ease-head+rp3b",
      { lambda: 1, modelled_items: 3, alpha: 1, beta: 0.5, tail_scale: 1 },
      4,
    ).fit(tiny);
    // EASE over titles 0–2 has no rows for the tail and never points at it.
    expect(row(easeHead, 3)).toEqual([]);
    expect(row(easeHead, 4)).toEqual([]);
    for (const i of [0, 1, 2]) for (const [j] of row(easeHead, i)) expect(j as number).toBeLessThan(3);
    // The blend: tail rows are RP3β's, head rows gain their tail neighbours.
    expect(row(blended, 3).map(([j]) => j)).toEqual([0, 1]);
    expect(row(blended, 2).map(([j]) => j)).toContain(4);
    // A viewer who watched title 2 is offered title 4 only by the blend.
    const viewer = new Map([["t2", 1]]);
    const own = (id: string) => id === "t2";
    const ids = (l: NeighbourLists) => rankTopPicks(rankable(l, items), viewer, null, 5, own).map((r) => r.id);
    expect(ids(easeHead)).not.toContain("t4");
    expect(ids(blended)).toContain("t4");
  });
});
