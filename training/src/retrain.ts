import { Worker } from "node:worker_threads";
import { MODEL_NAMES, type ModelItems, PERSONAL_FILES } from "@marquee/contracts";
import { loadInteractions, loadTitleFeatures } from "@marquee/feature-store";
import {
  type ClickHouseClient,
  type Logger,
  type ModelMeta,
  ModelStore,
  parseNeighbourArtifact,
  readNeighbourArtifact,
} from "@marquee/runtime";
import { fromInteractionMatrix, fromTriples, type Interactions } from "./dataset.ts";
import { evaluateRanking, type RankingMetrics, type Scorer, topK } from "./eval/metrics.ts";
import { randomSplit, timeCutSplit } from "./eval/split.ts";
import { PopularityScorer } from "./models/popularity-scorer.ts";
import { type PromotionDecision, promoteIfNotWorse } from "./registry.ts";
import { type FittedModel, fitChosenModelAsync } from "./select.ts";
import { historyPopularity, rankableNeighbours, servedScorer } from "./served-scorer.ts";
import { loadTf } from "./tf-backend.ts";

/** Neighbours kept per title in the stored personal model. */
export const PERSONAL_K = 200;
const KEEP_VERSIONS = 10;

export interface RetrainResult {
  version: ModelMeta | null;
  decision: PromotionDecision | null;
  metrics: RankingMetrics | null;
  seconds: number;
  skipped?: string;
}

/**
 * The nightly full retrain of the personal model:
 *  1. read the interaction matrix up to `now` (point-in-time) and the catalogue;
 *  2. holdout: the events since the current version's data snapshot (a clean "next days"
 *     test neither model has seen), or, with no current version or too little new data, a
 *     per-user random 25 % (seed 42);
 *  3. fit the candidate on the holdout's training part; score it and the current version on
 *     the same test part as serving would rank them: from their pruned files (what the
 *     registry stores and serving loads) through serving's own ranking; popularity beside;
 *  4. refit on everything up to `now`, store the version with metrics, backend, data time and
 *     git sha, and promote it only if it is not worse than current (decision recorded).
 */
