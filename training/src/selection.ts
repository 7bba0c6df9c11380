import { type ModelItems, PERSONAL_FILES } from "@marquee/contracts";
import type { RankableNeighbours } from "@marquee/runtime";
import { type Interactions, itemDegrees, mulberry32 } from "./dataset.ts";
import { evaluateRanking, type RankingMetrics } from "./eval/metrics.ts";
import { randomSplit } from "./eval/split.ts";
import { EaseModel } from "./models/ease.ts";
import {
  denseToNeighbours,
  emptyNeighbours,
  fitGraphNeighbours,
  type GraphVariant,
  medianTopWeight,
  mergeNeighbours,
  type NeighbourLists,
} from "./models/graph.ts";
import { restrictItems } from "./models/subset.ts";
import { type Progress, peakRssMb } from "./progress.ts";
import { historyPopularity, servedScorer } from "./served-scorer.ts";
import type { TfHandle } from "./tf-backend.ts";

/**
 * One selection for every entry point (recommend:offline, eval, train, scheduled retraining,
 * bench:training): each candidate that fits this catalogue's time and memory budget is fitted
 * on a validation split carved out of the training data (per user 80/20, its own seed), its
 * hyper-parameters tuned on that split, and scored in its served form — its neighbour lists
 * ranked by serving's `rankTopPicks` (servedScorer) with the popularity prior and top-up. The
 * best validation nDCG@10 wins and is refitted on all the training data. The test split is
 * never passed in: whatever the caller holds out stays unseen.
 *
 * Candidates (docs/decisions/011-personal-model-at-catalogue-scale.md):
 *  - popularity (no neighbours: the ranking's popularity top-up alone), the floor;
 *  - item-kNN (cosine) and RP3β graph scores, over every title, linear in titles;
 *  - EASE over every title when the budget allows its items³ inverse and items² memory;
 *    otherwise EASE over the most-interacted titles the budget allows, alone ("ease-head") and
 *    blended with the RP3β graph for the tail ("ease-head+rp3b": head rows add RP3β weights to
 *    tail titles, tail rows are RP3β's, scaled onto EASE's weights by a tuned factor).
 */

export const PERSONAL_K = 200;
export const DEFAULT_BUDGET_SECONDS = 300;
export const DEFAULT_MEMORY_MB = 6144;
export const EASE_TUNE_LAMBDAS = [100, 200, 400, 800, 1600] as const;
const RP3B_VARIANTS: readonly { alpha: number; beta: number }[] = [
  { alpha: 1, beta: 0.3 },
  { alpha: 1, beta: 0.5 },
  { alpha: 1, beta: 0.7 },
  { alpha: 0.8, beta: 0.5 },
];
const COSINE_SHRINK = 10;
const BLEND_SCALES = [0.25, 0.5, 1, 2] as const;
/** Titles EASE's λ is tuned on when the head is larger (the λ grid costs ≤ 5 × this³). */
const TUNE_HEAD = 2000;

export interface CandidateResult {
  model: string;
  params: Record<string, unknown>;
  /** Validation nDCG@10 of the served form; null when skipped. */
  validation_ndcg_at_10: number | null;
  /** Fit time on the validation split (a shared graph pass is split between its variants). */
  seconds: number;
  peak_rss_mb: number;
  skipped?: string;
}

export interface ChosenModel {
  model: string;
  /** How to fit it again (on more data, or another holdout's training part). */
  recipe: CandidateRecipe;
  params: Record<string, unknown>;
  neighbours: NeighbourLists;
  backend: string;
  /** The refit on all the training data. */
  seconds: number;
}

export interface Selection {
  chosen: ChosenModel;
  candidates: CandidateResult[];
  validation: { split: string; users: number };
  /** Selection and refit together. */
  seconds: number;
  peak_rss_mb: number;
}

/** A candidate recipe: fits neighbour lists on the data it is given. */
export interface CandidateRecipe {
  model: string;
  params: Record<string, unknown>;
  fit(data: Interactions): Promise<NeighbourLists>;
}

