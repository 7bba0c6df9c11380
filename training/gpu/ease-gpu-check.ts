/**
 * GPU check for EASE, the production personal model (issue 5, ADR 003): loads TensorFlow.js
 * through the project's chooser (`loadTf`) with the backend named by `--backend` (webgpu, wasm
 * or cpu), checks the asynchronous block inverse (`invertSpdAsync`) against a double-precision
 * Cholesky inverse, then fits EASE on the benchmark's data (bench:training: 6k users × 4k titles,
 * 1M interactions, seed 7, per-user 75/25 split seed 42, λ = 400 as `fitChosenModel` picks
 * without tuning) and ranks every user's held-out titles (nDCG@10 over all titles).
 *
 * `--paths sync,async` fits once per path (`EaseModel.fit`, `EaseModel.fitAsync`; webgpu can
 * only take async) and `--fits N` repeats each (the first webgpu fit compiles the shaders).
 * `--save FILE` writes the learned weights (float32); `--compare FILE` reads another backend's
 * and reports the largest absolute difference. Prints one JSON line per check and one per
 * backend (the last fit of the last path) on stdout; progress goes to stderr. Exit 2 when the
 * backend could not be initialised, 1 when a check fails.
 *
 * Runs from a bundle (training/gpu/prepare.sh) on a machine without the repo's node_modules.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { evaluateRanking } from "../src/eval/metrics.ts";
import { randomSplit } from "../src/eval/split.ts";
import { EaseModel, gram } from "../src/models/ease.ts";
import { invertSpdAsync, invertSpdSmall } from "../src/models/linalg.ts";
import { syntheticInteractions } from "../src/synthetic.ts";
import { loadTf, type TfBackendPreference } from "../src/tf-backend.ts";

const out = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);
const log = (msg: string) => process.stderr.write(`[${new Date().toISOString()}] ${msg}\n`);
/**
 * select.ts's DEFAULT_EASE_LAMBDA, the λ bench:training's fit uses; not imported, as select.ts
 * pulls in the workspace packages (@marquee/contracts) that the bundle leaves out.
 */
