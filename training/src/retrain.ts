import { Worker } from "node:worker_threads";
import { MODEL_NAMES, type ModelItems } from "@marquee/contracts";
import { loadInteractions, loadTitleFeatures } from "@marquee/feature-store";
import {
  type ClickHouseClient,
  type Logger,
  type ModelMeta,
  ModelStore,
  parseNeighbourArtifact,
  readNeighbourArtifact,
  type TitleMeta,
} from "@marquee/runtime";
import { blendColdNeighbours, type ColdStartResult, evaluateColdStart, fitContentModel } from "./content-model.ts";
import { fromInteractionMatrix, fromTriples, type Interactions } from "./dataset.ts";
import { evaluateRanking, type RankingMetrics, type Scorer } from "./eval/metrics.ts";
import { randomSplit, timeCutSplit } from "./eval/split.ts";
import { denseToNeighbours, type NeighbourLists } from "./models/graph.ts";
import { PopularityScorer } from "./models/popularity-scorer.ts";
import { type PromotionDecision, promoteIfNotWorse, recordSelection, type SelectionDecision } from "./registry.ts";
import type { FittedModel } from "./select.ts";
import { neighbourFiles, PERSONAL_K, recipeFor, selectPersonalModel } from "./selection.ts";
import { historyPopularity, rankableNeighbours, servedScorer } from "./served-scorer.ts";
import { loadTfForDevice, type TrainingDevice } from "./tf-backend.ts";