export interface SelectionOptions {
  /** Seconds the whole selection and refit may take (default 300). */
  budgetSeconds?: number;
  /** Resident memory the EASE inverse may use (default 6 GiB). */
  memoryMb?: number;
  seed?: number;
  k?: number;
  /** Validation users scored per candidate (a seeded sample; default 5,000). */
  validationUsers?: number;
  progress?: Progress;
  /** Replace the built-in candidates (tests). */
  recipes?: CandidateRecipe[];
  /** Skip the refit (bench:training refits each candidate itself). */
  refit?: boolean;
}

/** Neighbour lists in the form `rankTopPicks` holds. */
export function rankable(lists: NeighbourLists, items: readonly { id: string }[]): RankableNeighbours {
  return {
    items,
    index: new Map(items.map((t, i) => [t.id, i])),
    k: lists.k,
    neighbors: lists.neighbors,
    similarity: lists.weights,
  };
}

/** The served form's ranking metrics: lists ranked by serving's Top picks over `history`. */
export function evaluateServed(
  lists: NeighbourLists,
  items: ModelItems,
  history: Interactions,
  test: Interactions,
  users?: ArrayLike<number>,
): RankingMetrics {
  const scorer = servedScorer(rankable(lists, items), items, history, historyPopularity(items, history));
  return evaluateRanking(scorer, history, test, users ? { users } : {});
}

/** The personal model's files (PERSONAL_FILES) for neighbour lists over `items`. */
export function neighbourFiles(lists: NeighbourLists, items: ModelItems): Record<string, Uint8Array | string> {
  return {
    [PERSONAL_FILES.items]: JSON.stringify(items),
    [PERSONAL_FILES.neighbors]: new Uint8Array(
      lists.neighbors.buffer,
      lists.neighbors.byteOffset,
      lists.neighbors.byteLength,
    ),
    [PERSONAL_FILES.weights]: new Uint8Array(lists.weights.buffer, lists.weights.byteOffset, lists.weights.byteLength),
  };
}

/** Most-interacted first (ties: lower index), the `m` best, in index order. */
export function headItems(data: Interactions, m: number): Uint32Array {
  const deg = itemDegrees(data);
  return Uint32Array.from(
    Array.from(deg.keys())
      .sort((a, b) => (deg[b] as number) - (deg[a] as number) || a - b)
      .slice(0, m)
      .sort((a, b) => a - b),
  );
}

function sampleUsers(test: Interactions, max: number, seed: number): Uint32Array {
  const withTest: number[] = [];
  for (let u = 0; u < test.nUsers; u++)
    if ((test.indptr[u + 1] as number) > (test.indptr[u] as number)) withTest.push(u);
  if (withTest.length <= max) return Uint32Array.from(withTest);
  const rng = mulberry32(seed);
  for (let x = 0; x < max; x++) {
    const y = x + Math.floor(rng() * (withTest.length - x));
    [withTest[x], withTest[y]] = [withTest[y] as number, withTest[x] as number];
  }
  return Uint32Array.from(withTest.slice(0, max).sort((a, b) => a - b));
}

/** EASE over `modelled` titles (all when undefined) as neighbour lists over every title. */
async function easeLists(
  handle: TfHandle,
  data: Interactions,
  modelled: Uint32Array | undefined,
  lambda: number,
  k: number,
  progress?: Progress,
): Promise<NeighbourLists> {
  const sub = modelled ? restrictItems(data, modelled) : data;
  const model = await EaseModel.fitAsync(handle.tf, sub, { lambda, ...(progress ? { progress } : {}) });
  return denseToNeighbours(model.weights, modelled, data.nItems, k);
}

/** Blend EASE's head lists with a tail graph scaled by `scale` × (EASE's scale / the graph's). */
function blend(ease: NeighbourLists, tail: NeighbourLists, head: Uint8Array, scale: number, k: number): NeighbourLists {
  const base =
    medianTopWeight(ease) /
    Math.max(
      1e-12,
      medianTopWeight(tail, (i) => head[i] === 0),
    );
  return mergeNeighbours(ease, tail, scale * base, k);
}

