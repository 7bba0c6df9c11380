import type { RankedItem, Row, RowsResponse, SimilarResponse, ViewerAudience } from "@marquee/contracts";
import type { OnlineFeatures, UserProfile } from "@marquee/feature-store";
import { AppError, rankTopPicks } from "@marquee/runtime";
import { isLimited, ratingAllowed, regionAllowed } from "./audience.ts";
import type { ItemToItemSnapshot, ModelHub, PopularitySnapshot } from "./models.ts";
import type { CatalogTitle, TitleIndex } from "./titles.ts";

export interface RowsOptions {
  limit?: number;
  /** Whom the rows are for: nothing above `maxAgeRating` (or outside `region`) appears anywhere. */
  audience?: ViewerAudience;
}

export interface SimilarOptions extends RowsOptions {
  actorId?: string;
}

/** What the storefront and other clients call, in-process or over HTTP. */
export interface ServingApi {
  rows(actorId: string, options?: RowsOptions): Promise<RowsResponse>;
  similar(itemId: string, options?: SimilarOptions): Promise<SimilarResponse>;
}

const round = (x: number) => Math.round(x * 1e5) / 1e5;
/** How many of the newest titles a genre row looks through for ones the models do not know yet. */
const FRESH_SCAN = 500;

/**
 * What one response may show and say, for one audience:
 *  - `visible`: a title may be offered (published now, and within the audience's limits);
 *  - `allowed`: a title of the viewer's history may steer the ranking (within the limits;
 *    a title since withdrawn still says something about taste);
 *  - `name`/`genres`: from the catalogue (current names), else from the model's files.
 * A limited audience (a kids' profile) sees only titles whose rating the catalogue confirms.
 */
interface View {
  visible(id: string): boolean;
  allowed(id: string): boolean;
  name(id: string): string;
  genres(id: string): readonly string[];
  catalogue: TitleIndex | null;
}

/**
 * Ranks rows for a viewer from the current models, the published catalogue and the viewer's
 * live history:
 *  - Top picks: titles similar to everything the viewer showed interest in, weighted by how
 *    strong and how recent that interest was; popular titles for a viewer with no history;
 *  - Trending now: short-half-life popularity;
 *  - New releases: the most recently published titles (from the catalogue, so a title just
 *    approved shows before any model has heard of it);
 *  - Because you watched X: neighbours of the latest title the viewer engaged with;
 *  - More <genre>: the viewer's strongest genre, from the catalogue, by popularity, with the
 *    genre's newest titles the models do not know yet given a few places.
 * Titles the viewer turned down never appear; titles they already engaged with are not
 * offered again in personal rows. A title appears in one row only. Every row, heading and
 * reason holds only what the audience may see: a kids' profile on an account whose history
 * has an R title gets no R title, by id or by name, anywhere in the response.
 */
export class Recommender implements ServingApi {
  constructor(
    private readonly hub: ModelHub,
    private readonly features: OnlineFeatures,
    private readonly options: { titles?: TitleIndex } = {},
  ) {}

  async rows(actorId: string, options: RowsOptions = {}): Promise<RowsResponse> {
    const limit = clampLimit(options.limit);
    const { popularity, itemToItem } = this.requireModels();
    const view = this.view(options.audience, popularity);
    const profile = restrict(await this.features.profile(actorId), view);
    // Top picks come from the personal model (EASE) once one is promoted; item-to-item until then.
    const picker = this.hub.current.personal ?? itemToItem;
    const personalVersion = this.hub.current.personal ? `+personal:${this.hub.current.personal.version}` : "";
    const version = `pop:${popularity.version}+i2i:${itemToItem?.version ?? "none"}${personalVersion}`;

    // Titles already claimed by a row; later claims skip them. Top picks claim first (the best
    // of everything), then the narrower rows (the newest titles, one title's neighbours, one
    // genre) and trending (the whole catalogue) last, so de-duplication rarely empties a narrow
    // row; rows still show in page order. A viewer with a single title of interest gets no
    // "Because you watched": it would repeat Top picks.
    const shown = new Set<string>();
    const claim = <R extends Row | null>(row: R): R => {
      for (const i of row?.items ?? []) shown.add(i.id);
      return row;
    };
    /** Never offered: not visible, turned down, or in an earlier row. */
    const blocked = (id: string) => shown.has(id) || profile.negatives.has(id) || !view.visible(id);
    /** ...nor, in personal rows, what the viewer already engaged with. */
    const blockedPersonal = (id: string) => blocked(id) || profile.positives.has(id);

    const hasHistory = profile.positives.size > 0;
    let personal = picker && hasHistory ? this.topPicks(profile, picker, popularity, limit, blockedPersonal) : [];
    if (personal.length === 0 && itemToItem && picker !== itemToItem && hasHistory)
      personal = this.topPicks(profile, itemToItem, popularity, limit, blockedPersonal);
    let topPicks: Row;
    if (picker && personal.length > 0) {
      const names = [...profile.positives.entries()]
        .sort((a, b) => b[1] - a[1])
        .filter(([id]) => view.visible(id))
        .slice(0, 2)
        .map(([id]) => view.name(id))
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
        items: fromOrder(popularity.byPopular, popularity, limit, blockedPersonal, popularity.popular),
        reason: "Popular with viewers on Marquee; open a few titles and this row learns your taste",
        model_version: version,
      };
    }
    claim(topPicks);

