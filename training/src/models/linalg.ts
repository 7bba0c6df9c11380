import type { Tensor } from "@tensorflow/tfjs-core";
import { type Progress, progressWithEta } from "../progress.ts";
import type { Tf } from "../tf-backend.ts";

/**
 * Inverse of a small symmetric positive definite matrix (row-major, m × m) in double precision,
 * by Cholesky: A = L Lᵀ, then A⁻¹ = L⁻ᵀ L⁻¹. Throws when A is not positive definite.
 */
export function invertSpdSmall(a: ArrayLike<number>, m: number): Float64Array {
  const l = new Float64Array(m * m);
  for (let j = 0; j < m; j++) {
    let d = a[j * m + j] as number;
    for (let k = 0; k < j; k++) d -= (l[j * m + k] as number) ** 2;
    if (!(d > 0)) throw new Error(`matrix is not positive definite (pivot ${j}: ${d})`);
    const ljj = Math.sqrt(d);
    l[j * m + j] = ljj;
    for (let i = j + 1; i < m; i++) {
      let s = a[i * m + j] as number;
      for (let k = 0; k < j; k++) s -= (l[i * m + k] as number) * (l[j * m + k] as number);
      l[i * m + j] = s / ljj;
    }
  }
  // W = L⁻¹ (lower triangular), by forward substitution column by column.
  const w = new Float64Array(m * m);
  for (let c = 0; c < m; c++) {
    for (let i = c; i < m; i++) {
      let s = i === c ? 1 : 0;
      for (let k = c; k < i; k++) s -= (l[i * m + k] as number) * (w[k * m + c] as number);
      w[i * m + c] = s / (l[i * m + i] as number);
    }
  }
  // A⁻¹ = Wᵀ W.
  const inv = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = i; j < m; j++) {
      let s = 0;
      for (let k = j; k < m; k++) s += (w[k * m + i] as number) * (w[k * m + j] as number);
      inv[i * m + j] = s;
      inv[j * m + i] = s;
    }
  }
  return inv;
}

/** What a block sweep reads back: a tensor in, its values out. */
type ReadBack = Float32Array | Int32Array | Uint8Array;
type Sweep = Generator<Tensor, Float32Array, ReadBack>;

/**
 * Inverse of a large symmetric positive definite matrix (float32, row-major n × n) by the
 * block sweep operator: for each pivot block K with D = A_KK⁻¹,
 *   A_RR ← A_RR − A_RK D A_KR,  A_RK ← A_RK D,  A_KR ← D A_KR,  A_KK ← −D;
 * after every block has been swept the matrix holds −A⁻¹. The n × n × block updates are
 * matrix products, run by TensorFlow.js (wasm: XNNPACK with SIMD, ~25 GFLOP/s on one core
 * here, against ~1 GFLOP/s for a scalar loop in JavaScript), so 4,000 items invert in seconds.
 * No pivoting is needed: every leading block of a positive definite matrix is invertible.
 *
 * Reads back with `dataSync()`: each pivot block (inverted in double precision on the CPU) and
 * the result. Backends that cannot read back synchronously (webgpu in Node) need
 * `invertSpdAsync`, the same sweep with `await data()`.
 */
export function invertSpd(tf: Tf, a: Float32Array, n: number, block = 256, progress?: Progress): Float32Array {
  const sweep = blockSweep(tf, a, n, block, progress);
  let step = sweep.next();
  while (!step.done) {
    let values: ReadBack;
    try {
      values = step.value.dataSync();
    } catch (err) {
      // Let the sweep dispose its tensors, then rethrow.
      sweep.throw(err);
      throw err;
    }
    step = sweep.next(values);
  }
  return step.value;
}

/**
 * `invertSpd` with asynchronous read-backs (`await data()`), for every backend: webgpu (no
 * synchronous read-back in Node) as well as wasm and cpu, where it gives the same values.
 */
export async function invertSpdAsync(
  tf: Tf,
  a: Float32Array,
  n: number,
  block = 256,
  progress?: Progress,
): Promise<Float32Array> {
  const sweep = blockSweep(tf, a, n, block, progress);
  let step = sweep.next();
  while (!step.done) {
    let values: ReadBack;
    try {
      values = await step.value.data();
    } catch (err) {
      sweep.throw(err);
      throw err;
    }
    step = sweep.next(values);
  }
  return step.value;
}

/**
 * The block sweep itself, written once for both read-back styles: it yields each tensor whose
 * values it needs (a pivot block, then the swept matrix) and is resumed with those values. The
 * yielded tensor is the sweep's own and is disposed by it.
 */
function* blockSweep(tf: Tf, a: Float32Array, n: number, block: number, progress?: Progress): Sweep {
  const blocks = Math.ceil(n / block);
  // Each block costs about the same (n² × block multiply-adds), so blocks done is the ETA's measure.
  const tick = progressWithEta(progress, "EASE inverse blocks", blocks);
  let A: Tensor = tf.tensor2d(a, [n, n]);
  try {
    for (let k0 = 0; k0 < n; k0 += block) {
      const k1 = Math.min(n, k0 + block);
      const m = k1 - k0;
      const pivot = tf.slice(A, [k0, k0], [m, m]);
      let pivotValues: ReadBack;
      try {
        pivotValues = yield pivot;
      } finally {
        pivot.dispose();
      }
      const d = Float32Array.from(invertSpdSmall(pivotValues, m));
      const next = tf.tidy(() => {
        const C = tf.slice(A, [0, k0], [n, m]);
        const D = tf.tensor2d(d, [m, m]);
        const E = tf.matMul(C, D);
        const updated = tf.sub(A, tf.matMul(E, tf.transpose(C)));
        const parts = <T extends Tensor>(xs: (T | null)[]) => xs.filter((x): x is T => x !== null);
        const col = tf.concat(
          parts([
            k0 > 0 ? tf.slice(E, [0, 0], [k0, m]) : null,
            tf.neg(D),
            k1 < n ? tf.slice(E, [k1, 0], [n - k1, m]) : null,
          ]),
          0,
        );
        const withCol = tf.concat(
          parts([
            k0 > 0 ? tf.slice(updated, [0, 0], [n, k0]) : null,
            col,
            k1 < n ? tf.slice(updated, [0, k1], [n, n - k1]) : null,
          ]),
          1,
        );
        return tf.concat(
          parts([
            k0 > 0 ? tf.slice(withCol, [0, 0], [k0, n]) : null,
            tf.transpose(col),
            k1 < n ? tf.slice(withCol, [k1, 0], [n - k1, n]) : null,
          ]),
          0,
        );
      });
      A.dispose();
      A = next;
      tick(Math.ceil(k1 / block));
    }
    // The read-back is a fresh array on wasm and webgpu, and A's own buffer on cpu: A is
    // disposed right after, so negating in place is safe on each.
    const out = (yield A) as Float32Array;
    for (let i = 0; i < out.length; i++) out[i] = -(out[i] as number);
    return out;
  } finally {
    A.dispose();
  }
}
