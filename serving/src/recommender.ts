import type {
  PopularResponse,
  PopularWindow,
  RankedItem,
  RecommendationsResponse,
  Row,
  RowsResponse,
  SessionRecommendationsResponse,
  SimilarResponse,
  ViewerAudience,
} from "@marquee/contracts";
import type { OnlineFeatures, UserProfile } from "@marquee/feature-store";
import { AppError, type Logger, rankTopPicks } from "@marquee/runtime";
import { isLimited, ratingAllowed, regionAllowed } from "./audience.ts";
import { withNewTitles } from "./content.ts";
import { type Assignment, assign, CONTROL } from "./experiments.ts";
import type { ItemToItemSnapshot, ModelHub, PopularitySnapshot } from "./models.ts";
import type { CatalogTitle, TitleIndex } from "./titles.ts";

export interface RowsOptions {
  limit?: number;
  /** Whom the rows are for: nothing above `maxAgeRating` (or outside `region`) appears anywhere. */
  audience?: ViewerAudience;
}

export interface SimilarOptions extends RowsOptions {
  actorId?: string;
  /** With `actorId`: leave out titles the viewer already owns. */
  excludeOwned?: boolean;
}

export interface RecommendationsOptions {
  k?: number;
  genre?: string;
  excludeOwned?: boolean;
  audience?: ViewerAudience;
}

export interface SessionOptions {
  /** Titles viewed this session, oldest first. */
  itemIds: readonly string[];
  excludeItemIds?: readonly string[];
  notInterestedIds?: readonly string[];
  k?: number;
  genre?: string;
  audience?: ViewerAudience;
}

export interface PopularOptions {
  k?: number;
  genre?: string;
  window?: PopularWindow;
  audience?: ViewerAudience;
}

/** What the storefront and other clients call, in-process or over HTTP. */
export interface ServingApi {
  rows(actorId: string, options?: RowsOptions): Promise<RowsResponse>;
  similar(itemId: string, options?: SimilarOptions): Promise<SimilarResponse>;
  recommendations(actorId: string, options?: RecommendationsOptions): Promise<RecommendationsResponse>;
  sessionRecommendations(options: SessionOptions): Promise<SessionRecommendationsResponse>;
  popular(options?: PopularOptions): Promise<PopularResponse>;
}

const round = (x: number) => Math.round(x * 1e5) / 1e5;
/** How many of the newest titles a genre row looks through for ones the models do not know yet. */
const FRESH_SCAN = 500;
/** Genre rows on a home page. */
const GENRE_ROWS = 2;
/** "Because you watched" rows, for the latest titles. */
const BECAUSE_ROWS = 2;

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

/** The models one response ranks with, and how it says so. */
interface Ranking {
  popularity: PopularitySnapshot;
  itemToItem: ItemToItemSnapshot | null;
  /** Top picks' model: the personal one (the viewer's variant) once promoted, else item-to-item. */
  picker: ItemToItemSnapshot | null;
  version: string;
  /** The content model that placed titles newer than the models, when one did. */
  contentVersion: string | null;
  assignment: Assignment;
}

const provenance = (r: Ranking, version = r.version) => ({
  model_version: version,
  variant: r.assignment.variant,
  experiment: r.assignment.experiment,
});

/**
 * Ranks every list serving answers from the current models, the published catalogue and the
 * viewer's live history (the online store, appended by the loader as events land, so a click,
 * a purchase or a "not interested" changes the very next response):
 *  - Continue watching: films started and not finished, latest first;
 *  - Top picks: titles similar to everything the viewer showed interest in, weighted by how
 *    strong and how recent that interest was (the personal model, per experiment variant);
 *    popular titles for a viewer with no history;
 *  - Because you watched X: neighbours of the latest titles the viewer engaged with;
 *  - Trending now: short-half-life popularity;
 *  - New releases: the most recently published titles (from the catalogue, so a title just
 *    approved shows before any model has heard of it);
 *  - More <genre>: the viewer's strongest genres (the catalogue's most popular ones for a
 *    newcomer), by popularity, with the genre's newest titles no model knows yet given a few
 *    places.
 * Every item says why it is there. Titles the viewer turned down never appear; titles they
 * already engaged with are not offered again in personal rows; owned titles only in Continue
 * watching. A title appears in one row only. Every row, heading and reason holds only what
 * the audience may see: a kids' profile on an account whose history has an R title gets no R
 * title, by id or by name, anywhere. A scoring failure falls back to popularity and says so
 * (`…+fallback` in model_version) instead of failing the request.
 */
