import type { RankedItem, Row, RowsResponse, SimilarResponse } from "@marquee/contracts";
import type { OnlineFeatures, UserProfile } from "@marquee/feature-store";
import { AppError } from "@marquee/runtime";
import type { ItemToItemSnapshot, ModelHub, PopularitySnapshot } from "./models.ts";

/** What the storefront and other clients call, in-process or over HTTP. */
export interface ServingApi {
  rows(actorId: string, options?: { limit?: number }): Promise<RowsResponse>;
  similar(itemId: string, options?: { limit?: number; actorId?: string }): Promise<SimilarResponse>;
}

/** Weight of the popularity prior in personal scores: breaks ties, never dominates. */
const POPULARITY_PRIOR = 0.02;
const round = (x: number) => Math.round(x * 1e5) / 1e5;

/**
 * Ranks rows for a viewer from the current models and the viewer's live history:
 *  - Top picks: titles similar to everything the viewer showed interest in, weighted by how
 *    strong and how recent that interest was; popular titles for a viewer with no history;
 *  - Trending now: short-half-life popularity;
 *  - Because you watched X: neighbours of the latest title the viewer engaged with;
 *  - More <genre>: the most popular titles of the viewer's strongest genre.
 * Titles the viewer turned down never appear; titles they already engaged with are not
 * offered again in personal rows. A title appears in one row only (the first, in row order):
 * a home page of rows repeating the same posters shows less of the catalogue.
 */
export class Recommender implements ServingApi {
  constructor(
    private readonly hub: ModelHub,
    private readonly features: OnlineFeatures,
  ) {}

  async rows(actorId: string, options: { limit?: number } = {}): Promise<RowsResponse> {
    const limit = clampLimit(options.limit);
    const { popularity, itemToItem } = this.requireModels();
    const profile = await this.features.profile(actorId);
    // Top picks come from the personal model (EASE) once one is promoted; item-to-item until then.
    const picker = this.hub.current.personal ?? itemToItem;
    const personalVersion = this.hub.current.personal ? `+personal:${this.hub.current.personal.version}` : "";
    const version = `pop:${popularity.version}+i2i:${itemToItem?.version ?? "none"}${personalVersion}`;
    // Titles already claimed by a row; later claims skip them. Top picks claim first (the best
    // of everything), then the narrower rows (one title's neighbours, one genre) and trending
    // (the whole catalogue) last, so de-duplication rarely empties a narrow row; rows still show
    // in page order. A viewer with a single title of interest gets no "Because you watched":
    // it would repeat Top picks.
    const shown = new Set<string>();
    const claim = (row: Row | null): Row | null => {
      for (const i of row?.items ?? []) shown.add(i.id);
      return row;
    };

    let personal = picker && profile.positives.size > 0 ? this.topPicks(profile, picker, popularity, limit, shown) : [];
    if (personal.length === 0 && itemToItem && picker !== itemToItem && profile.positives.size > 0)
      personal = this.topPicks(profile, itemToItem, popularity, limit, shown);
    let topPicks: Row;
    if (picker && personal.length > 0) {
      const names = [...profile.positives.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 2)
        .map(([id]) => nameOf(picker, id))
        .filter(Boolean);
      topPicks = {
        id: "top-picks",
        title: "Top picks for you",
        items: personal,
        reason:
          names.length > 0 ? `Because you showed interest in ${names.join(" and ")}` : "Based on what you watched",
        model_version: version,
      };
    } else {
      topPicks = {
        id: "top-picks",
        title: "Top picks for you",
        items: fromOrder(popularity.byPopular, popularity, limit, profile, true, popularity.popular, shown),
        reason: "Popular with viewers on Marquee; open a few titles and this row learns your taste",
        model_version: version,
      };
    }
    claim(topPicks);

    let because: Row | null = null;
    if (itemToItem && profile.anchor) {
      const items = this.neighbours(profile.anchor, itemToItem, limit, profile, undefined, shown);
      if (items.length > 0) {
        const name = nameOf(itemToItem, profile.anchor) || "a title you viewed";
        because = claim({
          id: "because-you-watched",
          title: `Because you watched ${name}`,
          items,
          reason: `Viewers who watched ${name} also watched these`,
          model_version: version,
        });
      }
    }

    let genreRow: Row | null = null;
    const genre = topGenre(profile, popularity);
    if (genre) {
      const items: RankedItem[] = [];
      for (const i of popularity.byPopular) {
        const t = popularity.items[i];
        if (!t || !t.genres.includes(genre) || shown.has(t.id)) continue;
        if (profile.positives.has(t.id) || profile.negatives.has(t.id)) continue;
        items.push({ id: t.id, score: round(popularity.popular[i] ?? 0) });
        if (items.length >= limit) break;
      }
      if (items.length > 0) {
        genreRow = claim({
          id: `genre-${genre.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`,
          title: `More ${genre}`,
          items,
          reason: `Because you've been watching ${genre}`,
          model_version: version,
        });
      }
    }

    const trending: Row = {
      id: "trending",
      title: "Trending now",
      items: fromOrder(popularity.byTrending, popularity, limit, profile, false, null, shown),
      reason: "Most watched, rented and bought in the last few days",
      model_version: version,
    };
    const rows = [topPicks, trending, because, genreRow].filter((r): r is Row => r !== null);
    return { user_id: actorId, rows };
  }