export async function retrainPersonal(options: {
  clickhouse: ClickHouseClient;
  store: ModelStore;
  logger: Logger;
  now?: Date;
  gitSha?: string | null;
  /** Fit in a worker thread, so a serving process stays responsive while it trains. */
  inWorker?: boolean;
}): Promise<RetrainResult> {
  const started = performance.now();
  const now = options.now ?? new Date();
  const log = options.logger.child({ job: "retrain-personal" });
  const elapsed = () => Math.round(performance.now() - started) / 1000;
  const catalogue = await loadTitleFeatures(options.clickhouse);
  const matrix = await loadInteractions(options.clickhouse, { until: now, items: catalogue.map((t) => t.id) });
  const data = fromInteractionMatrix(matrix);
  log.info(
    { step: "1/4 data", users: data.nUsers, items: data.nItems, interactions: data.items.length, seconds: elapsed() },
    "retrain progress",
  );
  if (data.items.length < 100 || data.nItems < 10) {
    log.info({ interactions: data.items.length }, "too little data: nothing to train");
    return { version: null, decision: null, metrics: null, seconds: elapsed(), skipped: "too little data" };
  }
  const currentVersion = await options.store.currentVersion(MODEL_NAMES.personal);
  const currentMeta = currentVersion ? await options.store.meta(MODEL_NAMES.personal, currentVersion) : null;
  // The (user, title) pairs the current version could have trained on: a pair seen before its
  // snapshot and again since then is not a fresh positive for the holdout.
  const snapshot = currentMeta?.data_until ? new Date(currentMeta.data_until) : null;
  const seenBefore =
    snapshot && Number.isFinite(snapshot.getTime())
      ? pairsIn(data, matrix.users, matrix.items, await loadInteractions(options.clickhouse, { until: snapshot }))
      : null;
  const input: PersonalInput = {
    data,
    seenBefore,
    itemIds: matrix.items,
    items: catalogueInOrder(catalogue, matrix.items),
    storeRoot: options.store.root,
    current: currentVersion && currentMeta ? { version: currentVersion, meta: currentMeta } : null,
    now: now.toISOString(),
  };
  const onProgress = (step: string, fields: Record<string, unknown>) =>
    log.info({ step, ...fields, seconds: elapsed() }, "retrain progress");
  const out = options.inWorker ? await computeInWorker(input, onProgress) : await computePersonal(input, onProgress);
  const meta = await options.store.write(
    {
      name: MODEL_NAMES.personal,
      data_until: now.toISOString(),
      backend: out.backend,
      git_sha: options.gitSha ?? null,
      metrics: {
        // The served form's figures: what the gate compared and what viewers get.
        ...prefixed("holdout_", out.metrics),
        // EASE's dense weights on the same holdout, for reference only: never served.
        holdout_dense_ndcg_at_10: out.denseMetrics.ndcg_at_10,
        popularity_ndcg_at_10: out.popularity.ndcg_at_10,
        users: data.nUsers,
        items: data.nItems,
        interactions: data.items.length,
        fit_seconds: Math.round(out.fitSeconds * 1000) / 1000,
      },
      params: { ...out.params, holdout: out.holdout },
    },
    out.files,
  );
  const metrics = out.metrics;
  const popularity = out.popularity;
  const currentValue = out.currentValue;
  const holdout = out.holdout;
  const decision = await promoteIfNotWorse(options.store, {
    name: MODEL_NAMES.personal,
    candidate: meta.version,
    metric: "ndcg_at_10",
    candidateValue: metrics.ndcg_at_10,
    currentValue,
    popularityValue: popularity.ndcg_at_10,
    holdout,
  });
  await options.store.prune(MODEL_NAMES.personal, KEEP_VERSIONS);
  log.info(
    {
      step: "4/4 stored",
      version: meta.version,
      promoted: decision.promoted,
      reason: decision.reason,
      ndcg_at_10: metrics.ndcg_at_10,
      popularity_ndcg_at_10: popularity.ndcg_at_10,
      seconds: elapsed(),
    },
    "personal model retrained",
  );
  return { version: meta, decision, metrics, seconds: elapsed() };
}

/**
 * Every (user, item) pair of `before` that exists in `data`'s index space (users and items
 * matched by id), as rows in that space: whatever its net weight, the pair was known then.
 */
export function pairsIn(
  data: Interactions,
  userIds: readonly string[],
  itemIds: readonly string[],
  before: { users: readonly string[]; items: readonly string[]; userIdx: Uint32Array; itemIdx: Uint32Array },
): Interactions {
  const userIndex = new Map(userIds.map((id, u) => [id, u]));
  const itemIndex = new Map(itemIds.map((id, i) => [id, i]));
  const users: number[] = [];
  const items: number[] = [];
  for (let k = 0; k < before.userIdx.length; k++) {
    const u = userIndex.get(before.users[before.userIdx[k] as number] as string);
    const i = itemIndex.get(before.items[before.itemIdx[k] as number] as string);
    if (u === undefined || i === undefined) continue;
    users.push(u);
    items.push(i);
  }
  return fromTriples(data.nUsers, data.nItems, users, items, null, null);
}

function usersWithTest(test: Interactions): number {
  let n = 0;
  for (let u = 0; u < test.nUsers; u++) if ((test.indptr[u + 1] as number) > (test.indptr[u] as number)) n++;
  return n;
}

function prefixed(prefix: string, m: RankingMetrics): Record<string, number> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [`${prefix}${k}`, v]));
}

function catalogueInOrder(catalogue: ModelItems, ids: readonly string[]): ModelItems {
  const byId = new Map(catalogue.map((t) => [t.id, t]));
  return ids.map((id) => byId.get(id) ?? { id, title: "", genres: [], year: 0 });
}

