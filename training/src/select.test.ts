import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { beforeAll, describe, expect, it } from "vitest";
import { evaluateRanking } from "./eval/metrics.ts";
import { randomSplit } from "./eval/split.ts";
import { loadModel } from "./models/model.ts";
import { PopularityScorer } from "./models/popularity-scorer.ts";
import { EASE_LAMBDAS, fitChosenModel, fitChosenModelAsync } from "./select.ts";
import { syntheticInteractions } from "./synthetic.ts";

const handle = { tf, backend: "cpu", tried: [] };
beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("the chosen model", () => {
  const data = syntheticInteractions({ users: 500, items: 200, interactions: 15_000, seed: 4 });
  const { train, test } = randomSplit(data, { seed: 42 });
  const pop = evaluateRanking(new PopularityScorer(train), train, test).ndcg_at_10;

  it("tunes λ on a validation split of the training data and beats popularity clearly", () => {
    const model = fitChosenModel(handle, train);
    expect(model.validation?.map((v) => v.lambda)).toEqual([...EASE_LAMBDAS]);
    const best = model.validation?.reduce((a, b) => (b.ndcg_at_10 > a.ndcg_at_10 ? b : a));
    expect(model.params.lambda).toBe(best?.lambda);
    expect(evaluateRanking(model, train, test).ndcg_at_10).toBeGreaterThan(1.3 * pop);
  });

  it("above the item limit, implicit ALS over the whole catalogue beats popularity", () => {
    const model = fitChosenModel(handle, train, { maxItems: 100 });
    expect(model.name).toBe("als");
    expect(model.weights).toBeUndefined();
    expect(evaluateRanking(model, train, test).ndcg_at_10).toBeGreaterThan(1.3 * pop);
  });

  it("above the item limit without ALS, EASE models the most-interacted titles and never ranks the rest", () => {
    const model = fitChosenModel(handle, train, { maxItems: 100, lambda: 100, allowAls: false });
    expect(model.modelled?.length).toBe(100);
    const scores = new Float32Array(train.nItems);
    model.scoreUser(0, scores);
    const modelled = new Set(model.modelled);
    for (let i = 0; i < train.nItems; i++) if (!modelled.has(i)) expect(scores[i]).toBe(Number.NEGATIVE_INFINITY);
    expect(evaluateRanking(model, train, test).ndcg_at_10).toBeGreaterThan(pop);
  });

  it("chooses and fits the same with asynchronous read-backs (the webgpu path)", async () => {
    const options = { maxItems: 100, allowAls: false, tune: true };
    const sync = fitChosenModel(handle, train, options);
    const async_ = await fitChosenModelAsync(handle, train, options);
    expect(async_.validation).toEqual(sync.validation);
    expect(async_.params).toEqual(sync.params);
    expect(async_.modelled).toEqual(sync.modelled);
    expect(async_.weights).toEqual(sync.weights);
  });

  it("exposes the chosen model behind the model interface, scoring the same", () => {
    for (const options of [{ lambda: 100 }, { maxItems: 100 }]) {
      const model = fitChosenModel(handle, train, options);
      const recommender = model.recommender;
      expect(recommender?.name).toBe(model.name);
      expect(recommender?.backend).toBe(model.backend);
      const a = new Float32Array(train.nItems);
      model.scoreUser(3, a);
      expect(recommender?.scoreUser(3)).toEqual(a);
      const saved = recommender?.save();
      if (!saved) throw new Error("no recommender");
      const loaded = loadModel(model.name, saved.files, saved);
      loaded.useHistory(train);
      expect(loaded.scoreUser(3)).toEqual(a);
    }
    expect(fitChosenModel(handle, train, { maxItems: 100, lambda: 100, allowAls: false }).recommender).toBeUndefined();
  });
});
