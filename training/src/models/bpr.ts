import type { Tensor } from "@tensorflow/tfjs-core";
import { type Interactions, mulberry32 } from "../dataset.ts";
import type { Scorer } from "../eval/metrics.ts";
import type { TfHandle } from "../tf-backend.ts";

export interface BprParams {
  factors: number;
  learningRate: number;
  regularisation: number;
  batchSize: number;
  epochs: number;
  /** Stop after the epoch that passes this many seconds (the nightly run has a budget). */
  maxSeconds: number;
  seed: number;
}

export const DEFAULT_BPR: BprParams = {
  factors: 64,
  learningRate: 0.05,
  regularisation: 0.002,
  batchSize: 8192,
  epochs: 30,
  maxSeconds: 60,
  seed: 42,
};

/**
 * Bayesian personalised ranking (Rendle et al., 2009) as matrix factorisation, trained with
 * TensorFlow.js on (user, seen item, random item) triples: maximise log σ(pᵤ·(qᵢ − qⱼ)).
 * The gradients are written out rather than taken by autodiff (tfjs-core ships without its
 * gradient registry when loaded from Node): per triple, g = σ(−x), and the embedding updates
 * are scatter-adds — exactly the `UnsortedSegmentSum` an autodiff embedding gradient would
 * run, so on wasm it goes through the kernel registered in tf-kernels.ts.
 */
export class BprModel implements Scorer {
  readonly name = "bpr-tfjs";

  constructor(
    readonly users: Float32Array,
    readonly items: Float32Array,
    readonly factors: number,
    readonly backend: string,
    readonly params: BprParams & { epochs_run: number; features: number },
  ) {}

  scoreUser(user: number, out: Float32Array): void {
    const d = this.factors;
    const p = this.users.subarray(user * d, user * d + d);
    const q = this.items;
    for (let i = 0; i < out.length; i++) {
      let s = 0;
      const o = i * d;
      for (let f = 0; f < d; f++) s += (p[f] as number) * (q[o + f] as number);
      out[i] = s;
    }
  }
}

/**
 * Title metadata as a dense items × features matrix (row-normalised multi-hot: genres, decade
 * of release...). With it, an item's vector is its own embedding plus Σ features × feature
 * embeddings — a two-tower item side — so a title nobody has watched yet still gets a vector
 * from what it is, and can be recommended.
 */
/** Feature embeddings' step relative to the learning rate (each gathers many titles' gradients). */
const FEATURE_STEP = 1;

export interface ItemFeatures {
  count: number;
  /** items × count, row-major. */
  values: Float32Array;
}

/** Multi-hot features from per-item labels (e.g. ["Drama", "1990s"]), rows normalised to sum 1. */
export function itemFeaturesFromLabels(labels: readonly (readonly string[])[]): ItemFeatures & { names: string[] } {
  const names: string[] = [];
  const index = new Map<string, number>();
  for (const ls of labels) for (const l of ls) if (!index.has(l)) index.set(l, names.push(l) - 1);
  const values = new Float32Array(labels.length * names.length);
  labels.forEach((ls, i) => {
    for (const l of ls) values[i * names.length + (index.get(l) as number)] = 1 / ls.length;
  });
  return { count: names.length, values, names };
}