/**
 * The personal model's files: for each item, its k strongest positive weights to other items
 * (EASE's rows of B, pruned), in the item-to-item layout.
 */
export function personalFiles(model: FittedModel, items: ModelItems, k: number): Record<string, Uint8Array | string> {
  if (!model.weights) throw new Error(`${model.name} has no item-item weights to store`);
  const weightsAll = model.weights;
  const n = items.length;
  const neighbors = new Int32Array(n * k).fill(-1);
  const weights = new Float32Array(n * k);
  const modelled = model.modelled;
  const m = modelled ? modelled.length : n;
  const row = new Float32Array(m);
  const top = new Int32Array(Math.min(k, m));
  for (let x = 0; x < m; x++) {
    const i = modelled ? (modelled[x] as number) : x;
    row.set(weightsAll.subarray(x * m, x * m + m));
    for (let j = 0; j < m; j++) if (!((row[j] as number) > 0)) row[j] = Number.NEGATIVE_INFINITY;
    row[x] = Number.NEGATIVE_INFINITY;
    topK(row, top.length, top);
    for (let r = 0; r < top.length; r++) {
      const j = top[r] as number;
      if (j < 0) break;
      neighbors[i * k + r] = modelled ? (modelled[j] as number) : j;
      weights[i * k + r] = row[j] as number;
    }
  }
  return {
    [PERSONAL_FILES.items]: JSON.stringify(items),
    [PERSONAL_FILES.neighbors]: new Uint8Array(neighbors.buffer),
    [PERSONAL_FILES.weights]: new Uint8Array(weights.buffer),
  };
}

export interface PersonalInput {
  data: Interactions;
  /**
   * The pairs already seen before the current version's snapshot (`current.meta.data_until`),
   * in `data`'s index space: on the time-cut holdout they stay in the training part (history),
   * never held-out positives, since the current version may have trained on them.
   */
  seenBefore?: Interactions | null;
  itemIds: readonly string[];
  items: ModelItems;
  storeRoot: string;
  current: { version: string; meta: ModelMeta } | null;
  now: string;
  /** Neighbours kept per title in the stored files (default PERSONAL_K). */
  k?: number;
}

export interface PersonalOutput {
  holdout: string;
  /** The candidate as it would be served (its pruned files, serving's ranking): what the gate compares. */
  metrics: RankingMetrics;
  /** The candidate's dense model on the same holdout; reference only. */
  denseMetrics: RankingMetrics;
  popularity: RankingMetrics;
  currentValue: number | null;
  fitSeconds: number;
  backend: string;
  params: Record<string, unknown>;
  files: Record<string, Uint8Array | string>;
}

/**
 * The CPU-heavy part of the retrain, with no database: pick the holdout, fit and evaluate the
 * candidate, score the current version on the same holdout, refit on everything and build
 * the files. Runs inline or in a worker thread (retrain-worker.ts).
 */
