import { type Interactions, itemDegrees } from "./dataset.ts";
import { evaluateRanking, type RankingMetrics, type Scorer } from "./eval/metrics.ts";
import { randomSplit } from "./eval/split.ts";
import { fitAls } from "./models/als.ts";
import { EaseModel } from "./models/ease.ts";
import type { RecommenderModel } from "./models/model.ts";
import { AlsRecommender, EaseRecommender } from "./models/recommenders.ts";
import { restrictItems } from "./models/subset.ts";
import type { TfHandle } from "./tf-backend.ts";

/** EASE's memory grows with items² (4 bytes each, a few copies while inverting). */
export const MAX_EASE_ITEMS = 6000;
/** Below this many items a λ grid search is cheap (each fit inverts an items × items matrix). */
const TUNE_ITEMS = 3000;
/** Up to this many, a three-point grid (ml-1m's 3,706 titles: about a minute more). */
const COARSE_TUNE_ITEMS = 4500;
export const EASE_LAMBDAS = [25, 50, 100, 200, 400, 800, 1600] as const;
const COARSE_LAMBDAS = [150, 400, 1000] as const;
export const DEFAULT_EASE_LAMBDA = 400;

export interface FittedModel extends Scorer {
  name: string;
  backend: string;
  params: Record<string, unknown>;
  /** λ candidates and their validation nDCG@10, when tuned. */
  validation?: { lambda: number; ndcg_at_10: number }[];
  /** Item indexes the model can rank (all when undefined). */
  modelled?: Uint32Array;
  /**
   * EASE's weights for the registry: an items × items matrix over `modelled` (or all) items.
   * Absent for ALS (factors only).
   */
  weights?: Float32Array;
  /**
   * The chosen model behind the one model interface (save, similarItems, scoring a history),
   * in `train`'s index space; absent when EASE models a subset of the titles.
   */
  recommender?: RecommenderModel;
}

export interface SelectOptions {
  /**
   * Tune λ on a validation split carved out of `train` (never the test split). Default: a
   * full grid up to 3,000 items, a coarse one up to 4,500, none above (λ = 400).
   */
  tune?: boolean;
  lambda?: number;
  seed?: number;
  maxItems?: number;
  /**
   * Above `maxItems`: implicit ALS over the whole catalogue (true, the default) or EASE over
   * the most-interacted titles (false: the registry's personal model needs EASE's item-item
   * form for serving).
   */
  allowAls?: boolean;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * The model the project picks for a catalogue of this size: EASE, with λ tuned on a
 * validation split of the training data when the catalogue is small enough to try a grid;
 * above MAX_EASE_ITEMS, implicit ALS — or, with `allowAls: false`, EASE over the
 * most-interacted titles only (the rest reachable through popularity and item-to-item rows).
 * Scores users by their `train` histories. EASE is fitted with synchronous read-backs
 * (`EaseModel.fit`: wasm, cpu, native); a webgpu handle needs `fitChosenModelAsync`.
 */
export function fitChosenModel(handle: TfHandle, train: Interactions, options: SelectOptions = {}): FittedModel {
  const choice = chooseModel(handle, train, options);
  let step = choice.next();
  while (!step.done) step = choice.next(EaseModel.fit(handle.tf, step.value.data, { lambda: step.value.lambda }));
  return step.value;
}

/**
 * `fitChosenModel` with EASE fitted by `EaseModel.fitAsync` (asynchronous read-backs): the same
 * model on every backend, and the form a webgpu handle needs (it cannot read back
 * synchronously in Node; see docs/decisions/003-gpu-training-path.md).
 */
export async function fitChosenModelAsync(
  handle: TfHandle,
  train: Interactions,
  options: SelectOptions = {},
): Promise<FittedModel> {
  const choice = chooseModel(handle, train, options);
  let step = choice.next();
  while (!step.done)
    step = choice.next(await EaseModel.fitAsync(handle.tf, step.value.data, { lambda: step.value.lambda }));
  return step.value;
}

/** An EASE fit the choice needs: it yields these and is resumed with the fitted model. */
interface EaseFit {
  data: Interactions;
  lambda: number;
}

function* chooseModel(
  handle: TfHandle,
  train: Interactions,
  options: SelectOptions,
): Generator<EaseFit, FittedModel, EaseModel> {
  const maxItems = options.maxItems ?? MAX_EASE_ITEMS;
  const log = options.log ?? (() => undefined);
  let modelled: Uint32Array | undefined;
  let data = train;
  if (train.nItems > maxItems && (options.allowAls ?? true)) {
    log("catalogue above the EASE limit: implicit ALS", { items: train.nItems, limit: maxItems });
    const als = AlsRecommender.fromModel(fitAls(train, { log }));
    return {
      name: als.name,
      backend: als.backend,
      params: { ...als.params },
      scoreUser: (user, out) => als.scoreUser(user, out),
      recommender: als,
    };
  }
  if (train.nItems > maxItems) {
    const deg = itemDegrees(train);
    modelled = Uint32Array.from(
      Array.from(deg.keys())
        .sort((a, b) => (deg[b] as number) - (deg[a] as number) || a - b)
        .slice(0, maxItems)
        .sort((a, b) => a - b),
    );
    data = restrictItems(train, modelled);
    log("catalogue above the EASE limit: modelling the most-interacted titles", {
      items: train.nItems,
      modelled: maxItems,
    });
  }
  let lambda = options.lambda ?? DEFAULT_EASE_LAMBDA;
  let validation: FittedModel["validation"];
  if (options.lambda === undefined && (options.tune ?? data.nItems <= COARSE_TUNE_ITEMS)) {
    const { train: fit, test: valid } = randomSplit(data, { seed: (options.seed ?? 42) + 1 });
    validation = [];
    for (const l of data.nItems <= TUNE_ITEMS ? EASE_LAMBDAS : COARSE_LAMBDAS) {
      const started = performance.now();
      const m = yield { data: fit, lambda: l };
      const ndcg = evaluateRanking(m, fit, valid).ndcg_at_10;
      validation.push({ lambda: l, ndcg_at_10: ndcg });
      log("λ candidate", { lambda: l, validation_ndcg_at_10: ndcg, seconds: (performance.now() - started) / 1000 });
    }
    lambda = validation.reduce((a, b) => (b.ndcg_at_10 > a.ndcg_at_10 ? b : a)).lambda;
  }
  const model = yield { data, lambda };
  const sub = new Float32Array(data.nItems);
  const scoreUser = modelled
    ? (user: number, out: Float32Array) => {
        model.scoreUser(user, sub);
        out.fill(Number.NEGATIVE_INFINITY);
        for (let x = 0; x < modelled.length; x++) out[modelled[x] as number] = sub[x] as number;
      }
    : (user: number, out: Float32Array) => model.scoreUser(user, out);
  const backend = `typed-arrays + tfjs ${handle.backend}`;
  return {
    name: "ease",
    backend,
    params: { lambda, ...(modelled ? { modelled_items: modelled.length } : {}) },
    ...(validation ? { validation } : {}),
    ...(modelled ? { modelled } : {}),
    weights: model.weights,
    scoreUser,
    ...(modelled ? {} : { recommender: EaseRecommender.fromModel(model, lambda, backend) }),
  };
}

export type { RankingMetrics };