export async function selectPersonalModel(
  handle: TfHandle,
  train: Interactions,
  items: ModelItems,
  options: SelectionOptions = {},
): Promise<Selection> {
  const started = performance.now();
  const budget = options.budgetSeconds ?? DEFAULT_BUDGET_SECONDS;
  const memoryMb = options.memoryMb ?? DEFAULT_MEMORY_MB;
  const seed = options.seed ?? 42;
  const k = options.k ?? PERSONAL_K;
  const log = options.progress ?? (() => undefined);
  const elapsed = () => (performance.now() - started) / 1000;
  const split = randomSplit(train, { ratio: 0.8, seed: seed + 1 });
  const fitPart = split.train;
  const users = sampleUsers(split.test, options.validationUsers ?? 5000, seed + 2);
  const validation = { split: `random-80-20 per user, seed ${seed + 1}, of the training data`, users: users.length };
  const candidates: CandidateResult[] = [];
  const fitted: { result: CandidateResult; recipe: CandidateRecipe }[] = [];
  const score = (lists: NeighbourLists) => evaluateServed(lists, items, fitPart, split.test, users).ndcg_at_10;
  const add = (recipe: CandidateRecipe, lists: NeighbourLists, seconds: number): number => {
    const result: CandidateResult = {
      model: recipe.model,
      params: recipe.params,
      validation_ndcg_at_10: score(lists),
      seconds: Math.round(seconds * 1000) / 1000,
      peak_rss_mb: peakRssMb(),
    };
    candidates.push(result);
    fitted.push({ result, recipe });
    log("candidate scored on validation", { ...result, params: JSON.stringify(result.params), elapsed: elapsed() });
    return result.validation_ndcg_at_10 as number;
  };
  const skip = (model: string, params: Record<string, unknown>, why: string) => {
    candidates.push({ model, params, validation_ndcg_at_10: null, seconds: 0, peak_rss_mb: peakRssMb(), skipped: why });
    log("candidate skipped", { model, why });
  };

  if (options.recipes) {
    for (const recipe of options.recipes) {
      const t = performance.now();
      const lists = await recipe.fit(fitPart);
      add(recipe, lists, (performance.now() - t) / 1000);
    }
  } else {
    await builtInCandidates(handle, fitPart, train.nItems, { budget, memoryMb, k, log, elapsed }, score, add, skip);
  }
  const best = fitted.reduce((a, b) =>
    (b.result.validation_ndcg_at_10 as number) > (a.result.validation_ndcg_at_10 as number) ? b : a,
  );
  log("selected on validation", {
    model: best.recipe.model,
    params: JSON.stringify(best.recipe.params),
    validation_ndcg_at_10: best.result.validation_ndcg_at_10,
    elapsed: elapsed(),
  });
  const refitStarted = performance.now();
  const neighbours = options.refit === false ? emptyNeighbours(train.nItems, k) : await best.recipe.fit(train);
  const refitSeconds = (performance.now() - refitStarted) / 1000;
  log("chosen model refitted on all training data", { model: best.recipe.model, seconds: refitSeconds });
  return {
    chosen: {
      model: best.recipe.model,
      recipe: best.recipe,
      params: { ...best.recipe.params, k },
      neighbours,
      // The selection itself runs EASE (λ tuning) on tfjs whatever wins, and so does the content model.
      backend: `typed-arrays + tfjs ${handle.backend}`,
      seconds: refitSeconds,
    },
    candidates,
    validation,
    seconds: elapsed(),
    peak_rss_mb: peakRssMb(),
  };
}

/**
 * A stored model's recipe, from its name and params (a version's `params.algorithm` and
 * hyper-parameters): to refit the current version on a new holdout, or the chosen one on more
 * data. Throws for a model it does not know.
 */