export class Recommender implements ServingApi {
  constructor(
    private readonly hub: ModelHub,
    private readonly features: OnlineFeatures,
    private readonly options: { titles?: TitleIndex; logger?: Logger } = {},
  ) {}

  async rows(actorId: string, options: RowsOptions = {}): Promise<RowsResponse> {
    const limit = clampLimit(options.limit);
    const ranking = this.ranking(actorId);
    const { popularity, itemToItem } = ranking;
    const view = this.view(options.audience, popularity);
    const profile = restrict(await this.features.profile(actorId), view);
    const p = provenance(ranking);

    // Titles already claimed by a row; later claims skip them. Top picks claim first (the best
    // of everything), then the narrower rows (one title's neighbours, the newest titles, one
    // genre) and trending (the whole catalogue) last, so de-duplication rarely empties a narrow
    // row; rows still show in page order.
    const shown = new Set<string>();
    const claim = <R extends Row | null>(row: R): R => {
      for (const i of row?.items ?? []) shown.add(i.id);
      return row;
    };
    /** Never offered: not visible, turned down, owned (bar Continue watching), or in an earlier row. */
    const blocked = (id: string) =>
      shown.has(id) || profile.negatives.has(id) || profile.owned.has(id) || !view.visible(id);
    /** ...nor, in personal rows, what the viewer already engaged with. */
    const blockedPersonal = (id: string) => blocked(id) || profile.positives.has(id);

    const continueItems: RankedItem[] = [];
    for (const f of profile.inProgress) {
      if (continueItems.length >= limit) break;
      if (!view.visible(f.id) || profile.negatives.has(f.id)) continue;
      const pct = Math.round(f.fraction * 100);
      continueItems.push({
        id: f.id,
        score: round(f.fraction),
        progress: round(f.fraction),
        reason: `${pct}% watched`,
      });
    }
    const continueWatching = claim(
      continueItems.length > 0
        ? {
            id: "continue-watching",
            title: "Continue watching",
            items: continueItems,
            reason: "Pick up where you left off",
            ...p,
          }
        : null,
    );

    const top = this.personalList(ranking, profile, view, limit, blockedPersonal);
    const topPicks = claim<Row>({
      id: "top-picks",
      title: "Top picks for you",
      items: top.items,
      reason: top.personal
        ? topReason(profile, view)
        : "Popular with viewers on Marquee; open a few titles and this row learns your taste",
      ...provenance(ranking, top.version),
    });

    const because: Row[] = [];
    if (itemToItem) {
      for (const anchor of this.anchorsOf(profile, itemToItem, view, BECAUSE_ROWS)) {
        const name = view.name(anchor) || "a title you viewed";
        const items = this.neighbours(
          anchor,
          itemToItem,
          limit,
          blockedPersonal,
          `Viewers who watched ${name} also watched this`,
        );
        if (items.length === 0) continue;
        because.push(
          claim<Row>({
            id: because.length === 0 ? "because-you-watched" : `because-you-watched-${because.length + 1}`,
            title: `Because you watched ${name}`,
            items,
            reason: `Viewers who watched ${name} also watched these`,
            ...p,
          }),
        );
      }
    }

    const newReleases = claim(this.newReleases(view, limit, blockedPersonal, ranking));
    const genreRows: Row[] = [];
    for (const genre of topGenres(profile, view, popularity, GENRE_ROWS))
      genreRows.push(claim(this.genreRow(genre, view, popularity, limit, blockedPersonal, ranking)));

    const trending: Row = {
      id: "trending",
      title: "Trending now",
      items: fromOrder(popularity.byTrending, popularity, limit, blocked, null, (id) =>
        popularReason(view.genres(id), "trending"),
      ),
      reason: "Most watched, rented and bought in the last few days",
      ...p,
    };
    const rows = [
      continueWatching,
      topPicks,
      because[0] ?? null,
      trending,
      newReleases,
      ...because.slice(1),
      ...genreRows,
    ].filter((r): r is Row => r !== null && r.items.length > 0);
    return { user_id: actorId, rows };
  }

