import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { evaluateRanking } from "../eval/metrics.ts";
import { randomSplit } from "../eval/split.ts";
import { syntheticInteractions } from "../synthetic.ts";
import { EaseModel } from "./ease.ts";
import { invertSpd, invertSpdAsync, invertSpdSmall } from "./linalg.ts";
import { PopularityScorer } from "./popularity-scorer.ts";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

function randomSpd(n: number): Float32Array {
  const r = Array.from({ length: n * n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  const a = new Float32Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = i === j ? n : 0;
      for (let k = 0; k < n; k++) s += (r[i * n + k] as number) * (r[j * n + k] as number);
      a[i * n + j] = s;
    }
  return a;
}

function expectIdentity(a: ArrayLike<number>, inv: ArrayLike<number>, n: number, digits: number) {
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += (a[i * n + k] as number) * (inv[k * n + j] as number);
      expect(s).toBeCloseTo(i === j ? 1 : 0, digits);
    }
}

describe("EASE", () => {
  it("inverts symmetric positive definite matrices (small, double precision)", () => {
    const a = randomSpd(9);
    expectIdentity(a, invertSpdSmall(a, 9), 9, 9);
    expect(() => invertSpdSmall([1, 2, 2, 1], 2)).toThrow(/positive definite/);
  });

  it("inverts by block sweeps, blocks not dividing n", () => {
    const a = randomSpd(23);
    expectIdentity(a, invertSpd(tf, a, 23, 5), 23, 4);
  });

  it("inverts the same with asynchronous read-backs (the webgpu path)", async () => {
    const a = randomSpd(23);
    const before = tf.memory().numTensors;
    const sync = invertSpd(tf, a, 23, 5);
    const async_ = await invertSpdAsync(tf, a, 23, 5);
    expect(Array.from(async_)).toEqual(Array.from(sync));
    expect(tf.memory().numTensors).toBe(before);
  });

  it("runs where dataSync() fails, as on webgpu in Node, and the sync path leaks no tensors", async () => {
    const a = randomSpd(23);
    const expected = invertSpd(tf, a, 23, 5);
    const before = tf.memory().numTensors;
    const spy = vi.spyOn(tf.Tensor.prototype, "dataSync").mockImplementation(() => {
      throw new ReferenceError("OffscreenCanvas is not defined");
    });
    try {
      expect(() => invertSpd(tf, a, 23, 5)).toThrow(/OffscreenCanvas/);
      expect(tf.memory().numTensors).toBe(before);
      expect(Array.from(await invertSpdAsync(tf, a, 23, 5))).toEqual(Array.from(expected));
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      spy.mockRestore();
    }
  });

  it("fitAsync learns the same weights as fit", async () => {
    const data = syntheticInteractions({ users: 300, items: 90, interactions: 6_000, seed: 5 });
    const sync = EaseModel.fit(tf, data, { lambda: 50 });
    const async_ = await EaseModel.fitAsync(tf, data, { lambda: 50 });
    expect(Array.from(async_.weights)).toEqual(Array.from(sync.weights));
  });

  it("B has a zero diagonal and beats popularity clearly on synthetic data", () => {
    const data = syntheticInteractions({ users: 400, items: 120, interactions: 12_000, seed: 11 });
    const { train, test } = randomSplit(data, { seed: 42 });
    const ease = EaseModel.fit(tf, train, { lambda: 50 });
    for (let i = 0; i < 120; i++) expect(ease.weights[i * 120 + i]).toBe(0);
    const e = evaluateRanking(ease, train, test);
    const p = evaluateRanking(new PopularityScorer(train), train, test);
    expect(e.ndcg_at_10).toBeGreaterThan(1.3 * p.ndcg_at_10);
  });
});