const DEFAULT_EASE_LAMBDA = 400;
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: "string", default: "webgpu" },
      users: { type: "string", default: "6000" },
      items: { type: "string", default: "4000" },
      interactions: { type: "string", default: "1000000" },
      lambda: { type: "string", default: String(DEFAULT_EASE_LAMBDA) },
      paths: { type: "string" },
      fits: { type: "string", default: "1" },
      save: { type: "string" },
      compare: { type: "string" },
    },
  });
  const want = values.backend as TfBackendPreference;
  if (!["webgpu", "wasm", "cpu"].includes(want)) throw new Error(`--backend must be webgpu, wasm or cpu: ${want}`);
  const paths = (values.paths ?? (want === "webgpu" ? "async" : "sync")).split(",");
  if (!paths.every((p) => p === "sync" || p === "async"))
    throw new Error(`--paths: sync and/or async: ${values.paths}`);
  const started = performance.now();
  const handle = await loadTf({ prefer: want });
  const { tf } = handle;
  const backend = tf.getBackend();
  out({
    model: "ease",
    backend,
    chosen: handle.backend,
    tried: handle.tried,
    init_ms: round(performance.now() - started),
  });
  if (backend !== want) {
    out({ model: "ease", backend: want, error: `backend ${want} could not be initialised; got ${backend}` });
    process.exit(2);
  }
  const device = /^webgpu \((.*)\)$/.exec(handle.backend)?.[1] ?? `${backend} (CPU, one thread)`;

  // The asynchronous inverse against a double-precision Cholesky inverse: 600 × 600, blocks of
  // 256 (so three pivot blocks, the last one partial), well conditioned like XᵀX + λI.
  let ok = true;
  {
    const n = 600;
    let s = 1;
    const r = () => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s / 4294967296 - 0.5;
    };
    const x = Float32Array.from({ length: n * 64 }, r);
    const a = new Float32Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j <= i; j++) {
        let t = i === j ? 4 : 0;
        for (let k = 0; k < 64; k++) t += (x[i * 64 + k] as number) * (x[j * 64 + k] as number);
        a[i * n + j] = t;
        a[j * n + i] = t;
      }
    const before = tf.memory().numTensors;
    const inv = await invertSpdAsync(tf, a, n);
    const err = maxAbsDiff(inv, invertSpdSmall(a, n));
    const leaked = tf.memory().numTensors - before;
    ok = err <= 1e-4 && leaked === 0;
    out({
      check: "invertSpdAsync 600x600 vs float64 Cholesky",
      backend,
      max_abs_err: err,
      tolerance: 1e-4,
      tensors_leaked: leaked,
      ok,
    });
  }

  const t0 = performance.now();
  const data = syntheticInteractions({
    users: Number(values.users),
    items: Number(values.items),
    interactions: Number(values.interactions),
    seed: 7,
  });
  const { train, test } = randomSplit(data, { seed: 42 });
  log(
    `data: ${data.nUsers} users x ${data.nItems} titles, ${data.items.length} interactions, ${round((performance.now() - t0) / 1000)} s`,
  );
  const lambda = Number(values.lambda);
  let t = performance.now();
  gram(train);
  const gramSeconds = (performance.now() - t) / 1000;

  let model: EaseModel | null = null;
  const fitSeconds: Record<string, number[]> = {};
  let pathWeights: Float32Array | null = null;
  let syncVsAsync: number | null = null;
  for (const path of paths) {
    fitSeconds[path] = [];
    for (let f = 0; f < Number(values.fits); f++) {
      model = null;
      t = performance.now();
      model = path === "sync" ? EaseModel.fit(tf, train, { lambda }) : await EaseModel.fitAsync(tf, train, { lambda });
      const seconds = (performance.now() - t) / 1000;
      fitSeconds[path]?.push(round(seconds, 2));
      log(`${backend} ${path} fit ${f + 1}: ${round(seconds, 2)} s`);
    }
    if (pathWeights && model) syncVsAsync = maxAbsDiff(pathWeights, model.weights);
    pathWeights = model?.weights ?? null;
  }
  if (!model) throw new Error("no fit ran");
  const lastPath = paths.at(-1) as string;
  t = performance.now();
  const metrics = evaluateRanking(model, train, test);
  const evalSeconds = (performance.now() - t) / 1000;
  if (values.save) writeFileSync(values.save, model.weights);
  let vsOther: { file: string; max_abs_diff: number } | null = null;
  if (values.compare) {
    const buf = readFileSync(values.compare);
    const other = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    vsOther = { file: values.compare, max_abs_diff: maxAbsDiff(model.weights, other) };
  }
  const times = fitSeconds[lastPath] ?? [];
  out({
    model: "ease",
    backend,
    device,
    users: data.nUsers,
    items: data.nItems,
    interactions: data.items.length,
    lambda,
    path: lastPath,
    seconds: times.at(-1),
    fit_seconds_by_path: fitSeconds,
    gram_seconds: round(gramSeconds, 2),
    ndcg_at_10: metrics.ndcg_at_10,
    eval_users: metrics.users,
    eval_seconds: round(evalSeconds, 2),
    max_abs_weight: maxAbs(model.weights),
    ...(syncVsAsync !== null ? { sync_vs_async_max_abs_diff: syncVsAsync } : {}),
    ...(vsOther ? { compared_with: vsOther.file, max_abs_diff_vs_compared: vsOther.max_abs_diff } : {}),
    tensors_left: tf.memory().numTensors,
    checks_ok: ok,
    total_seconds: round((performance.now() - started) / 1000, 1),
  });
  process.exit(ok ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`error: ${err instanceof Error ? err.stack : String(err)}\n`);
  out({ model: "ease", error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
