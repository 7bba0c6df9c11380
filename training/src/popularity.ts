import { type ModelItems, POPULARITY_FILES, type PopularityScores } from "@marquee/contracts";
import type { ItemActivity } from "@marquee/feature-store";

export interface PopularityModel {
  items: ModelItems;
  scores: PopularityScores;
}

/**
 * Time-decayed popularity: the baseline every model is compared to and the fallback for
 * viewers with no history. Titles in the catalogue with no activity score 0 but stay listed.
 */
export function fitPopularity(catalogue: ModelItems, activity: ItemActivity[]): PopularityModel {
  const index = new Map(catalogue.map((t, i) => [t.id, i]));
  const trending = new Array<number>(catalogue.length).fill(0);
  const popular = new Array<number>(catalogue.length).fill(0);
  for (const a of activity) {
    const i = index.get(a.item_id);
    if (i === undefined) continue; // not (or no longer) on sale
    trending[i] = a.trending;
    popular[i] = a.popular;
  }
  return { items: catalogue, scores: { trending: normalise(trending), popular: normalise(popular) } };
}

function normalise(xs: number[]): number[] {
  const max = Math.max(0, ...xs);
  return max > 0 ? xs.map((x) => Math.round((x / max) * 1e6) / 1e6) : xs;
}

export function popularityFiles(model: PopularityModel): Record<string, string> {
  return {
    [POPULARITY_FILES.items]: JSON.stringify(model.items),
    [POPULARITY_FILES.scores]: JSON.stringify(model.scores),
  };
}
