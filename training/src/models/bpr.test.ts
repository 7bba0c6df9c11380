import { describe, expect, it } from "vitest";
import { fromTriples, type Interactions } from "../dataset.ts";
import { evaluateRanking } from "../eval/metrics.ts";
import { randomSplit } from "../eval/split.ts";
import { syntheticInteractions } from "../synthetic.ts";
import { loadTf } from "../tf-backend.ts";
import { fitBpr, itemFeaturesFromLabels } from "./bpr.ts";
import { PopularityScorer } from "./popularity-scorer.ts";

const data = syntheticInteractions({ users: 400, items: 150, interactions: 12_000, seed: 21 });

/** Move every interaction with a cold item out of training. */
function withoutItems(d: Interactions, cold: Set<number>): { train: Interactions; coldTest: Interactions } {
  const parts = { train: [[], []] as number[][], test: [[], []] as number[][] };
  for (let u = 0; u < d.nUsers; u++)
    for (let p = d.indptr[u] as number; p < (d.indptr[u + 1] as number); p++) {
      const i = d.items[p] as number;
      const part = cold.has(i) ? parts.test : parts.train;
      part[0]?.push(u);
      part[1]?.push(i);
    }
  const build = (x: number[][]) => fromTriples(d.nUsers, d.nItems, x[0] as number[], x[1] as number[], null, null);
  return { train: build(parts.train), coldTest: build(parts.test) };
}

/** For users with cold-test items: how often a cold item they took outranks a cold one they did not. */
function coldAuc(model: { scoreUser(u: number, out: Float32Array): void }, coldTest: Interactions, cold: number[]) {
  const scores = new Float32Array(coldTest.nItems);
  let wins = 0;
  let pairs = 0;
  for (let u = 0; u < coldTest.nUsers; u++) {
    const pos = new Set(coldTest.items.subarray(coldTest.indptr[u], coldTest.indptr[u + 1]));
    if (pos.size === 0 || pos.size === cold.length) continue;
    model.scoreUser(u, scores);
    for (const i of cold)
      if (pos.has(i))
        for (const j of cold)
          if (!pos.has(j)) {
            pairs++;
            wins += (scores[i] as number) > (scores[j] as number) ? 1 : 0;
          }
  }
  return wins / pairs;
}

describe("BPR on TensorFlow.js", () => {
  it("learns: beats popularity on synthetic data", async () => {
    const handle = await loadTf({ prefer: "wasm" });
    const { train, test } = randomSplit(data, { seed: 42 });
    const bpr = await fitBpr(handle, train, { epochs: 40, batchSize: 1024, factors: 16, learningRate: 0.1 });
    const pop = evaluateRanking(new PopularityScorer(train), train, test).ndcg_at_10;
    expect(evaluateRanking(bpr, train, test).ndcg_at_10).toBeGreaterThan(1.2 * pop);
    expect(bpr.backend).toBe(handle.backend);
  });

  it("with title metadata, titles nobody has watched yet are not invisible", async () => {
    const handle = await loadTf({ prefer: "wasm" });
    const cold = Array.from({ length: 20 }, (_, k) => 10 + k * 7); // spread over popularity ranks
    const { train, coldTest } = withoutItems(data, new Set(cold));
    const features = itemFeaturesFromLabels(data.itemLabels);
    const opts = { epochs: 40, batchSize: 1024, factors: 16, learningRate: 0.05 };
    const plain = await fitBpr(handle, train, opts);
    const meta = await fitBpr(handle, train, { ...opts, features });
    const plainAuc = coldAuc(plain, coldTest, cold);
    const metaAuc = coldAuc(meta, coldTest, cold);
    // The synthetic "genres" (two strongest latent dimensions per title) are only partial
    // evidence of taste; chance is 0.5, and without metadata a cold title's vector is noise.
    expect(metaAuc).toBeGreaterThan(0.55);
    expect(metaAuc).toBeGreaterThan(plainAuc + 0.04);
  });
});
