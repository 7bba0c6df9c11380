import type { ModelItems } from "@marquee/contracts";
import {
  type NeighbourArtifact,
  type RankableNeighbours,
  type RankablePopularity,
  rankTopPicks,
} from "@marquee/runtime";
import type { Interactions } from "./dataset.ts";
import type { Scorer } from "./eval/metrics.ts";

/** A neighbour artifact (as the registry reader returns it) in the form ranking holds. */
export function rankableNeighbours(artifact: NeighbourArtifact): RankableNeighbours {
  return {
    items: artifact.items,
    index: new Map(artifact.items.map((t, i) => [t.id, i])),
    k: artifact.k,
    neighbors: artifact.neighbors,
    similarity: artifact.weights,
  };
}

/**
 * Popularity over `history` (Σ interest per title, the top title at 1) in the form ranking
 * reads its prior and its top-up from. Offline stand-in for the served popularity model: the
 * same for every model scored on one holdout.
 */
export function historyPopularity(items: ModelItems, history: Interactions): RankablePopularity {
  const popular = new Float64Array(history.nItems);
  for (let p = 0; p < history.items.length; p++) {
    const i = history.items[p] as number;
    popular[i] = (popular[i] as number) + (history.values[p] as number);
  }
  let max = 0;
  for (const x of popular) if (x > max) max = x;
  if (max > 0) for (let i = 0; i < popular.length; i++) popular[i] = (popular[i] as number) / max;
  const byPopular = Int32Array.from(popular.keys()).sort(
    (a, b) => (popular[b] as number) - (popular[a] as number) || a - b,
  );
  return { items, index: new Map(items.map((t, i) => [t.id, i])), popular, byPopular };
}

/**
 * A neighbour model scored exactly as serving ranks Top picks (`rankTopPicks`, the same
 * function): user `u`'s interest is their row of `history` (title id → value), their own
 * titles are skipped, and the ranked list (popularity top-up included) becomes descending
 * scores over `items`' index space; everything else is -Infinity. `depth` must be at least
 * the k the metrics rank to.
 */
export function servedScorer(
  model: RankableNeighbours,
  items: ModelItems,
  history: Interactions,
  popularity: RankablePopularity | null,
  depth = 10,
): Scorer {
  const here = new Map(items.map((t, i) => [t.id, i]));
  return {
    scoreUser(user: number, out: Float32Array) {
      out.fill(Number.NEGATIVE_INFINITY);
      const positives = new Map<string, number>();
      for (let p = history.indptr[user] as number; p < (history.indptr[user + 1] as number); p++) {
        const id = items[history.items[p] as number]?.id;
        if (id !== undefined) positives.set(id, history.values[p] as number);
      }
      const ranked = rankTopPicks(model, positives, popularity, depth, (id) => positives.has(id));
      ranked.forEach((r, rank) => {
        const h = here.get(r.id);
        if (h !== undefined) out[h] = depth - rank;
      });
    },
  };
}
