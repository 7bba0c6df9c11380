import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-core/dist/register_all_gradients.js";
import { describe, expect, it } from "vitest";
import { registerMissingKernels, unsortedSegmentSumValues } from "./tf-kernels.ts";

async function onBackend<T>(name: string, f: () => T): Promise<T> {
  await tf.setBackend(name);
  await tf.ready();
  return f();
}

describe("registered kernels", () => {
  it("UnsortedSegmentSum on wasm matches the cpu backend's reference op", async () => {
    await tf.setBackend("cpu");
    const x = tf.tidy(() => tf.randomNormal([300, 7], 0, 1, "float32", 5).arraySync()) as number[][];
    const ids = Array.from({ length: 300 }, (_, i) => (i * 37) % 50);
    ids[3] = -1; // out of range: dropped by both
    const run = () =>
      tf.tidy(() => tf.unsortedSegmentSum(tf.tensor2d(x), tf.tensor1d(ids, "int32"), 50).arraySync()) as number[][];
    const reference = await onBackend("cpu", run);
    await tf.setBackend("wasm");
    await tf.ready();
    registerMissingKernels(tf);
    const ours = run();
    expect(tf.getBackend()).toBe("wasm");
    for (let r = 0; r < 50; r++)
      for (let c = 0; c < 7; c++) expect(ours[r]?.[c]).toBeCloseTo(reference[r]?.[c] ?? 0, 4);
  });

  it("makes an embedding gradient work on wasm, equal to cpu", async () => {
    const grad = () =>
      tf.tidy(() => {
        const table = tf.tensor2d([
          [1, 2],
          [3, 4],
          [5, 6],
        ]);
        const idx = tf.tensor1d([0, 2, 2], "int32");
        return tf
          .grad((t: tf.Tensor) =>
            tf.sum(
              tf.mul(
                tf.gather(t, idx),
                tf.tensor2d([
                  [1, 2],
                  [3, 4],
                  [5, 6],
                ]),
              ),
            ),
          )(table)
          .arraySync();
      });
    const reference = await onBackend("cpu", grad);
    await tf.setBackend("wasm");
    registerMissingKernels(tf);
    expect(grad()).toEqual(reference);
    expect(reference).toEqual([
      [1, 2],
      [0, 0],
      [8, 10],
    ]);
  });

  it("the faster GatherV2 on wasm matches the cpu backend, and other gathers still work", async () => {
    await tf.setBackend("cpu");
    const table = tf.tidy(() => tf.randomNormal([40, 5], 0, 1, "float32", 9).arraySync()) as number[][];
    const idx = [3, 0, 39, 3, 17];
    const rows = () => tf.tidy(() => tf.gather(tf.tensor2d(table), tf.tensor1d(idx, "int32")).arraySync());
    const cols = () => tf.tidy(() => tf.gather(tf.tensor2d(table), tf.tensor1d([4, 1], "int32"), 1).arraySync());
    const reference = [rows(), cols()];
    await tf.setBackend("wasm");
    registerMissingKernels(tf);
    expect([rows(), cols()]).toEqual(reference);
  });

  it("the pure function sums rows by segment", () => {
    const out = unsortedSegmentSumValues(Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2], Int32Array.from([1, 1, 0]), 2);
    expect([...out]).toEqual([5, 6, 4, 6]);
  });
});
