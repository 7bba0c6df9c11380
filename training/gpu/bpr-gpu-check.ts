/**
 * GPU check for the tfjs training path (issue 5): loads TensorFlow.js through the project's own
 * chooser (`loadTf`) with the backend named by `--backend` (webgpu, wasm or cpu), checks a few
 * kernels against typed-array references, then trains the project's BPR (`fitBpr`, the
 * benchmark's data: 6k users × 4k titles × 1M interactions, 64 factors, title features) at each
 * `--batches` size and times it. Prints one JSON line per check and per batch size on stdout;
 * progress goes to stderr. Exit 2 when the requested backend could not be initialised (e.g. no
 * WebGPU adapter), 1 when a check fails.
 *
 * Runs from a bundle (training/gpu/prepare.sh) so that a machine without the repo's
 * node_modules can run it: `node .gpu/run/bpr-gpu-check.mjs --backend webgpu`.
 */
import { parseArgs } from "node:util";
import { evaluateRanking } from "../src/eval/metrics.ts";
import { randomSplit } from "../src/eval/split.ts";
import { DEFAULT_BPR, fitBpr, itemFeaturesFromLabels } from "../src/models/bpr.ts";
import { invertSpd } from "../src/models/linalg.ts";
import { syntheticInteractions } from "../src/synthetic.ts";
import { loadTf, type TfBackendPreference, type TfHandle } from "../src/tf-backend.ts";
import { gatherRowsValues, unsortedSegmentSumValues } from "../src/tf-kernels.ts";

const out = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);
const log = (msg: string) => process.stderr.write(`[${new Date().toISOString()}] ${msg}\n`);
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** The adapter as the webgpu backend keeps it, with the device's buffer limits. */
function adapterInfo(handle: TfHandle): Record<string, unknown> | null {
  const backend = handle.tf.backend() as unknown as { adapterInfo?: Record<string, unknown>; device?: GpuDevice };
  const info = backend.adapterInfo;
  if (!info) return null;
  const copy: Record<string, unknown> = {};
  for (const k of ["vendor", "architecture", "device", "description", "subgroupMinSize", "subgroupMaxSize"])
    if (info[k] !== undefined && info[k] !== "") copy[k] = info[k];
  const limits = backend.device?.limits;
  if (limits) {
    copy.maxBufferSize = limits.maxBufferSize;
    copy.maxStorageBufferBindingSize = limits.maxStorageBufferBindingSize;
  }
  return copy;
}
interface GpuDevice {
  limits?: { maxBufferSize: number; maxStorageBufferBindingSize: number };
}

