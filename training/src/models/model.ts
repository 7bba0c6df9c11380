import type { Interactions } from "../dataset.ts";
import type { Scorer } from "../eval/metrics.ts";
import type { TfHandle } from "../tf-backend.ts";
import type { ItemFeatures } from "./bpr.ts";
import {
  AlsRecommender,
  BprRecommender,
  EaseRecommender,
  ItemToItemRecommender,
  PopularityRecommender,
} from "./recommenders.ts";

/** A model's files as ModelStore writes and reads them (Buffer is a Uint8Array). */
export type ModelFiles = Record<string, string | Uint8Array>;

/** What `save` returns: the files, and what belongs in the version's meta (params, backend). */
export interface SavedModel {
  files: ModelFiles;
  params: Record<string, unknown>;
  backend: string;
}

export interface FitOptions {
  /** TensorFlow.js for the models that use it (EASE's inversion, BPR); wasm is loaded when absent. */
  handle?: TfHandle;
  /** Title metadata (BPR's item side), items × features; ignored by the other models. */
  features?: ItemFeatures;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** A user as a row of the histories the model reads, or an explicit history of item indexes. */
export type UserRef = number | { items: ArrayLike<number> };

export interface SimilarItem {
  item: number;
  score: number;
}

/**
 * The one interface every recommender implements (popularity, item-to-item, EASE, ALS, BPR).
 * Item and user indexes are those of the `Interactions` it was fitted on.
 *
 * - `scoreUser(user)` scores every item (length nItems, higher is better; -Infinity: cannot
 *   rank). Nothing is excluded: the caller removes what the user has seen (evaluateRanking
 *   does). With a user index, history-based models (item-to-item, EASE) read that user's row
 *   of the fitted data — or of `useHistory`'s — and factor models (ALS, BPR) use the learned
 *   user vector; with an explicit history, factor models fold it in (ALS: its exact
 *   least-squares solve; BPR: the mean of the history's item vectors).
 * - `similarItems(item, k)`: the k most similar other items, best first, never the item itself
 *   (item-to-item: fewer when the item has fewer stored neighbours).
 * - `save()` / `loadModel(name, files, meta)`: a round-trip gives identical scores (history
 *   models then need `useHistory` to score by user index).
 *
 * It extends `Scorer`, so `evaluateRanking` takes any model as it is.
 */
export interface RecommenderModel extends Scorer {
  readonly name: string;
  /** Where it computed: "typed-arrays", or the tfjs backend; stored with each version. */
  readonly backend: string;
  readonly params: Record<string, unknown>;
  readonly nItems: number;
  fit(data: Interactions, options?: FitOptions): Promise<void>;
  scoreUser(user: UserRef, out?: Float32Array): Float32Array;
  similarItems(item: number, k: number): SimilarItem[];
  /** The histories `scoreUser(index)` reads (history-based models); a no-op for factor models. */
  useHistory(history: Interactions): void;
  save(): SavedModel;
}

export const MODEL_KINDS = ["popularity", "item-to-item", "ease", "als", "bpr-tfjs"] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

function isKind(name: string): name is ModelKind {
  return (MODEL_KINDS as readonly string[]).includes(name);
}

/** An unfitted model of this kind; `params` override its defaults (e.g. `{ lambda: 50 }`). */
export function createModel(name: string, params: Record<string, unknown> = {}): RecommenderModel {
  if (!isKind(name)) throw new Error(`unknown model ${JSON.stringify(name)} (known: ${MODEL_KINDS.join(", ")})`);
  switch (name) {
    case "popularity":
      return new PopularityRecommender();
    case "item-to-item":
      return new ItemToItemRecommender(params);
    case "ease":
      return new EaseRecommender(params);
    case "als":
      return new AlsRecommender(params);
    case "bpr-tfjs":
      return new BprRecommender(params);
  }
}

/** A saved model back from its files and meta (a ModelStore `ModelMeta` fits `meta`). */
export function loadModel(
  name: string,
  files: ModelFiles,
  meta: { params: Record<string, unknown>; backend: string },
): RecommenderModel {
  if (!isKind(name)) throw new Error(`unknown model ${JSON.stringify(name)} (known: ${MODEL_KINDS.join(", ")})`);
  switch (name) {
    case "popularity":
      return PopularityRecommender.load(files, meta);
    case "item-to-item":
      return ItemToItemRecommender.load(files, meta);
    case "ease":
      return EaseRecommender.load(files, meta);
    case "als":
      return AlsRecommender.load(files, meta);
    case "bpr-tfjs":
      return BprRecommender.load(files, meta);
  }
}