  async recommendations(actorId: string, options: RecommendationsOptions = {}): Promise<RecommendationsResponse> {
    const k = clampLimit(options.k);
    const ranking = this.ranking(actorId);
    const view = this.view(options.audience, ranking.popularity);
    const profile = restrict(await this.features.profile(actorId), view);
    const genre = options.genre;
    const skip = (id: string) =>
      !view.visible(id) ||
      profile.negatives.has(id) ||
      profile.positives.has(id) ||
      (options.excludeOwned === true && profile.owned.has(id)) ||
      (genre !== undefined && !view.genres(id).includes(genre));
    const list = this.personalList(ranking, profile, view, k, skip);
    return { user_id: actorId, items: list.items, ...provenance(ranking, list.version) };
  }

  async sessionRecommendations(options: SessionOptions): Promise<SessionRecommendationsResponse> {
    const k = clampLimit(options.k);
    // No account: no experiment either (an anonymous session has no stable id to assign).
    const ranking = this.ranking(null);
    const view = this.view(options.audience, ranking.popularity);
    // Later views count more: the visitor's interest is moving towards them.
    const positives = new Map<string, number>();
    const n = options.itemIds.length;
    options.itemIds.forEach((id, i) => {
      if (view.allowed(id)) positives.set(id, (positives.get(id) ?? 0) + 0.5 + (0.5 * (i + 1)) / n);
    });
    const excluded = new Set([...(options.excludeItemIds ?? []), ...(options.notInterestedIds ?? [])]);
    for (const id of options.notInterestedIds ?? []) positives.delete(id);
    const genre = options.genre;
    const skip = (id: string) =>
      !view.visible(id) ||
      excluded.has(id) ||
      positives.has(id) ||
      (genre !== undefined && !view.genres(id).includes(genre));
    const profile: UserProfile = {
      positives,
      negatives: new Set(options.notInterestedIds ?? []),
      anchor: null,
      recentPositives: [...positives.keys()].reverse(),
      interactions: n,
      watched: new Set(),
      owned: new Set(),
      inProgress: [],
    };
    const list = this.personalList(ranking, profile, view, k, skip, "Because you looked at");
    return { items: list.items, ...provenance(ranking, list.version) };
  }

  async popular(options: PopularOptions = {}): Promise<PopularResponse> {
    const k = clampLimit(options.k);
    const ranking = this.ranking(null);
    const { popularity } = ranking;
    const view = this.view(options.audience, popularity);
    const window = options.window ?? "week";
    const genre = options.genre ?? null;
    const skip = (id: string) => !view.visible(id) || (genre !== null && !view.genres(id).includes(genre));
    const order =
      genre === null
        ? window === "day"
          ? popularity.byTrending
          : popularity.byPopular
        : ((window === "day" ? popularity.byGenreTrending : popularity.byGenrePopular).get(genre) ?? new Int32Array(0));
    const items = fromOrder(order, popularity, k, skip, window === "day" ? null : popularity.popular, (id) =>
      popularReason(genre ? [genre] : view.genres(id), window),
    );
    return { window, genre, items, ...provenance(ranking, `pop:${popularity.version}`) };
  }

