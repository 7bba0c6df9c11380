import type { RankedItem } from "@marquee/contracts";

/**
 * How "Top picks for you" ranks titles from a neighbour model (the personal model, or
 * item-to-item before one is promoted): serving ranks every request with it, and training's
 * promotion gate scores candidate and current versions with it, from the very files serving
 * would load. A model is judged by what viewers would be shown, never by a form of it that is
 * not served (EASE's dense weights, say, where only each row's strongest positive ones are
 * stored).
 */

/** Weight of the popularity prior in personal scores: breaks ties, never dominates. */
export const POPULARITY_PRIOR = 0.02;

/** A neighbour model as held in memory (serving's snapshot has this shape). */
export interface RankableNeighbours {
  items: readonly { id: string }[];
  index: ReadonlyMap<string, number>;
  /** Neighbours per item; `neighbors` and `similarity` are items × k, -1 after the last. */
  k: number;
  neighbors: Int32Array;
  similarity: Float32Array;
}

/** The popularity model's part in a ranking: the prior, and the order that fills a short row. */
export interface RankablePopularity {
  items: readonly { id: string }[];
  index: ReadonlyMap<string, number>;
  /** Per item, normalised so the top title scores 1. */
  popular: ArrayLike<number>;
  /** Item indexes, most popular first. */
  byPopular: ArrayLike<number>;
}

const round = (x: number) => Math.round(x * 1e5) / 1e5;

/**
 * The `limit` best titles for a viewer whose interest is `positives` (title → weight > 0):
 * each title's score is Σ over the titles i they showed interest in of interest(i) ×
 * weight(i → title), divided by the best such score, plus POPULARITY_PRIOR × its popularity
 * (rounded to 1e-5; ties go to the smaller id). Titles for which `skip` is true never appear
 * (the caller skips the viewer's own titles, those they turned down, and those other rows
 * already show). A row the model cannot fill is topped up with the most popular titles not
 * skipped, scored by the prior alone, after every title the model reached.
 */
export function rankTopPicks(
  model: RankableNeighbours,
  positives: ReadonlyMap<string, number>,
  popularity: RankablePopularity | null,
  limit: number,
  skip: (id: string) => boolean,
): RankedItem[] {
  const scores = new Map<number, number>();
  const k = model.k;
  for (const [item, w] of positives) {
    const i = model.index.get(item);
    if (i === undefined) continue;
    for (let r = 0; r < k; r++) {
      const j = model.neighbors[i * k + r] as number;
      if (j < 0) break;
      scores.set(j, (scores.get(j) ?? 0) + w * (model.similarity[i * k + r] as number));
    }
  }
  let max = 1e-9;
  for (const s of scores.values()) if (s > max) max = s;
  const ranked: RankedItem[] = [];
  for (const [j, s] of scores) {
    const id = model.items[j]?.id;
    if (!id || skip(id)) continue;
    const p = popularity?.index.get(id);
    const prior = p === undefined ? 0 : ((popularity?.popular[p] as number | undefined) ?? 0);
    ranked.push({ id, score: round(s / max + POPULARITY_PRIOR * prior) });
  }
  ranked.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  if (ranked.length > limit) ranked.length = limit;
  if (ranked.length < limit && popularity) {
    const seen = new Set(ranked.map((r) => r.id));
    for (let r = 0; r < popularity.byPopular.length && ranked.length < limit; r++) {
      const i = popularity.byPopular[r] as number;
      const id = popularity.items[i]?.id;
      if (!id || seen.has(id) || skip(id)) continue;
      ranked.push({ id, score: round(POPULARITY_PRIOR * ((popularity.popular[i] as number | undefined) ?? 0)) });
    }
  }
  return ranked;
}