  async similar(itemId: string, options: { limit?: number; actorId?: string } = {}): Promise<SimilarResponse> {
    const limit = clampLimit(options.limit);
    const { popularity, itemToItem } = this.requireModels();
    const profile = options.actorId ? await this.features.profile(options.actorId) : null;
    const items = itemToItem ? this.neighbours(itemId, itemToItem, limit, profile, itemId) : [];
    return {
      item_id: itemId,
      items,
      model_version: `i2i:${itemToItem?.version ?? "none"}+pop:${popularity.version}`,
    };
  }

  private requireModels(): { popularity: PopularitySnapshot; itemToItem: ItemToItemSnapshot | null } {
    const { popularity, itemToItem } = this.hub.current;
    if (!popularity)
      throw new AppError("unavailable", "recommendations are warming up; retry shortly", { retriable: true });
    return { popularity, itemToItem };
  }

  private topPicks(
    profile: UserProfile,
    model: ItemToItemSnapshot,
    popularity: PopularitySnapshot,
    limit: number,
    shown: ReadonlySet<string>,
  ): RankedItem[] {
    const scores = new Map<number, number>();
    const k = model.k;
    for (const [item, w] of profile.positives) {
      const i = model.index.get(item);
      if (i === undefined) continue;
      for (let r = 0; r < k; r++) {
        const j = model.neighbors[i * k + r] as number;
        if (j < 0) break;
        scores.set(j, (scores.get(j) ?? 0) + w * (model.similarity[i * k + r] as number));
      }
    }
    const ranked: RankedItem[] = [];
    const max = Math.max(1e-9, ...scores.values());
    for (const [j, s] of scores) {
      const id = model.items[j]?.id;
      if (!id || shown.has(id) || profile.positives.has(id) || profile.negatives.has(id)) continue;
      const p = popularity.index.get(id);
      const prior = p === undefined ? 0 : (popularity.popular[p] ?? 0);
      ranked.push({ id, score: round(s / max + POPULARITY_PRIOR * prior) });
    }
    ranked.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
    if (ranked.length > limit) ranked.length = limit;
    if (ranked.length < limit) {
      const seen = new Set(ranked.map((r) => r.id));
      for (const extra of fromOrder(
        popularity.byPopular,
        popularity,
        limit * 2,
        profile,
        true,
        popularity.popular,
        shown,
      )) {
        if (ranked.length >= limit) break;
        if (!seen.has(extra.id)) ranked.push({ id: extra.id, score: round(POPULARITY_PRIOR * extra.score) });
      }
    }
    return ranked;
  }

  private neighbours(
    itemId: string,
    model: ItemToItemSnapshot,
    limit: number,
    profile: UserProfile | null,
    keep?: string,
    shown?: ReadonlySet<string>,
  ): RankedItem[] {
    const i = model.index.get(itemId);
    if (i === undefined) return [];
    const out: RankedItem[] = [];
    for (let r = 0; r < model.k && out.length < limit; r++) {
      const j = model.neighbors[i * model.k + r] as number;
      if (j < 0) break;
      const id = model.items[j]?.id;
      if (!id || id === keep || shown?.has(id)) continue;
      if (profile && (profile.negatives.has(id) || (keep === undefined && profile.positives.has(id)))) continue;
      out.push({ id, score: round(model.similarity[i * model.k + r] as number) });
    }
    return out;
  }
}

function fromOrder(
  order: Int32Array,
  popularity: PopularitySnapshot,
  limit: number,
  profile: UserProfile,
  excludeSeen: boolean,
  scores: Float64Array | null,
  shown?: ReadonlySet<string>,
): RankedItem[] {
  const out: RankedItem[] = [];
  const n = order.length;
  for (let r = 0; r < n && out.length < limit; r++) {
    const i = order[r] as number;
    const id = popularity.items[i]?.id;
    if (!id || shown?.has(id) || profile.negatives.has(id) || (excludeSeen && profile.positives.has(id))) continue;
    out.push({ id, score: round(scores ? (scores[i] ?? 0) : 1 - r / n) });
  }
  return out;
}

function nameOf(model: ItemToItemSnapshot, id: string): string {
  const i = model.index.get(id);
  return i === undefined ? "" : (model.items[i]?.title ?? "");
}

/** The genre carrying most of the viewer's positive interest, if it is clear enough. */
function topGenre(profile: UserProfile, popularity: PopularitySnapshot): string | null {
  const byGenre = new Map<string, number>();
  let total = 0;
  for (const [id, w] of profile.positives) {
    const i = popularity.index.get(id);
    const genres = i === undefined ? [] : (popularity.items[i]?.genres ?? []);
    for (const g of genres) byGenre.set(g, (byGenre.get(g) ?? 0) + w / genres.length);
    total += w;
  }
  let best: string | null = null;
  let bestW = 0;
  for (const [g, w] of byGenre) if (w > bestW) [best, bestW] = [g, w];
  return best && bestW >= 0.3 * total ? best : null;
}

function clampLimit(limit: number | undefined): number {
  if (limit === undefined) return 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw new AppError("bad_request", "limit must be an integer from 1 to 100");
  return limit;
}
