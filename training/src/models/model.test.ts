import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ModelStore } from "@marquee/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateRanking, topK } from "../eval/metrics.ts";
import { randomSplit } from "../eval/split.ts";
import { syntheticInteractions } from "../synthetic.ts";
import { loadTf, type TfHandle } from "../tf-backend.ts";
import { itemFeaturesFromLabels } from "./bpr.ts";
import { createModel, loadModel, MODEL_KINDS, type ModelFiles, type RecommenderModel } from "./model.ts";

/**
 * The contract every recommender keeps, run over each of them on the same seeded synthetic
 * data: scores over every item, similar items, a save → ModelStore → load round-trip with
 * identical scores, and (but for the baseline itself) a clear win over popularity.
 */
const data = syntheticInteractions({ users: 400, items: 150, interactions: 12_000, seed: 21 });
const { train, test } = randomSplit(data, { seed: 42 });
const PARAMS: Record<string, Record<string, unknown>> = {
  popularity: {},
  "item-to-item": {},
  ease: { lambda: 50 },
  als: { factors: 16, iterations: 8 },
  "bpr-tfjs": { epochs: 40, batchSize: 1024, factors: 16, learningRate: 0.1 },
};
const USERS = [0, 1, 7, 123, 399];

let handle: TfHandle;
let root: string;
let popularityNdcg = 0;

beforeAll(async () => {
  handle = await loadTf({ prefer: "wasm" });
  root = await mkdtemp(path.join(tmpdir(), "marquee-models-"));
  const pop = createModel("popularity");
  await pop.fit(train);
  popularityNdcg = evaluateRanking(pop, train, test).ndcg_at_10;
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe.each(MODEL_KINDS)("model contract: %s", (name) => {
  let model: RecommenderModel;
  beforeAll(async () => {
    model = createModel(name, PARAMS[name]);
    await model.fit(train, { handle, features: itemFeaturesFromLabels(data.itemLabels) });
  }, 60_000);

  it("names itself and its backend", () => {
    expect(model.name).toBe(name);
    expect(model.backend).not.toBe("");
    expect(model.nItems).toBe(train.nItems);
  });

  it("scores every item, seen ones included (excluding them is the caller's job)", () => {
    for (const u of USERS) {
      const out = new Float32Array(train.nItems).fill(Number.NaN);
      expect(model.scoreUser(u, out)).toBe(out);
      expect(out.every((s) => Number.isFinite(s))).toBe(true);
      const history = train.items.subarray(train.indptr[u], train.indptr[u + 1]);
      const byHistory = model.scoreUser({ items: history });
      expect(byHistory.length).toBe(train.nItems);
      expect(byHistory.every((s) => Number.isFinite(s))).toBe(true);
    }
    // evaluateRanking's exclusion leaves only unseen items in the top 10.
    const u = USERS[1] as number;
    const scores = model.scoreUser(u);
    const seen = new Set(train.items.subarray(train.indptr[u], train.indptr[u + 1]));
    for (const i of seen) scores[i] = Number.NEGATIVE_INFINITY;
    const top = topK(scores, 10);
    expect([...top].filter((i) => i >= 0)).toHaveLength(10);
    for (const i of top) expect(seen.has(i)).toBe(false);
  });

  it("similarItems: k distinct other items, best first", () => {
    for (const item of [0, 5, 42, 149]) {
      const similar = model.similarItems(item, 10);
      expect(similar).toHaveLength(10);
      expect(new Set(similar.map((s) => s.item)).size).toBe(10);
      for (const s of similar) {
        expect(s.item).not.toBe(item);
        expect(s.item).toBeGreaterThanOrEqual(0);
        expect(s.item).toBeLessThan(train.nItems);
      }
      for (let r = 1; r < similar.length; r++)
        expect((similar[r - 1] as { score: number }).score).toBeGreaterThanOrEqual(
          (similar[r] as { score: number }).score,
        );
    }
  });

  it("save → ModelStore → load gives identical scores", async () => {
    const saved = model.save();
    const store = new ModelStore(root);
    const meta = await store.write(
      { name, data_until: null, metrics: {}, backend: saved.backend, git_sha: null, params: saved.params },
      saved.files,
    );
    const files: ModelFiles = {};
    for (const f of Object.keys(saved.files)) files[f] = await store.readFile(name, meta.version, f);
    const loaded = loadModel(name, files, await store.meta(name, meta.version));
    loaded.useHistory(train);
    expect(loaded.name).toBe(model.name);
    expect(loaded.backend).toBe(model.backend);
    expect(loaded.nItems).toBe(model.nItems);
    for (const u of USERS) {
      expect(loaded.scoreUser(u)).toEqual(model.scoreUser(u));
      const history = { items: train.items.subarray(train.indptr[u], train.indptr[u + 1]) };
      expect(loaded.scoreUser(history)).toEqual(model.scoreUser(history));
    }
    expect(loaded.similarItems(3, 10)).toEqual(model.similarItems(3, 10));
  });

  it(name === "popularity" ? "is the baseline" : "beats popularity clearly on nDCG@10 (by 30 %)", () => {
    const ndcg = evaluateRanking(model, train, test).ndcg_at_10;
    if (name === "popularity") expect(ndcg).toBe(popularityNdcg);
    else expect(ndcg).toBeGreaterThan(1.3 * popularityNdcg);
  });
});

describe("model registry", () => {
  it("refuses unknown names", () => {
    expect(() => createModel("nope")).toThrow(/unknown model "nope"/);
    expect(() => loadModel("nope", {}, { params: {}, backend: "" })).toThrow(/unknown model/);
  });
});