    const newReleases = claim(this.newReleases(view, limit, blockedPersonal, version));

    let because: Row | null = null;
    const anchor = itemToItem ? this.anchorOf(profile, itemToItem, view) : null;
    if (itemToItem && anchor) {
      const items = this.neighbours(anchor, itemToItem, limit, blockedPersonal);
      if (items.length > 0) {
        const name = view.name(anchor) || "a title you viewed";
        because = claim({
          id: "because-you-watched",
          title: `Because you watched ${name}`,
          items,
          reason: `Viewers who watched ${name} also watched these`,
          model_version: version,
        });
      }
    }

    const genreRow = claim(this.genreRow(profile, view, popularity, limit, blockedPersonal, version));

    const trending: Row = {
      id: "trending",
      title: "Trending now",
      items: fromOrder(popularity.byTrending, popularity, limit, blocked, null),
      reason: "Most watched, rented and bought in the last few days",
      model_version: version,
    };
    const rows = [topPicks, trending, newReleases, because, genreRow].filter(
      (r): r is Row => r !== null && r.items.length > 0,
    );
    return { user_id: actorId, rows };
  }

  async similar(itemId: string, options: SimilarOptions = {}): Promise<SimilarResponse> {
    const limit = clampLimit(options.limit);
    const { popularity, itemToItem } = this.requireModels();
    const view = this.view(options.audience, popularity);
    const model_version = `i2i:${itemToItem?.version ?? "none"}+pop:${popularity.version}`;
    // A title outside the audience is answered like one that does not exist.
    if (!itemToItem || !view.visible(itemId)) return { item_id: itemId, items: [], model_version };
    const profile = options.actorId ? restrict(await this.features.profile(options.actorId), view) : null;
    const skip = (id: string) => id === itemId || !view.visible(id) || (profile?.negatives.has(id) ?? false);
    return { item_id: itemId, items: this.neighbours(itemId, itemToItem, limit, skip), model_version };
  }

  private requireModels(): { popularity: PopularitySnapshot; itemToItem: ItemToItemSnapshot | null } {
    const { popularity, itemToItem } = this.hub.current;
    if (!popularity)
      throw new AppError("unavailable", "recommendations are warming up; retry shortly", { retriable: true });
    return { popularity, itemToItem };
  }

  private view(audience: ViewerAudience | undefined, popularity: PopularitySnapshot): View {
    const titles = this.options.titles?.ready ? this.options.titles : null;
    const limited = isLimited(audience);
    const max = audience?.maxAgeRating ?? null;
    const region = typeof audience?.region === "string" ? audience.region : null;
    const modelItem = (id: string) => {
      const i = popularity.index.get(id);
      return i === undefined ? undefined : popularity.items[i];
    };
    if (!titles) {
      // No catalogue (tests, or its first read failed): the models' titles, and nothing at
      // all for a limited audience, since no rating can be confirmed.
      return {
        visible: () => !limited,
        allowed: () => !limited,
        name: (id) => modelItem(id)?.title ?? "",
        genres: (id) => modelItem(id)?.genres ?? [],
        catalogue: null,
      };
    }
    const fits = (id: string) => {
      const t = titles.get(id);
      if (!t) return false;
      return ratingAllowed(t.age_rating, max) && (region === null || regionAllowed(t.regions, region));
    };
    return {
      visible: fits,
      allowed: (id) => (limited || region !== null ? fits(id) : true),
      name: (id) => titles.get(id)?.title ?? modelItem(id)?.title ?? "",
      genres: (id) => titles.get(id)?.genres ?? modelItem(id)?.genres ?? [],
      catalogue: titles,
    };
  }

  private topPicks(
    profile: UserProfile,
    model: ItemToItemSnapshot,
    popularity: PopularitySnapshot,
    limit: number,
    skip: (id: string) => boolean,
  ): RankedItem[] {
    // runtime's rankTopPicks: the same ranking training's promotion gate scores models by.
    return rankTopPicks(model, profile.positives, popularity, limit, skip);
  }

  /** "Because you watched": the latest title of interest the audience may see and the model knows. */
  private anchorOf(profile: UserProfile, model: ItemToItemSnapshot, view: View): string | null {
    if (profile.anchor && view.visible(profile.anchor) && model.index.has(profile.anchor)) return profile.anchor;
    for (const id of profile.recentPositives) {
      if (view.visible(id) && model.index.has(id)) return id;
    }
    return null;
  }

  private newReleases(view: View, limit: number, skip: (id: string) => boolean, version: string): Row | null {
    if (!view.catalogue) return null;
    const newest = view.catalogue.newestFirst();
    const items: RankedItem[] = [];
    for (let r = 0; r < newest.length && items.length < limit; r++) {
      const id = (newest[r] as { id: string }).id;
      if (skip(id)) continue;
      items.push({ id, score: round(1 - r / newest.length) });
    }
    return {
      id: "new-releases",
      title: "New releases",
      items,
      reason: "Newly published on Marquee",
      model_version: `${version}+catalogue`,
    };
  }

  private genreRow(
    profile: UserProfile,
    view: View,
    popularity: PopularitySnapshot,
    limit: number,
    skip: (id: string) => boolean,
    version: string,
  ): Row | null {
    const genre = topGenre(profile, view);
    if (!genre) return null;
    const items: RankedItem[] = [];
    const taken = new Set<string>();
    if (view.catalogue) {
      // The genre's newest titles the popularity model has not seen yet get a few places up
      // front: ranked by popularity alone, a title just approved would never be reached.
      // Only the newest FRESH_SCAN are looked at: titles no model knows yet are the newest ones,
      // and a request must not walk a 20k-title catalogue.
      const fresh = Math.max(1, Math.floor(limit / 4));
      const newest = view.catalogue.newestFirst();
      for (let r = 0; r < newest.length && r < FRESH_SCAN; r++) {
        const t = newest[r] as CatalogTitle;
        if (items.length >= fresh) break;
        if (!t.genres.includes(genre) || popularity.index.has(t.id) || skip(t.id)) continue;
        items.push({ id: t.id, score: 0 });
        taken.add(t.id);
      }
    }
    for (const i of popularity.byPopular) {
      if (items.length >= limit) break;
      const id = popularity.items[i]?.id;
      if (!id || taken.has(id) || skip(id) || !view.genres(id).includes(genre)) continue;
      items.push({ id, score: round(popularity.popular[i] ?? 0) });
    }
    return {
      id: `genre-${genre.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`,
      title: `More ${genre}`,
      items,
      reason: `Because you've been watching ${genre}`,
      model_version: version,
    };
  }

  private neighbours(
    itemId: string,
    model: ItemToItemSnapshot,
    limit: number,
    skip: (id: string) => boolean,
  ): RankedItem[] {
    const i = model.index.get(itemId);
    if (i === undefined) return [];
    const out: RankedItem[] = [];
    for (let r = 0; r < model.k && out.length < limit; r++) {
      const j = model.neighbors[i * model.k + r] as number;
      if (j < 0) break;
      const id = model.items[j]?.id;
      if (!id || skip(id)) continue;
      out.push({ id, score: round(model.similarity[i * model.k + r] as number) });
    }
    return out;
  }
}