export async function computePersonal(
  input: PersonalInput,
  progress: (step: string, fields: Record<string, unknown>) => void = () => undefined,
): Promise<PersonalOutput> {
  const { data, current } = input;
  const handle = await loadTf({ prefer: "wasm" });
  const since = current?.meta.data_until ? Date.parse(current.meta.data_until) : Number.NaN;
  let split = Number.isFinite(since) ? timeCutSplit(data, since, input.seenBefore) : null;
  let holdout = split ? `since ${current?.meta.data_until}` : "";
  const freshHoldout = split !== null && usersWithTest(split.test) >= 20;
  if (!split || !freshHoldout) {
    split = randomSplit(data, { seed: 42 });
    holdout = `random-75-25 seed 42 @ ${input.now}`;
  }
  progress("2/4 holdout", { holdout, test: split.test.items.length, backend: handle.backend });

  const k = input.k ?? PERSONAL_K;
  const fitStarted = performance.now();
  const candidate = await fitChosenModelAsync(handle, split.train, { allowAls: false });
  const fitSeconds = (performance.now() - fitStarted) / 1000;
  const denseMetrics = evaluateRanking(candidate, split.train, split.test);
  // Both versions are judged as viewers would meet them: their pruned, positive-only files
  // read back by the registry's reader, ranked by serving's Top-picks ranking with one
  // popularity prior, on one holdout. (The dense EASE model scores higher or lower than its
  // served form depending on what pruning drops; it is never served.)
  const prior = historyPopularity(input.items, split.train);
  const served = (files: Record<string, Uint8Array | string>, label: string, kept: number) =>
    servedScorer(
      rankableNeighbours(parseNeighbourArtifact(MODEL_NAMES.personal, label, kept, files)),
      input.items,
      split.train,
      prior,
    );
  const metrics = evaluateRanking(
    served(personalFiles(candidate, input.items, k), "candidate", k),
    split.train,
    split.test,
  );
  const popularity = evaluateRanking(new PopularityScorer(split.train), split.train, split.test);
  let currentValue: number | null = null;
  if (current) {
    try {
      // On a fresh time-cut holdout the stored files are scored as they are: neither model
      // saw those events. On a random holdout the stored model has seen the test part, so the
      // current version's recipe (its λ and k) is refitted on the same training part instead.
      let scorer: Scorer;
      if (freshHoldout) {
        const artifact = await readNeighbourArtifact(
          new ModelStore(input.storeRoot),
          MODEL_NAMES.personal,
          current.version,
        );
        scorer = servedScorer(rankableNeighbours(artifact), input.items, split.train, prior);
      } else {
        const currentK = Number(current.meta.params.k ?? k);
        const refit = await fitChosenModelAsync(handle, split.train, {
          allowAls: false,
          lambda: Number(current.meta.params.lambda ?? candidate.params.lambda),
        });
        scorer = served(personalFiles(refit, input.items, currentK), current.version, currentK);
      }
      currentValue = evaluateRanking(scorer, split.train, split.test).ndcg_at_10;
    } catch (err) {
      progress("3/4 current version could not be scored", { error: String(err) });
    }
  }
  progress("3/4 evaluated", {
    ndcg_at_10: metrics.ndcg_at_10,
    dense_ndcg_at_10: denseMetrics.ndcg_at_10,
    current_ndcg_at_10: currentValue,
    popularity_ndcg_at_10: popularity.ndcg_at_10,
    eta_seconds: Math.round(fitSeconds * 10) / 10,
  });
  const full = await fitChosenModelAsync(handle, data, { allowAls: false, lambda: Number(candidate.params.lambda) });
  return {
    holdout,
    metrics,
    denseMetrics,
    popularity,
    currentValue,
    fitSeconds,
    backend: full.backend,
    params: { algorithm: full.name, ...full.params, k },
    files: personalFiles(full, input.items, k),
  };
}

/** computePersonal in a worker thread; progress messages are relayed to the caller. */
function computeInWorker(
  input: PersonalInput,
  progress: (step: string, fields: Record<string, unknown>) => void,
): Promise<PersonalOutput> {
  return new Promise((resolve, reject) => {
    const entry = new URL("./retrain-worker.ts", import.meta.url).href;
    // Source runs under tsx (decision 001): a worker does not inherit its loader hooks, so the
    // worker registers tsx's ESM hooks itself before importing the entry.
    const tsx = import.meta.resolve("tsx/esm/api");
    const worker = new Worker(
      `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`,
      { eval: true, workerData: input },
    );
    worker.on(
      "message",
      (
        m: { type: "progress"; step: string; fields: Record<string, unknown> } | { type: "done"; out: PersonalOutput },
      ) => {
        if (m.type === "progress") progress(m.step, m.fields);
        else resolve(m.out);
      },
    );
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (code !== 0) reject(new Error(`retrain worker exited with code ${code}`));
    });
  });
}
