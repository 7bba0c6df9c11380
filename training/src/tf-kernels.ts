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

/** Rows `indices` of a row-major table with `width` columns (a gather along axis 0). */
export function gatherRowsValues(table: Float32Array, width: number, indices: Int32Array): Float32Array {
  const out = new Float32Array(indices.length * width);
  const rows = table.length / Math.max(1, width);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r] as number;
    if (i < 0 || i >= rows) throw new Error(`gather index ${i} is not in [0, ${rows})`);
    out.set(table.subarray(i * width, i * width + width), r * width);
  }
  return out;
}

const registered = new Set<string>();

/** Register the kernels the active backend lacks. Idempotent. */
export function registerMissingKernels(tf: Tf): void {
  const backend = tf.getBackend();
  if (backend !== "wasm" || registered.has(backend)) return;
  registered.add(backend);
  type WasmBackend = {
    readSync(id: unknown): Float32Array | Int32Array;
    makeOutput(shape: number[], dtype: string): TfCore.TensorInfo;
    typedArrayFromHeap(t: TfCore.TensorInfo): Float32Array;
  };
  // The wasm GatherV2 is general (any axis, batch dims) and slow for the embedding case:
  // ~50 ms for 16k rows of 64 here. Row gathers of float32 tables take a copy loop instead;
  // everything else goes to the original kernel.
  const gather = tf.getKernel("GatherV2", backend);
  if (gather) {
    tf.unregisterKernel("GatherV2", backend);
    tf.registerKernel({
      ...gather,
      kernelFunc: (args) => {
        const { x, indices } = args.inputs as { x: TfCore.TensorInfo; indices: TfCore.TensorInfo };
        const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
        if (
          axis !== 0 ||
          (batchDims ?? 0) !== 0 ||
          x.dtype !== "float32" ||
          x.shape.length !== 2 ||
          indices.shape.length !== 1
        )
          return gather.kernelFunc(args);
        const wasm = args.backend as unknown as WasmBackend;
        const width = x.shape[1] as number;
        const values = gatherRowsValues(
          wasm.typedArrayFromHeap(x),
          width,
          Int32Array.from(wasm.readSync(indices.dataId)),
        );
        const out = wasm.makeOutput([indices.shape[0] as number, width], "float32");
        wasm.typedArrayFromHeap(out).set(values);
        return out;
      },
    });
  }
  if (tf.getKernel("UnsortedSegmentSum", backend)) return;
  tf.registerKernel({
    kernelName: "UnsortedSegmentSum",
    backendName: backend,
    kernelFunc: ({ inputs, attrs, backend: b }) => {
      const wasm = b as unknown as WasmBackend;
      const { x, segmentIds } = inputs as { x: TfCore.TensorInfo; segmentIds: TfCore.TensorInfo };
      const numSegments = (attrs as unknown as { numSegments: number }).numSegments;
      const ids = Int32Array.from(wasm.readSync(segmentIds.dataId));
      const values = unsortedSegmentSumValues(wasm.typedArrayFromHeap(x), x.shape, ids, numSegments);
      const outShape = [numSegments, ...x.shape.slice(1)];
      const out = wasm.makeOutput(outShape, "float32");
      wasm.typedArrayFromHeap(out).set(values);
      return out;
    },
  });
}