/**
 * The viewer's history as this audience may use it: titles above a kids' profile's limit (or
 * outside the region) neither steer the ranking nor name a row. Turned-down titles stay: they
 * only ever remove titles.
 */
function restrict(profile: UserProfile, view: View): UserProfile {
  const positives = new Map([...profile.positives].filter(([id]) => view.allowed(id)));
  if (positives.size === profile.positives.size) return profile;
  const recentPositives = profile.recentPositives.filter((id) => positives.has(id));
  const anchor = profile.anchor !== null && positives.has(profile.anchor) ? profile.anchor : null;
  return { ...profile, positives, recentPositives, anchor };
}

function fromOrder(
  order: Int32Array,
  popularity: PopularitySnapshot,
  limit: number,
  skip: (id: string) => boolean,
  scores: Float64Array | null,
): RankedItem[] {
  const out: RankedItem[] = [];
  const n = order.length;
  for (let r = 0; r < n && out.length < limit; r++) {
    const i = order[r] as number;
    const id = popularity.items[i]?.id;
    if (!id || skip(id)) continue;
    out.push({ id, score: round(scores ? (scores[i] ?? 0) : 1 - r / n) });
  }
  return out;
}

/** The genre carrying most of the viewer's positive interest, if it is clear enough. */
function topGenre(profile: UserProfile, view: View): string | null {
  const byGenre = new Map<string, number>();
  let total = 0;
  for (const [id, w] of profile.positives) {
    const genres = view.genres(id);
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
