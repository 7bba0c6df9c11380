import { z } from "zod";

/**
 * The files a model version holds in the registry: the contract between training (writes)
 * and serving (reads). Serving never imports training code, only these shapes.
 */
export const MODEL_NAMES = {
  popularity: "popularity",
  itemToItem: "item-to-item",
  personal: "personal",
  content: "content",
} as const;

/** The titles a model knows, in index order, with what explanations need. */
export const ModelItemsSchema = z.array(
  z.object({ id: z.string(), title: z.string(), genres: z.array(z.string()), year: z.number() }),
);
export type ModelItems = z.infer<typeof ModelItemsSchema>;

/**
 * popularity: `items.json` (ModelItems) and `scores.json`: per item index, trending and
 * popular scores, normalised so the top title scores 1.
 */
export const PopularityScoresSchema = z.object({
  trending: z.array(z.number()),
  popular: z.array(z.number()),
});
export type PopularityScores = z.infer<typeof PopularityScoresSchema>;

/**
 * item-to-item: `items.json` (ModelItems), `neighbors.bin` (little-endian Int32, items × k,
 * -1 where an item has fewer than k neighbours) and `similarity.bin` (Float32, same shape,
 * descending within each item). `k` is in the version's meta params.
 */
export const ITEM_TO_ITEM_FILES = {
  items: "items.json",
  neighbors: "neighbors.bin",
  similarity: "similarity.bin",
} as const;
export const POPULARITY_FILES = { items: "items.json", scores: "scores.json" } as const;

/**
 * personal: the chosen personal model (EASE today) for "Top picks", in the item-to-item
 * layout so serving reads both the same way: `items.json`, `neighbors.bin` (Int32, items × k,
 * -1 padding) and `weights.bin` (Float32, same shape, descending within each item). A
 * viewer's score for title j is Σ over titles i they showed interest in of
 * interest(i) × weight(i → j); only each row's k strongest positive weights are kept. `k`,
 * the algorithm and its hyper-parameters are in the version's meta params.
 */
export const PERSONAL_FILES = {
  items: "items.json",
  neighbors: "neighbors.bin",
  weights: "weights.bin",
} as const;

/**
 * content: the metadata model that places titles nobody has watched yet (every new upload)
 * among the personal model's titles. `items.json` (ModelItems: the titles its columns stand
 * for, in order), `content.json` (ContentModelSpec) and `weights.bin` (Float32, dims × items,
 * row-major): a title's predicted weight to item j is Σ_f feature_f × weights[f × items + j],
 * over its hashed metadata features (runtime's `contentFeatures`), on the personal model's
 * weight scale, so a cold title's neighbours slot into the personal and item-to-item rows.
 */
export const CONTENT_FILES = { items: "items.json", spec: "content.json", weights: "weights.bin" } as const;

export const ContentModelSpecSchema = z.object({
  /** Hashed feature dimensions (rows of weights.bin). */
  dims: z.number().int().positive(),
  /** Feature recipe version: a reader that does not know it must not serve the model. */
  features: z.literal("hashed-metadata-v1"),
  /** Neighbours to keep per cold title. */
  k: z.number().int().positive(),
  /** Interactions at which a title's own neighbours take over from the content model's (half-way point). */
  blend_interactions: z.number().nonnegative(),
});
export type ContentModelSpec = z.infer<typeof ContentModelSpecSchema>;