export async function fitBpr(
  handle: TfHandle,
  train: Interactions,
  options: Partial<BprParams> & {
    features?: ItemFeatures;
    log?: (msg: string, fields?: Record<string, unknown>) => void;
  } = {},
): Promise<BprModel> {
  const { tf } = handle;
  const { features: _features, log: _log, ...given } = options;
  const params: BprParams = { ...DEFAULT_BPR, ...given };
  const features = options.features && options.features.count > 0 ? options.features : null;
  const { factors: d, batchSize: b } = params;
  const rng = mulberry32(params.seed);
  const nnz = train.items.length;
  const entryUser = new Int32Array(nnz);
  for (let u = 0; u < train.nUsers; u++) entryUser.fill(u, train.indptr[u] as number, train.indptr[u + 1] as number);
  const init = (n: number) => {
    const a = new Float32Array(n * d);
    for (let k = 0; k < a.length; k++) a[k] = (rng() - 0.5) * 0.2;
    return a;
  };
  let P: Tensor = tf.tensor2d(init(train.nUsers), [train.nUsers, d]);
  // Item side: own embeddings E plus F·W (features × feature embeddings) when features exist.
  const itemInit = init(train.nItems);
  if (options.features) {
    // A title with no interactions keeps a zero own-embedding: its vector is its metadata's.
    const seen = new Uint8Array(train.nItems);
    for (const i of train.items) seen[i] = 1;
    for (let i = 0; i < train.nItems; i++) if (!seen[i]) itemInit.fill(0, i * d, i * d + d);
  }
  let Q: Tensor = tf.tensor2d(itemInit, [train.nItems, d]);
  const F = features ? tf.tensor2d(features.values, [train.nItems, features.count]) : null;
  const Ft = F ? tf.transpose(F) : null;
  let W: Tensor | null = features ? tf.tensor2d(init(features.count), [features.count, d]) : null;
  const started = performance.now();
  const steps = Math.ceil(nnz / b);
  let epoch = 0;
  const u = new Int32Array(b);
  const ij = new Int32Array(2 * b);
  for (; epoch < params.epochs; epoch++) {
    let loss = 0;
    for (let s = 0; s < steps; s++) {
      for (let k = 0; k < b; k++) {
        const e = Math.floor(rng() * nnz);
        u[k] = entryUser[e] as number;
        ij[k] = train.items[e] as number;
        ij[b + k] = Math.floor(rng() * train.nItems);
      }
      const [nextP, nextQ, nextW, l] = tf.tidy(() => {
        const ut = tf.tensor1d(u, "int32");
        const it = tf.tensor1d(ij.subarray(0, b), "int32");
        const jt = tf.tensor1d(ij.subarray(b), "int32");
        const items = F && W ? tf.add(Q, tf.matMul(F, W)) : Q;
        const pu = tf.gather(P, ut);
        const qi = tf.gather(items, it);
        const qj = tf.gather(items, jt);
        const diff = tf.sub(qi, qj);
        const x = tf.sum(tf.mul(pu, diff), 1);
        const g = tf.reshape(tf.sigmoid(tf.neg(x)), [b, 1]);
        const reg = params.regularisation;
        const lr = params.learningRate;
        const dpu = tf.sub(tf.mul(g, diff), tf.mul(reg, pu));
        const gpu = tf.mul(g, pu);
        const dqi = tf.sub(gpu, tf.mul(reg, qi));
        const dqj = tf.neg(tf.add(gpu, tf.mul(reg, qj)));
        const dQ = tf.add(tf.unsortedSegmentSum(dqi, it, train.nItems), tf.unsortedSegmentSum(dqj, jt, train.nItems));
        return [
          tf.add(P, tf.mul(lr, tf.unsortedSegmentSum(dpu, ut, train.nUsers))),
          tf.add(Q, tf.mul(lr, dQ)),
          // ∂/∂W of Σ (F·W)ᵢ is Fᵀ·dQ; the feature step is scaled down, as each feature row
          // collects the gradient of every title that has it.
          Ft && W ? tf.add(W, tf.mul(lr * FEATURE_STEP, tf.matMul(Ft, dQ))) : null,
          s % 16 === 0 ? tf.mean(tf.softplus(tf.neg(x))) : null,
        ] as const;
      });
      P.dispose();
      Q.dispose();
      W?.dispose();
      P = nextP;
      Q = nextQ;
      W = nextW;
      if (l) {
        loss = (await l.data())[0] as number;
        l.dispose();
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const eta = (seconds / (epoch + 1)) * (params.epochs - epoch - 1);
    options.log?.("bpr epoch", { epoch: epoch + 1, loss, seconds, eta_seconds: eta });
    if (seconds > params.maxSeconds) {
      epoch++;
      break;
    }
  }
  const users = Float32Array.from(await P.data());
  const itemTensor = F && W ? tf.tidy(() => tf.add(Q, tf.matMul(F, W as Tensor))) : Q;
  const items = Float32Array.from(await itemTensor.data());
  for (const t of [P, Q, F, Ft, W, itemTensor]) if (t && !t.isDisposed) t.dispose();
  return new BprModel(users, items, d, handle.backend, {
    ...params,
    epochs_run: epoch,
    features: features?.count ?? 0,
  });
}
