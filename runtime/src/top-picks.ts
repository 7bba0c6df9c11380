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
  const { acc, touched, flag } = scratchFor(model);
  const prior = popularity ? priorFor(model, popularity) : null;
  const k = model.k;
  let reached = 0;
  for (const [item, w] of positives) {
    const i = model.index.get(item);
    if (i === undefined) continue;
    for (let r = 0; r < k; r++) {
      const j = model.neighbors[i * k + r] as number;
      if (j < 0) break;
      if (flag[j] === 0) {
        flag[j] = 1;
        touched[reached++] = j;
      }
      acc[j] = (acc[j] as number) + w * (model.similarity[i * k + r] as number);
    }
  }
  let max = 1e-9;
  for (let t = 0; t < reached; t++) {
    const s = acc[touched[t] as number] as number;
    if (s > max) max = s;
  }
  // The best `limit` by (score desc, id asc), kept sorted; a title is looked at (its id, skip)
  // only when it would enter, so a long tail of weak neighbours costs a comparison each.
  const size = Math.max(0, Math.floor(limit));
  const bestScore = new Float64Array(size);
  const bestId: string[] = [];
  let count = 0;
  try {
    for (let t = 0; t < reached; t++) {
      const j = touched[t] as number;
      const score = round((acc[j] as number) / max + POPULARITY_PRIOR * (prior ? (prior[j] as number) : 0));
      if (size === 0) continue;
      const worst = bestScore[size - 1] as number;
      if (count === size && score < worst) continue;
      const id = model.items[j]?.id;
      if (!id) continue;
      if (count === size && score === worst && id > (bestId[size - 1] as string)) continue;
      if (skip(id)) continue;
      let at = Math.min(count, size - 1);
      while (
        at > 0 &&
        ((bestScore[at - 1] as number) < score ||
          ((bestScore[at - 1] as number) === score && (bestId[at - 1] as string) > id))
      ) {
        bestScore[at] = bestScore[at - 1] as number;
        bestId[at] = bestId[at - 1] as string;
        at--;
      }
      bestScore[at] = score;
      bestId[at] = id;
      if (count < size) count++;
    }
  } finally {
    for (let t = 0; t < reached; t++) {
      const j = touched[t] as number;
      acc[j] = 0;
      flag[j] = 0;
    }
  }
  const ranked: RankedItem[] = [];
  for (let r = 0; r < count; r++) ranked.push({ id: bestId[r] as string, score: bestScore[r] as number });
  if (ranked.length < limit && popularity) {
    const seen = new Set(bestId.slice(0, count));
    for (let r = 0; r < popularity.byPopular.length && ranked.length < limit; r++) {
      const i = popularity.byPopular[r] as number;
      const id = popularity.items[i]?.id;
      if (!id || seen.has(id) || skip(id)) continue;
      ranked.push({ id, score: round(POPULARITY_PRIOR * ((popularity.popular[i] as number | undefined) ?? 0)) });
    }
  }
  return ranked;
}

/**
 * Per model, reusable buffers over its items (left zeroed after every call: ranking is
 * synchronous, so calls never interleave), and per (model, popularity) pair the prior by
 * model index. Snapshots are immutable and replaced whole, so caching by identity is safe.
 */
interface Scratch {
  acc: Float64Array;
  touched: Int32Array;
  flag: Uint8Array;
  priors: WeakMap<RankablePopularity, Float64Array>;
}
const scratches = new WeakMap<RankableNeighbours, Scratch>();

function scratchFor(model: RankableNeighbours): Scratch {
  let s = scratches.get(model);
  if (!s) {
    const n = model.items.length;
    s = { acc: new Float64Array(n), touched: new Int32Array(n), flag: new Uint8Array(n), priors: new WeakMap() };
    scratches.set(model, s);
  }
  return s;
}

function priorFor(model: RankableNeighbours, popularity: RankablePopularity): Float64Array {
  const s = scratchFor(model);
  let prior = s.priors.get(popularity);
  if (!prior) {
    prior = Float64Array.from(model.items, (t) => {
      const p = popularity.index.get(t.id);
      return p === undefined ? 0 : ((popularity.popular[p] as number | undefined) ?? 0);
    });
    s.priors.set(popularity, prior);
  }
  return prior;
}