export function recipeFor(
  handle: TfHandle,
  model: string,
  params: Record<string, unknown>,
  k: number,
  log?: Progress,
): CandidateRecipe {
  const num = (key: string) => {
    const v = Number(params[key]);
    if (!Number.isFinite(v)) throw new Error(`${model}: params.${key} is missing`);
    return v;
  };
  switch (model) {
    case "popularity":
      return { model, params: {}, fit: async (d) => emptyNeighbours(d.nItems, k) };
    case "item-knn": {
      const shrink = num("shrink");
      return {
        model,
        params: { shrink },
        fit: async (d) => fitGraphNeighbours(d, [{ kind: "cosine", shrink }], k, log)[0] as NeighbourLists,
      };
    }
    case "rp3b": {
      const alpha = num("alpha");
      const beta = num("beta");
      return {
        model,
        params: { alpha, beta },
        fit: async (d) => fitGraphNeighbours(d, [{ kind: "rp3b", alpha, beta }], k, log)[0] as NeighbourLists,
      };
    }
    case "ease": {
      const lambda = num("lambda");
      return { model, params: { lambda }, fit: (d) => easeLists(handle, d, undefined, lambda, k, log) };
    }
    case "ease-head": {
      const lambda = num("lambda");
      const m = num("modelled_items");
      return {
        model,
        params: { lambda, modelled_items: m },
        fit: (d) => easeLists(handle, d, headItems(d, m), lambda, k, log),
      };
    }
    case "ease-head+rp3b": {
      const lambda = num("lambda");
      const m = num("modelled_items");
      const alpha = num("alpha");
      const beta = num("beta");
      const scale = num("tail_scale");
      return {
        model,
        params: { lambda, modelled_items: m, alpha, beta, tail_scale: scale },
        fit: async (d) => {
          const e = await easeLists(handle, d, headItems(d, m), lambda, k, log);
          const f = headFlags(d, m);
          const g = fitGraphNeighbours(
            d,
            [{ kind: "rp3b", alpha, beta, headOnlyTail: f }],
            k,
            log,
          )[0] as NeighbourLists;
          return blend(e, g, f, scale, k);
        },
      };
    }
    default:
      throw new Error(`no recipe for a personal model called ${JSON.stringify(model)}`);
  }
}

function headFlags(data: Interactions, m: number): Uint8Array {
  const f = new Uint8Array(data.nItems);
  for (const i of headItems(data, m)) f[i] = 1;
  return f;
}

interface Budget {
  budget: number;
  memoryMb: number;
  k: number;
  log: Progress;
  elapsed: () => number;
}