  async similar(itemId: string, options: SimilarOptions = {}): Promise<SimilarResponse> {
    const limit = clampLimit(options.limit);
    const ranking = this.ranking(options.actorId ?? null);
    const { popularity, itemToItem } = ranking;
    const view = this.view(options.audience, popularity);
    const p = provenance(
      ranking,
      `i2i:${itemToItem?.version ?? "none"}+pop:${popularity.version}${ranking.contentVersion ? `+content:${ranking.contentVersion}` : ""}`,
    );
    // A title outside the audience is answered like one that does not exist.
    if (!itemToItem || !view.visible(itemId)) return { item_id: itemId, items: [], ...p };
    const profile = options.actorId ? restrict(await this.features.profile(options.actorId), view) : null;
    const skip = (id: string) =>
      id === itemId ||
      !view.visible(id) ||
      (profile?.negatives.has(id) ?? false) ||
      (options.excludeOwned === true && (profile?.owned.has(id) ?? false));
    const name = view.name(itemId) || "this title";
    return {
      item_id: itemId,
      items: this.neighbours(itemId, itemToItem, limit, skip, `Viewers who watched ${name} also watched this`),
      ...p,
    };
  }

  /** The models for this viewer (their experiment variant's personal model), or 503 while none is loaded. */
  private ranking(actorId: string | null): Ranking {
    const { popularity, content } = this.hub.current;
    if (!popularity)
      throw new AppError("unavailable", "recommendations are warming up; retry shortly", { retriable: true });
    // Titles published since the models were trained get their place from the content model
    // (memoised per snapshot and catalogue read, so this is a lookup on almost every request).
    const catalogue = this.options.titles?.ready ? this.options.titles.newestFirst() : null;
    const extend = (s: ItemToItemSnapshot | null) =>
      s && content && catalogue ? withNewTitles(s, content, catalogue) : s;
    const itemToItem = extend(this.hub.current.itemToItem);
    const assignment = actorId === null ? CONTROL : assign(this.hub.experiments, actorId);
    const personal = extend(this.hub.personalAt(assignment.modelVersion));
    const picker = personal ?? itemToItem;
    const version = `pop:${popularity.version}+i2i:${itemToItem?.version ?? "none"}${personal ? `+personal:${personal.version}` : ""}${content && catalogue ? `+content:${content.version}` : ""}`;
    const contentVersion = content && catalogue ? content.version : null;
    return { popularity, itemToItem, picker, version, contentVersion, assignment };
  }

