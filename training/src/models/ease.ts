import type { Interactions } from "../dataset.ts";
import type { Scorer } from "../eval/metrics.ts";
import type { Progress } from "../progress.ts";
import type { Tf } from "../tf-backend.ts";
import { invertSpd, invertSpdAsync } from "./linalg.ts";

export interface EaseParams {
  /** L2 regularisation on the item-item weights (added to the Gram matrix's diagonal). */
  lambda: number;
  /** Progress of the inverse, with an ETA. */
  progress?: Progress;
}

/**
 * EASE (Steck, 2019): a linear item-item model with a closed form,
 *   P = (XᵀX + λI)⁻¹,  B = I − P · diag(1 / diag(P))  (so diag(B) = 0),
 * and a user's scores are x_u · B. X is binary here (did the user interact), which is what
 * works best on MovieLens-style data. Memory and time grow with items² and items³: the
 * caller picks EASE only for catalogues up to a few thousand titles.
 */
export class EaseModel implements Scorer {
  readonly name = "ease";

  constructor(
    readonly nItems: number,
    /** Row-major items × items, zero diagonal. */
    readonly weights: Float32Array,
    /** Whose histories `scoreUser` reads. */
    private history: Interactions,
  ) {}

  /** Fits with synchronous read-backs (`invertSpd`): wasm and cpu, not webgpu. */
  static fit(tf: Tf, data: Interactions, params: EaseParams): EaseModel {
    return EaseModel.fromInverse(
      invertSpd(tf, regularisedGram(data, params.lambda), data.nItems, 256, params.progress),
      data,
    );
  }

  /**
   * The same fit with asynchronous read-backs (`invertSpdAsync`): runs on every backend,
   * webgpu included, and gives the same weights as `fit` on the others.
   */
  static async fitAsync(tf: Tf, data: Interactions, params: EaseParams): Promise<EaseModel> {
    return EaseModel.fromInverse(
      await invertSpdAsync(tf, regularisedGram(data, params.lambda), data.nItems, 256, params.progress),
      data,
    );
  }

  /** B from P = (XᵀX + λI)⁻¹: B_ij = −P_ij / P_jj, B_jj = 0, reusing P's buffer. */
  private static fromInverse(p: Float32Array, data: Interactions): EaseModel {
    const n = data.nItems;
    const diag = new Float64Array(n);
    for (let j = 0; j < n; j++) diag[j] = p[j * n + j] as number;
    for (let i = 0; i < n; i++) {
      const row = i * n;
      for (let j = 0; j < n; j++) p[row + j] = -(p[row + j] as number) / (diag[j] as number);
      p[row + i] = 0;
    }
    return new EaseModel(n, p, data);
  }

  /** Score users against a different set of histories (e.g. the full data after a split). */
  withHistory(history: Interactions): EaseModel {
    return new EaseModel(this.nItems, this.weights, history);
  }

  scoreUser(user: number, out: Float32Array): void {
    out.fill(0);
    const n = this.nItems;
    const w = this.weights;
    const h = this.history;
    for (let p = h.indptr[user] as number; p < (h.indptr[user + 1] as number); p++) {
      const row = (h.items[p] as number) * n;
      for (let j = 0; j < n; j++) out[j] = (out[j] as number) + (w[row + j] as number);
    }
  }
}

/** XᵀX + λI, EASE's matrix to invert. */
function regularisedGram(data: Interactions, lambda: number): Float32Array {
  const n = data.nItems;
  const g = gram(data);
  for (let i = 0; i < n; i++) g[i * n + i] = (g[i * n + i] as number) + lambda;
  return g;
}

/** XᵀX for binary X, dense float32 (items × items), from the sparse rows. */
export function gram(data: Interactions): Float32Array {
  const n = data.nItems;
  const g = new Float32Array(n * n);
  for (let u = 0; u < data.nUsers; u++) {
    const s = data.indptr[u] as number;
    const e = data.indptr[u + 1] as number;
    for (let a = s; a < e; a++) {
      const row = (data.items[a] as number) * n;
      for (let b = s; b < e; b++) {
        const j = row + (data.items[b] as number);
        g[j] = (g[j] as number) + 1;
      }
    }
  }
  return g;
}