async function checks(handle: TfHandle, backend: string): Promise<boolean> {
  const { tf } = handle;
  const r = rng(1);
  const rand = (n: number) => Float32Array.from({ length: n }, () => r() - 0.5);
  let allOk = true;
  const report = (check: string, err: number, tol: number, extra: Record<string, unknown> = {}) => {
    const ok = err <= tol;
    allOk &&= ok;
    out({ check, backend, max_abs_err: err, tolerance: tol, ok, ...extra });
  };

  // matMul 300×64 · 64×500 against a double-precision loop.
  const [m, k, n] = [300, 64, 500];
  const a = rand(m * k);
  const b = rand(k * n);
  const ref = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p] as number;
      for (let j = 0; j < n; j++) ref[i * n + j] = (ref[i * n + j] as number) + av * (b[p * n + j] as number);
    }
  const mm = tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n]));
  report("matMul 300x64x500", maxAbsDiff(await mm.data(), ref), 1e-4);

  // Row gather of 65,536 rows from a 4,000 × 64 table (the embedding lookup).
  const rows = 4000;
  const d = 64;
  const table = rand(rows * d);
  const idx = Int32Array.from({ length: 65536 }, () => Math.floor(r() * rows));
  const g = tf.gather(tf.tensor2d(table, [rows, d]), tf.tensor1d(idx, "int32"));
  report("gather 65536 rows of 4000x64", maxAbsDiff(await g.data(), gatherRowsValues(table, d, idx)), 0);

  // Scatter-add (the embedding gradient) with skewed ids: half the rows hit 10 segments, as
  // popular titles do; on webgpu this is a float atomic add, so the order of the sums varies.
  // The cpu backend's kernel is O(rows × segments) (207 s for 4,096 × 64 into 4,000 here), so
  // it gets a small case.
  const [n1, segs] = backend === "cpu" ? [1024, 100] : [65536, rows];
  const x = rand(n1 * d);
  const ids = Int32Array.from({ length: n1 }, () => (r() < 0.5 ? Math.floor(r() * 10) : Math.floor(r() * segs)));
  const s = tf.unsortedSegmentSum(tf.tensor2d(x, [n1, d]), tf.tensor1d(ids, "int32"), segs);
  report(
    `unsortedSegmentSum ${n1}x${d} into ${segs}`,
    maxAbsDiff(await s.data(), unsortedSegmentSumValues(x, [n1, d], ids, segs)),
    1e-3,
  );

  // The loss's element-wise ops and a row reduction.
  const v = Float32Array.from({ length: 4096 }, () => (r() - 0.5) * 20);
  const vt = tf.tensor1d(v);
  report(
    "sigmoid",
    maxAbsDiff(
      await tf.sigmoid(vt).data(),
      Array.from(v, (z) => 1 / (1 + Math.exp(-z))),
    ),
    1e-5,
  );
  report(
    "softplus",
    maxAbsDiff(
      await tf.softplus(vt).data(),
      Array.from(v, (z) => Math.log1p(Math.exp(z))),
    ),
    1e-4,
  );
  const sums = Array.from({ length: 300 }, (_, i) => {
    let t = 0;
    for (let p = 0; p < k; p++) t += a[i * k + p] as number;
    return t;
  });
  report("sum over rows 300x64", maxAbsDiff(await tf.sum(tf.tensor2d(a, [m, k]), 1).data(), sums), 1e-5);

  // EASE's inverse reads back with dataSync(): record whether this backend can do that.
  const ns = 300;
  const spd = new Float32Array(ns * ns);
  for (let i = 0; i < ns; i++) spd[i * ns + i] = 2;
  try {
    const inv = invertSpd(tf, spd, ns, 128);
    report("invertSpd (EASE, dataSync) 300x300", Math.abs((inv[0] as number) - 0.5), 1e-5);
  } catch (err) {
    // Not counted as a failure: the chooser's doc says EASE needs dataSync (see ADR 003).
    out({ check: "invertSpd (EASE, dataSync) 300x300", backend, ok: false, counted: false, error: String(err) });
  }
  return allOk;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: "string", default: "webgpu" },
      batches: { type: "string", default: "4096,65536" },
      epochs: { type: "string", default: "3" },
      seconds: { type: "string", default: "30" },
      "eval-users": { type: "string", default: "1000" },
    },
  });
  const want = values.backend as TfBackendPreference;
  if (!["webgpu", "wasm", "cpu"].includes(want)) throw new Error(`--backend must be webgpu, wasm or cpu: ${want}`);
  const started = performance.now();
  const handle = await loadTf({ prefer: want });
  const backend = handle.tf.getBackend();
  const info = adapterInfo(handle);
  out({
    backend,
    chosen: handle.backend,
    adapter: info,
    tried: handle.tried,
    init_ms: round(performance.now() - started),
  });
  if (backend !== want) {
    out({ backend: want, error: `backend ${want} could not be initialised; got ${backend}`, tried: handle.tried });
    process.exit(2);
  }
  // The chooser's name for the adapter (tfjs keeps only its vendor and architecture).
  const device = /^webgpu \((.*)\)$/.exec(handle.backend)?.[1] ?? `${backend} (CPU, one thread)`;

  const ok = await checks(handle, backend);

  const data = syntheticInteractions({ users: 6000, items: 4000, interactions: 1_000_000, seed: 7 });
  const { train, test } = randomSplit(data, { seed: 42 });
  const features = itemFeaturesFromLabels(data.itemLabels);
  const evalUsers = Array.from({ length: Math.min(Number(values["eval-users"]), train.nUsers) }, (_, u) => u);
  for (const batch of values.batches.split(",").map(Number)) {
    if (backend === "cpu") {
      // Each step runs three scatter-adds, minutes each on this backend (see above).
      out({ backend, device, batch, skipped: "cpu UnsortedSegmentSum is O(rows x segments): minutes per step" });
      continue;
    }
    const steps = Math.ceil(train.items.length / batch);
    // The updates are scatter-adds of per-triple gradients, so a popular title's step grows with
    // the batch: above the default batch the learning rate is scaled down to match (else the
    // 65,536 batch diverges, on every backend).
    const learningRate = DEFAULT_BPR.learningRate * Math.min(1, DEFAULT_BPR.batchSize / batch);
    // Warm-up: one epoch compiles the shaders (webgpu) and settles the allocator.
    let t = performance.now();
    await fitBpr(handle, train, { batchSize: batch, learningRate, epochs: 1, maxSeconds: 1e9, features });
    const warmupSeconds = (performance.now() - t) / 1000;
    log(`${backend} batch ${batch}: warm-up epoch ${round(warmupSeconds)} s`);
    const epochs: number[] = [];
    t = performance.now();
    const model = await fitBpr(handle, train, {
      batchSize: batch,
      learningRate,
      epochs: Number(values.epochs),
      maxSeconds: Number(values.seconds),
      features,
      log: (_msg, fields) => epochs.push(Number(fields?.loss)),
    });
    // Wall time of the whole fit, its final read-back included, so queued GPU work is counted.
    const seconds = (performance.now() - t) / 1000;
    const stepsRun = model.params.epochs_run * steps;
    const ndcg = evaluateRanking(model, train, test, { users: evalUsers }).ndcg_at_10;
    out({
      backend,
      device,
      batch,
      learning_rate: learningRate,
      steps_per_s: round(stepsRun / seconds, 2),
      ms_per_step: round((seconds * 1000) / stepsRun, 2),
      triples_per_s: Math.round((stepsRun * batch) / seconds),
      epochs: model.params.epochs_run,
      steps_per_epoch: steps,
      fit_seconds: round(seconds, 2),
      warmup_epoch_seconds: round(warmupSeconds, 2),
      final_loss: round(epochs.at(-1) ?? Number.NaN, 4),
      ndcg_at_10_first_users: ndcg,
      eval_users: evalUsers.length,
    });
  }
  out({ backend, device, checks_ok: ok, total_seconds: round((performance.now() - started) / 1000, 1) });
  process.exit(ok ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`error: ${err instanceof Error ? err.stack : String(err)}\n`);
  out({ error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
