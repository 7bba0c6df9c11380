import { z } from "zod";

/**
 * The files a model version holds in the registry: the contract between training (writes)
 * and serving (reads). Serving never imports training code, only these shapes.
 */
export const MODEL_NAMES = { popularity: "popularity", itemToItem: "item-to-item" } as const;

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