export { PERSONAL_K };

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
  /** Where tfjs runs: auto (default) picks the best backend present, falling back to wasm. */
  device?: TrainingDevice;
  /** The model selection's time budget, seconds. */
  budgetSeconds?: number;
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
    device: options.device ?? "auto",
    ...(options.budgetSeconds ? { budgetSeconds: options.budgetSeconds } : {}),
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
        peak_rss_mb: out.selection.peak_rss_mb,
        ...(out.content?.cold ? { cold_ndcg_at_10: out.content.cold.cold_ndcg_at_10 } : {}),
      },
      params: { ...out.params, holdout: out.holdout, device: out.device },
    },
    out.files,
  );
  await recordSelection(options.store, {
    name: MODEL_NAMES.personal,
    candidate: meta.version,
    backend: out.backend,
    device: out.device,
    ...out.selection,
  });
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
  if (out.content) await storeContentModel(options.store, out, meta, decision, now, options.gitSha ?? null, log);
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
 * The content model fitted with the personal model: stored every retrain, and made current
 * when its personal model was promoted and it places held-out titles better than chance (its
 * columns are that version's titles).
 */
async function storeContentModel(
  store: ModelStore,
  out: PersonalOutput,
  personal: ModelMeta,
  decision: PromotionDecision,
  now: Date,
  gitSha: string | null,
  log: Logger,
): Promise<void> {
  const content = out.content;
  if (!content) return;
  const cold = content.cold;
  const meta = await store.write(
    {
      name: MODEL_NAMES.content,
      data_until: now.toISOString(),
      backend: out.backend,
      git_sha: gitSha,
      metrics: cold
        ? {
            cold_ndcg_at_10: cold.cold_ndcg_at_10,
            random_ndcg_at_10: cold.random_ndcg_at_10,
            cold_items: cold.cold_items,
          }
        : {},
      params: { personal_version: personal.version, device: out.device },
    },
    content.files,
  );
  const better = cold !== null && cold.cold_ndcg_at_10 > cold.random_ndcg_at_10;
  if (decision.promoted && better) await store.setCurrent(MODEL_NAMES.content, meta.version);
  await store.prune(MODEL_NAMES.content, KEEP_VERSIONS);
  log.info(
    { model: MODEL_NAMES.content, version: meta.version, current: decision.promoted && better, ...(cold ?? {}) },
    "content model stored",
  );
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
 * The personal model's files for a dense EASE fit (select.ts's `fitChosenModel`): for each
 * item, its k strongest positive weights to other items, in the item-to-item layout.
 */
export function personalFiles(model: FittedModel, items: ModelItems, k: number): Record<string, Uint8Array | string> {
  if (!model.weights) throw new Error(`${model.name} has no item-item weights to store`);
  return neighbourFiles(denseToNeighbours(model.weights, model.modelled, items.length, k), items);
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
  /** Where tfjs runs (default auto: the best backend present). */
  device?: TrainingDevice;
  /** The selection's time budget, seconds (default selection.ts's). */
  budgetSeconds?: number;
  /** Richer title metadata than `items` (cast, director, synopsis), in the same order. */
  meta?: readonly TitleMeta[];
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
  device: string;
  params: Record<string, unknown>;
  files: Record<string, Uint8Array | string>;
  /** The content model fitted beside it (null when the catalogue has no metadata), with its cold-start figures. */
  content: { files: Record<string, Uint8Array | string>; cold: ColdStartResult | null } | null;
  /** What the selection tried and chose, for decisions.jsonl. */
  selection: Omit<SelectionDecision, "at" | "kind" | "name" | "candidate" | "backend" | "device">;
}

/**
 * The CPU-heavy part of the retrain, with no database: pick the holdout; run the one model
 * selection (selection.ts) on its training part; fit the content model there and blend
 * titles with few interactions; evaluate the result in its served form; score the current
 * version on the same holdout; refit the chosen recipe on everything and build the files.
 * Runs inline or in a worker thread (retrain-worker.ts).
 */
export async function computePersonal(
  input: PersonalInput,
  progress: (step: string, fields: Record<string, unknown>) => void = () => undefined,
): Promise<PersonalOutput> {
  const { data, current } = input;
  const handle = await loadTfForDevice(input.device ?? "auto");
  const since = current?.meta.data_until ? Date.parse(current.meta.data_until) : Number.NaN;
  let split = Number.isFinite(since) ? timeCutSplit(data, since, input.seenBefore) : null;
  let holdout = split ? `since ${current?.meta.data_until}` : "";
  const freshHoldout = split !== null && usersWithTest(split.test) >= 20;
  if (!split || !freshHoldout) {
    split = randomSplit(data, { seed: 42 });
    holdout = `random-75-25 seed 42 @ ${input.now}`;
  }
  progress("2/4 holdout", { holdout, test: split.test.items.length, backend: handle.backend, device: handle.device });

  const k = input.k ?? PERSONAL_K;
  const fitStarted = performance.now();
  const log = (msg: string, fields: Record<string, unknown> = {}) => progress(`2/4 ${msg}`, fields);
  const selection = await selectPersonalModel(handle, split.train, input.items, {
    k,
    progress: log,
    ...(input.budgetSeconds ? { budgetSeconds: input.budgetSeconds } : {}),
  });
  const fitSeconds = (performance.now() - fitStarted) / 1000;
  const meta = hasMetadata(input.items) ? (input.meta ?? input.items) : null;
  const withContent = async (train: Interactions, lists: NeighbourLists) => {
    if (!meta) return { lists, content: null };
    const content = await fitContentModel(handle, train, input.items, meta, { scaleTo: lists, progress: log });
    return { lists: blendColdNeighbours(lists, train, content.artifact, meta), content };
  };
  const candidate = await withContent(split.train, selection.chosen.neighbours);
  // Both versions are judged as viewers would meet them: their files read back by the
  // registry's reader, ranked by serving's Top-picks ranking with one popularity prior, on
  // one holdout.
  const prior = historyPopularity(input.items, split.train);
  const served = (files: Record<string, Uint8Array | string>, label: string, kept: number) =>
    servedScorer(
      rankableNeighbours(parseNeighbourArtifact(MODEL_NAMES.personal, label, kept, files)),
      input.items,
      split.train,
      prior,
    );
  const metrics = evaluateRanking(
    served(neighbourFiles(candidate.lists, input.items), "candidate", k),
    split.train,
    split.test,
  );
  const popularity = evaluateRanking(new PopularityScorer(split.train), split.train, split.test);
  let currentValue: number | null = null;
  if (current) {
    try {
      // On a fresh time-cut holdout the stored files are scored as they are: neither model
      // saw those events. On a random holdout the stored model has seen the test part, so the
      // current version's recipe (its algorithm, hyper-parameters and k) is refitted on the
      // same training part instead.
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
        const recipe = recipeFor(
          handle,
          String(current.meta.params.algorithm ?? "ease"),
          current.meta.params,
          currentK,
        );
        const refit = await withContent(split.train, await recipe.fit(split.train));
        scorer = served(neighbourFiles(refit.lists, input.items), current.version, currentK);
      }
      currentValue = evaluateRanking(scorer, split.train, split.test).ndcg_at_10;
    } catch (err) {
      progress("3/4 current version could not be scored", { error: String(err) });
    }
  }
  progress("3/4 evaluated", {
    model: selection.chosen.model,
    ndcg_at_10: metrics.ndcg_at_10,
    current_ndcg_at_10: currentValue,
    popularity_ndcg_at_10: popularity.ndcg_at_10,
    eta_seconds: Math.round(selection.chosen.seconds * 1.3 * 10) / 10,
  });
  const refitStarted = performance.now();
  const full = await withContent(data, await selection.chosen.recipe.fit(data));
  let cold: ColdStartResult | null = null;
  if (meta) cold = await evaluateColdStart(handle, split.train, input.items, meta, { progress: log });
  progress("4/4 refitted on all data", { seconds: (performance.now() - refitStarted) / 1000, ...(cold ?? {}) });
  return {
    holdout,
    metrics,
    // The served lists are the model itself for every candidate (no denser form is kept).
    denseMetrics: metrics,
    popularity,
    currentValue,
    fitSeconds,
    backend: selection.chosen.backend,
    device: handle.device,
    params: { algorithm: selection.chosen.model, ...selection.chosen.params, k },
    files: neighbourFiles(full.lists, input.items),
    content: full.content ? { files: full.content.files, cold } : null,
    selection: {
      metric: "ndcg_at_10",
      chosen: selection.chosen.model,
      params: selection.chosen.params,
      validation: selection.validation,
      candidates: selection.candidates,
      seconds: selection.seconds,
      peak_rss_mb: selection.peak_rss_mb,
    },
  };
}

/** Whether the catalogue says enough about its titles for a content model (a tenth carry genres). */
function hasMetadata(items: ModelItems): boolean {
  let with_ = 0;
  for (const t of items) if (t.genres.length > 0) with_++;
  return items.length > 0 && with_ >= items.length / 10;
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
