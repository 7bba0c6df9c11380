import type * as TfCore from "@tensorflow/tfjs-core";

type Tf = typeof TfCore;

/**
 * The wasm backend has no `UnsortedSegmentSum`, which the gradient of `gather` (every
 * embedding lookup) needs; without it training falls back to nothing or, on cpu, takes
 * minutes a batch. This kernel reads the inputs out of wasm memory, sums rows in a typed
 * array and writes the result back: O(rows × width), the same as the reference op.
 */
export function unsortedSegmentSumValues(
  x: Float32Array,
  shape: readonly number[],
  segmentIds: Int32Array,
  numSegments: number,
): Float32Array {
  const rows = shape[0] ?? 0;
  const width = rows === 0 ? 0 : x.length / rows;
  const out = new Float32Array(numSegments * width);
  for (let r = 0; r < rows; r++) {
    const s = segmentIds[r] as number;
    if (s < 0 || s >= numSegments) continue; // the reference op drops out-of-range ids
    const src = r * width;
    const dst = s * width;
    for (let c = 0; c < width; c++) out[dst + c] = (out[dst + c] as number) + (x[src + c] as number);
  }
  return out;
}

const registered = new Set<string>();

/** Register the kernels the active backend lacks. Idempotent. */
export function registerMissingKernels(tf: Tf): void {
  const backend = tf.getBackend();
  if (backend !== "wasm" || registered.has(backend)) return;
  if (tf.getKernel("UnsortedSegmentSum", backend)) return;
  registered.add(backend);
  tf.registerKernel({
    kernelName: "UnsortedSegmentSum",
    backendName: backend,
    kernelFunc: ({ inputs, attrs, backend: b }) => {
      const wasm = b as unknown as {
        readSync(id: unknown): Float32Array | Int32Array;
        makeOutput(shape: number[], dtype: string): TfCore.TensorInfo;
        typedArrayFromHeap(t: TfCore.TensorInfo): Float32Array;
      };
      const { x, segmentIds } = inputs as { x: TfCore.TensorInfo; segmentIds: TfCore.TensorInfo };
      const numSegments = (attrs as unknown as { numSegments: number }).numSegments;
      const xs = wasm.readSync(x.dataId) as Float32Array;
      const ids = Int32Array.from(wasm.readSync(segmentIds.dataId));
      const values = unsortedSegmentSumValues(Float32Array.from(xs), x.shape, ids, numSegments);
      const outShape = [numSegments, ...x.shape.slice(1)];
      const out = wasm.makeOutput(outShape, "float32");
      wasm.typedArrayFromHeap(out).set(values);
      return out;
    },
  });
}