  /**
   * The viewer's best `limit` titles from Top picks' model (item-to-item when the personal model
   * reaches nothing), each with the history title that contributed most as its reason;
   * popularity for a viewer with no history, or when scoring fails.
   */
  private personalList(
    ranking: Ranking,
    profile: UserProfile,
    view: View,
    limit: number,
    skip: (id: string) => boolean,
    verb?: string,
  ): { items: RankedItem[]; personal: boolean; version: string } {
    const { popularity, itemToItem, picker } = ranking;
    if (picker && profile.positives.size > 0) {
      try {
        // runtime's rankTopPicks: the same ranking training's promotion gate scores models by.
        let model = picker;
        let items = rankTopPicks(picker, profile.positives, popularity, limit, skip);
        if (!reachedAny(items, picker, profile) && itemToItem && picker !== itemToItem) {
          model = itemToItem;
          items = rankTopPicks(itemToItem, profile.positives, popularity, limit, skip);
        }
        return { items: explain(items, model, profile, view, verb), personal: true, version: ranking.version };
      } catch (err) {
        this.options.logger?.error({ err }, "personal scoring failed; falling back to popularity");
        return {
          items: fromOrder(popularity.byPopular, popularity, limit, skip, popularity.popular, () => POPULAR_REASON),
          personal: false,
          version: `pop:${popularity.version}+fallback`,
        };
      }
    }
    return {
      items: fromOrder(popularity.byPopular, popularity, limit, skip, popularity.popular, () => POPULAR_REASON),
      personal: false,
      version: picker ? ranking.version : `pop:${popularity.version}+fallback`,
    };
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

  /** "Because you watched": the latest titles of interest the audience may see and the model knows. */
  private anchorsOf(profile: UserProfile, model: ItemToItemSnapshot, view: View, n: number): string[] {
    const out: string[] = [];
    const ok = (id: string | null): id is string =>
      id !== null && !out.includes(id) && view.visible(id) && model.index.has(id);
    if (ok(profile.anchor)) out.push(profile.anchor);
    for (const id of profile.recentPositives) {
      if (out.length >= n) break;
      if (ok(id)) out.push(id);
    }
    return out;
  }

  private newReleases(view: View, limit: number, skip: (id: string) => boolean, ranking: Ranking): Row | null {
    if (!view.catalogue) return null;
    const newest = view.catalogue.newestFirst();
    const items: RankedItem[] = [];
    for (let r = 0; r < newest.length && items.length < limit; r++) {
      const id = (newest[r] as { id: string }).id;
      if (skip(id)) continue;
      items.push({ id, score: round(1 - r / newest.length), reason: "New on Marquee" });
    }
    return {
      id: "new-releases",
      title: "New releases",
      items,
      reason: "Newly published on Marquee",
      ...provenance(ranking, `${ranking.version}+catalogue`),
    };
  }

  private genreRow(
    genre: string,
    view: View,
    popularity: PopularitySnapshot,
    limit: number,
    skip: (id: string) => boolean,
    ranking: Ranking,
  ): Row {
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
        items.push({ id: t.id, score: 0, reason: `New in ${genre}` });
        taken.add(t.id);
      }
    }
    for (const i of popularity.byGenrePopular.get(genre) ?? []) {
      if (items.length >= limit) break;
      const id = popularity.items[i]?.id;
      if (!id || taken.has(id) || !view.genres(id).includes(genre) || skip(id)) continue;
      items.push({ id, score: round(popularity.popular[i] ?? 0), reason: `Popular in ${genre}` });
    }
    return {
      id: `genre-${genre.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`,
      title: `More ${genre}`,
      items,
      reason: `Popular ${genre} on Marquee`,
      ...provenance(ranking),
    };
  }

  private neighbours(
    itemId: string,
    model: ItemToItemSnapshot,
    limit: number,
    skip: (id: string) => boolean,
    reason: string,
  ): RankedItem[] {
    const i = model.index.get(itemId);
    if (i === undefined) return [];
    const out: RankedItem[] = [];
    for (let r = 0; r < model.k && out.length < limit; r++) {
      const j = model.neighbors[i * model.k + r] as number;
      if (j < 0) break;
      const id = model.items[j]?.id;
      if (!id || skip(id)) continue;
      out.push({ id, score: round(model.similarity[i * model.k + r] as number), reason });
    }
    return out;
  }
}

const POPULAR_REASON = "Popular on Marquee this week";

function popularReason(genres: readonly string[], window: PopularWindow | "trending"): string {
  const g = genres[0];
  if (window === "trending") return g ? `Trending in ${g}` : "Trending on Marquee";
  const when = window === "day" ? "today" : "this week";
  return g ? `Popular in ${g} ${when}` : `Popular on Marquee ${when}`;
}

function topReason(profile: UserProfile, view: View): string {
  const names = [...profile.positives.entries()]
    .sort((a, b) => b[1] - a[1])
    .filter(([id]) => view.visible(id))
    .slice(0, 2)
    .map(([id]) => view.name(id))
    .filter(Boolean);
  return names.length > 0 ? `Because you showed interest in ${names.join(" and ")}` : "Based on what you watched";
}

