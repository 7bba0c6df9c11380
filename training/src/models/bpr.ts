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
    readonly params: BprParams & { epochs_run: number },
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

export async function fitBpr(
  handle: TfHandle,
  train: Interactions,
  options: Partial<BprParams> & { log?: (msg: string, fields?: Record<string, unknown>) => void } = {},
): Promise<BprModel> {
  const { tf } = handle;
  const params = { ...DEFAULT_BPR, ...options };
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
  let Q: Tensor = tf.tensor2d(init(train.nItems), [train.nItems, d]);
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
      const [nextP, nextQ, l] = tf.tidy(() => {
        const ut = tf.tensor1d(u, "int32");
        const it = tf.tensor1d(ij.subarray(0, b), "int32");
        const jt = tf.tensor1d(ij.subarray(b), "int32");
        const pu = tf.gather(P, ut);
        const qi = tf.gather(Q, it);
        const qj = tf.gather(Q, jt);
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
          s % 16 === 0 ? tf.mean(tf.softplus(tf.neg(x))) : null,
        ] as const;
      });
      P.dispose();
      Q.dispose();
      P = nextP;
      Q = nextQ;
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
  const items = Float32Array.from(await Q.data());
  P.dispose();
  Q.dispose();
  return new BprModel(users, items, d, handle.backend, { ...params, epochs_run: epoch });
}