async function builtInCandidates(
  handle: TfHandle,
  fitPart: Interactions,
  nItems: number,
  b: Budget,
  scoreOf: (lists: NeighbourLists) => number,
  add: (recipe: CandidateRecipe, lists: NeighbourLists, seconds: number) => number,
  skip: (model: string, params: Record<string, unknown>, why: string) => void,
): Promise<void> {
  const { k, log } = b;
  add(recipeFor(handle, "popularity", {}, k), emptyNeighbours(nItems, k), 0);

  // One graph pass for every item-kNN / RP3β variant.
  const graphVariants: GraphVariant[] = [
    { kind: "cosine", shrink: COSINE_SHRINK },
    ...RP3B_VARIANTS.map((v) => ({ kind: "rp3b" as const, ...v })),
  ];
  let t = performance.now();
  const graphs = fitGraphNeighbours(fitPart, graphVariants, k, log);
  const graphSeconds = (performance.now() - t) / 1000;
  let bestRp3b = RP3B_VARIANTS[0] as { alpha: number; beta: number };
  let bestScore = Number.NEGATIVE_INFINITY;
  graphVariants.forEach((v, x) => {
    const recipe =
      v.kind === "cosine"
        ? recipeFor(handle, "item-knn", { shrink: v.shrink }, k, log)
        : recipeFor(handle, "rp3b", { alpha: v.alpha, beta: v.beta }, k, log);
    const s = add(recipe, graphs[x] as NeighbourLists, graphSeconds / graphVariants.length);
    // The tail of the EASE blend uses RP3β's best variant.
    if (v.kind === "rp3b" && s > bestScore) {
      bestScore = s;
      bestRp3b = { alpha: v.alpha, beta: v.beta };
    }
  });

  // EASE: λ tuned on a head small enough to afford a grid; the tuning fits also measure this
  // device's speed, which sets how many titles the budget affords.
  const tuneHead = Math.min(nItems, TUNE_HEAD);
  const tuneModelled = tuneHead < nItems ? headItems(fitPart, tuneHead) : undefined;
  let lambda = 400;
  let best = Number.NEGATIVE_INFINITY;
  let perCube = 0;
  for (const l of EASE_TUNE_LAMBDAS) {
    t = performance.now();
    const lists = await easeLists(handle, fitPart, tuneModelled, l, k);
    const s = (performance.now() - t) / 1000;
    perCube = Math.max(perCube, s / tuneHead ** 3);
    const v = scoreOf(lists);
    log("EASE λ on validation", { lambda: l, titles: tuneHead, validation_ndcg_at_10: v, seconds: s });
    if (v > best) {
      best = v;
      lambda = l;
    }
    if (b.elapsed() > b.budget * 0.3) break;
  }
  // Two more fits at the chosen size (validation, refit): each gets what is left, with a margin.
  const perFit = (b.budget - b.elapsed()) / 2.6;
  const byTime = Math.floor(Math.cbrt(Math.max(0, perFit) / Math.max(perCube, 1e-15)));
  // The sweep holds about six items² float32 copies at once.
  // On wasm the tensors also live in one 32-bit heap (4 GiB): 9,000 titles ran out of it
  // here, 7,115 did not, so wasm is capped at 2³² / 64 bytes' worth of items² (8,192 titles).
  const wasmCap = handle.backend === "wasm" ? Math.floor(Math.sqrt(2 ** 32 / 64)) : Number.POSITIVE_INFINITY;
  const byMemory = Math.min(wasmCap, Math.floor(Math.sqrt((b.memoryMb * 2 ** 20) / 24)));
  const head = Math.min(nItems, byTime, byMemory);
  log("EASE size for the budget", { titles: nItems, by_time: byTime, by_memory: byMemory, modelled: head, lambda });
  if (head < Math.min(500, nItems)) {
    skip("ease", { lambda }, `the budget affords EASE over ${head} titles only`);
    return;
  }
  const easeRecipe = (modelled: number | null): CandidateRecipe =>
    modelled === null
      ? recipeFor(handle, "ease", { lambda }, k, log)
      : recipeFor(handle, "ease-head", { lambda, modelled_items: modelled }, k, log);
  if (head >= nItems) {
    t = performance.now();
    const recipe = easeRecipe(null);
    add(recipe, await recipe.fit(fitPart), (performance.now() - t) / 1000);
    skip("ease-head+rp3b", {}, "EASE models every title: no tail");
    return;
  }
  skip("ease", { lambda }, `EASE over all ${nItems} titles exceeds the budget (affords ${head})`);
  t = performance.now();
  const headRecipe = easeRecipe(head);
  const easeHead = await headRecipe.fit(fitPart);
  const easeSeconds = (performance.now() - t) / 1000;
  add(headRecipe, easeHead, easeSeconds);
  // The tail: RP3β (its best variant) where head rows keep only tail targets.
  t = performance.now();
  const tailVariant = { kind: "rp3b" as const, ...bestRp3b, headOnlyTail: headFlags(fitPart, head) };
  const tail = fitGraphNeighbours(fitPart, [tailVariant], k, log)[0] as NeighbourLists;
  const tailSeconds = (performance.now() - t) / 1000;
  for (const scale of BLEND_SCALES) {
    const recipe = recipeFor(
      handle,
      "ease-head+rp3b",
      { lambda, modelled_items: head, ...bestRp3b, tail_scale: scale },
      k,
      log,
    );
    t = performance.now();
    const lists = blend(easeHead, tail, tailVariant.headOnlyTail, scale, k);
    add(recipe, lists, easeSeconds + tailSeconds + (performance.now() - t) / 1000);
  }
}
