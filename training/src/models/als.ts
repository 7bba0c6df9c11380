import { fromTriples, type Interactions, mulberry32 } from "../dataset.ts";
import type { Scorer } from "../eval/metrics.ts";

export interface AlsParams {
  factors: number;
  /** L2 regularisation on both factor matrices. */
  regularisation: number;
  /** Confidence of an observed interaction: c = 1 + alpha. */
  alpha: number;
  iterations: number;
  /** Conjugate-gradient steps per row and half-iteration (Takács et al. 2011: 2–3 suffice). */
  cgSteps: number;
  seed: number;
}

export const DEFAULT_ALS: AlsParams = {
  factors: 64,
  regularisation: 0.1,
  alpha: 10,
  iterations: 10,
  cgSteps: 3,
  seed: 42,
};

/**
 * Implicit-feedback ALS (Hu, Koren & Volinsky 2008) with conjugate-gradient row solves:
 * minimise Σ c_ui (p_ui − xᵤ·yᵢ)² + λ(‖X‖² + ‖Y‖²), p = 1 where the user interacted, with
 * confidence c = 1 + α there and 1 elsewhere. Each half-iteration costs
 * O(nnz·d·cgSteps + rows·d²·cgSteps): linear in the catalogue, so it takes over from EASE
 * (cubic in titles) on large catalogues.
 */
export class AlsModel implements Scorer {
  readonly name = "als";

  constructor(
    readonly users: Float32Array,
    readonly items: Float32Array,
    readonly factors: number,
    readonly params: AlsParams,
  ) {}

  scoreUser(user: number, out: Float32Array): void {
    const d = this.factors;
    const x = this.users.subarray(user * d, user * d + d);
    for (let i = 0; i < out.length; i++) {
      let s = 0;
      const o = i * d;
      for (let f = 0; f < d; f++) s += (x[f] as number) * (this.items[o + f] as number);
      out[i] = s;
    }
  }
}

export function fitAls(
  train: Interactions,
  options: Partial<AlsParams> & { log?: (msg: string, fields?: Record<string, unknown>) => void } = {},
): AlsModel {
  const { log, ...given } = options;
  const params: AlsParams = { ...DEFAULT_ALS, ...given };
  const d = params.factors;
  const rng = mulberry32(params.seed);
  const init = (n: number) => Float32Array.from({ length: n * d }, () => (rng() - 0.5) * 0.02);
  const X = init(train.nUsers);
  const Y = init(train.nItems);
  // Item-major rows: the same interactions with users and items swapped.
  const byUser = train;
  const userOf = new Uint32Array(train.items.length);
  for (let u = 0; u < train.nUsers; u++) userOf.fill(u, train.indptr[u] as number, train.indptr[u + 1] as number);
  const byItem = fromTriples(train.nItems, train.nUsers, train.items, userOf, null, null);
  const started = performance.now();
  for (let it = 0; it < params.iterations; it++) {
    solveRows(X, Y, byUser, params);
    solveRows(Y, X, byItem, params);
    const seconds = (performance.now() - started) / 1000;
    log?.("als iteration", {
      iteration: it + 1,
      seconds,
      eta_seconds: (seconds / (it + 1)) * (params.iterations - it - 1),
    });
  }
  return new AlsModel(X, Y, d, params);
}

/** One half-iteration: every row of `X` re-solved against the fixed `Y`, a few CG steps each. */
function solveRows(X: Float32Array, Y: Float32Array, rows: Interactions, params: AlsParams): void {
  const d = params.factors;
  const nY = Y.length / d;
  // YᵀY + λI, shared by every row.
  const yty = new Float64Array(d * d);
  for (let j = 0; j < nY; j++) {
    const o = j * d;
    for (let a = 0; a < d; a++) {
      const ya = Y[o + a] as number;
      if (ya === 0) continue;
      for (let b = 0; b < d; b++) yty[a * d + b] = (yty[a * d + b] as number) + ya * (Y[o + b] as number);
    }
  }
  for (let a = 0; a < d; a++) yty[a * d + a] = (yty[a * d + a] as number) + params.regularisation;
  const c1 = params.alpha; // c − 1
  const x = new Float64Array(d);
  const r = new Float64Array(d);
  const p = new Float64Array(d);
  const ap = new Float64Array(d);
  for (let u = 0; u < rows.nUsers; u++) {
    const s = rows.indptr[u] as number;
    const e = rows.indptr[u + 1] as number;
    for (let f = 0; f < d; f++) x[f] = X[u * d + f] as number;
    // r = b − A x, with A = YᵀY + λI + Σ (c−1) yyᵀ over the row and b = Σ c y.
    mulSym(yty, x, r, d);
    for (let f = 0; f < d; f++) r[f] = -(r[f] as number);
    for (let k = s; k < e; k++) {
      const o = (rows.items[k] as number) * d;
      let yx = 0;
      for (let f = 0; f < d; f++) yx += (Y[o + f] as number) * (x[f] as number);
      const w = 1 + c1 - c1 * yx;
      for (let f = 0; f < d; f++) r[f] = (r[f] as number) + w * (Y[o + f] as number);
    }
    p.set(r);
    let rs = dot(r, r, d);
    for (let step = 0; step < params.cgSteps && rs > 1e-20; step++) {
      mulSym(yty, p, ap, d);
      for (let k = s; k < e; k++) {
        const o = (rows.items[k] as number) * d;
        let yp = 0;
        for (let f = 0; f < d; f++) yp += (Y[o + f] as number) * (p[f] as number);
        const w = c1 * yp;
        for (let f = 0; f < d; f++) ap[f] = (ap[f] as number) + w * (Y[o + f] as number);
      }
      const a = rs / dot(p, ap, d);
      for (let f = 0; f < d; f++) {
        x[f] = (x[f] as number) + a * (p[f] as number);
        r[f] = (r[f] as number) - a * (ap[f] as number);
      }
      const next = dot(r, r, d);
      for (let f = 0; f < d; f++) p[f] = (r[f] as number) + (next / rs) * (p[f] as number);
      rs = next;
    }
    for (let f = 0; f < d; f++) X[u * d + f] = x[f] as number;
  }
}

function mulSym(m: Float64Array, v: Float64Array, out: Float64Array, d: number): void {
  for (let a = 0; a < d; a++) {
    let s = 0;
    const o = a * d;
    for (let b = 0; b < d; b++) s += (m[o + b] as number) * (v[b] as number);
    out[a] = s;
  }
}

function dot(a: Float64Array, b: Float64Array, d: number): number {
  let s = 0;
  for (let f = 0; f < d; f++) s += (a[f] as number) * (b[f] as number);
  return s;
}