/** Did the model reach any title from the history (rather than only the popularity top-up)? */
function reachedAny(items: readonly RankedItem[], model: ItemToItemSnapshot, profile: UserProfile): boolean {
  if (items.length === 0) return false;
  for (const id of profile.positives.keys()) {
    const i = model.index.get(id);
    if (i !== undefined && (model.neighbors[i * model.k] as number) >= 0) return true;
  }
  return false;
}

/**
 * Each ranked title's reason: the history title that contributed most to its score
 * (interest × weight), "Because you watched X" (or looked at, for a title only clicked or
 * added to a list). Titles the model did not reach (the popularity top-up) say so.
 */
function explain(
  items: RankedItem[],
  model: ItemToItemSnapshot,
  profile: UserProfile,
  view: View,
  verb?: string,
): RankedItem[] {
  const want = new Map<number, number>();
  items.forEach((it, r) => {
    const j = model.index.get(it.id);
    if (j !== undefined) want.set(j, r);
  });
  const best = new Float64Array(items.length);
  const by: (string | null)[] = items.map(() => null);
  const k = model.k;
  for (const [id, w] of profile.positives) {
    if (!view.visible(id)) continue; // a reason never names a title the audience may not see
    const i = model.index.get(id);
    if (i === undefined) continue;
    for (let r = 0; r < k; r++) {
      const j = model.neighbors[i * k + r] as number;
      if (j < 0) break;
      const slot = want.get(j);
      if (slot === undefined) continue;
      const c = w * (model.similarity[i * k + r] as number);
      if (c > (best[slot] as number)) {
        best[slot] = c;
        by[slot] = id;
      }
    }
  }
  return items.map((it, r) => {
    const from = by[r];
    if (!from) return { ...it, reason: POPULAR_REASON };
    const name = view.name(from);
    const how = verb ?? (profile.watched.has(from) ? "Because you watched" : "Because you looked at");
    return { ...it, reason: name ? `${how} ${name}` : "Based on what you watched" };
  });
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
  const inProgress = profile.inProgress.filter((f) => view.allowed(f.id));
  return { ...profile, positives, recentPositives, anchor, inProgress };
}

function fromOrder(
  order: Int32Array,
  popularity: PopularitySnapshot,
  limit: number,
  skip: (id: string) => boolean,
  scores: Float64Array | null,
  reason: (id: string) => string,
): RankedItem[] {
  const out: RankedItem[] = [];
  const n = order.length;
  for (let r = 0; r < n && out.length < limit; r++) {
    const i = order[r] as number;
    const id = popularity.items[i]?.id;
    if (!id || skip(id)) continue;
    out.push({ id, score: round(scores ? (scores[i] ?? 0) : 1 - r / n), reason: reason(id) });
  }
  return out;
}

/**
 * The genres carrying most of the viewer's positive interest (each at least 20 % of it); for a
 * viewer with no history, the genres of the most popular titles the audience may see.
 */
function topGenres(profile: UserProfile, view: View, popularity: PopularitySnapshot, n: number): string[] {
  const byGenre = new Map<string, number>();
  let total = 0;
  for (const [id, w] of profile.positives) {
    const genres = view.genres(id);
    for (const g of genres) byGenre.set(g, (byGenre.get(g) ?? 0) + w / genres.length);
    total += w;
  }
  if (total > 0) {
    return [...byGenre]
      .filter(([, w]) => w >= 0.2 * total)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, n)
      .map(([g]) => g);
  }
  const counts = new Map<string, number>();
  let seen = 0;
  for (const i of popularity.byPopular) {
    if (seen >= 50) break;
    const id = popularity.items[i]?.id;
    if (!id || !view.visible(id)) continue;
    seen++;
    for (const g of view.genres(id)) counts.set(g, (counts.get(g) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([g]) => g);
}

function clampLimit(limit: number | undefined): number {
  if (limit === undefined) return 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw new AppError("bad_request", "limit must be an integer from 1 to 100");
  return limit;
}
