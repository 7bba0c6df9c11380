import {
  type CollectedEvent,
  type EventContext,
  type EventOf,
  type EventType,
  type Quality,
  uuidV7At,
} from "@marquee/contracts";
import { GENRES, genreSlug } from "./genres.ts";
import { isoTime } from "./iso-time.ts";
import { createRng, type Rng, WeightedSampler } from "./rng.ts";
import { genreIndexes, type SeedTitle } from "./titles.ts";
import { SEED_DEVICES, type SeedDevice, type SeedUser } from "./users.ts";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const RENTAL_MS = 48 * HOUR;
const QUALITY_RANK: Record<Quality, number> = { SD: 0, HD: 1, "4K": 2 };

/**
 * What the history generator needs to know about the catalogue, precomputed once per world:
 * genre indexes, popularity samplers (global and per genre), and the daily "trending" and
 * "new releases" rows every user sees.
 */
export class CatalogIndex {
  readonly genres: number[][];
  readonly popularity: Float64Array;
  readonly global: WeightedSampler<number>;
  readonly byGenre: WeightedSampler<number>[];
  readonly genreCounts: number[];
  private readonly popular: number[];
  private readonly recent: number[];
  private readonly daily = new Map<string, number[]>();

  constructor(
    readonly titles: readonly SeedTitle[],
    private readonly seed: number,
    now: Date,
  ) {
    this.genres = titles.map((t) => genreIndexes(t.genres));
    this.popularity = Float64Array.from(titles, (t) => t.popularity);
    const all = titles.map((_, i) => i);
    this.global = new WeightedSampler(all, this.popularity);
    this.byGenre = GENRES.map((_, g) => {
      const members = all.filter((i) => (this.genres[i] as number[]).includes(g));
      return new WeightedSampler(
        members,
        members.map((i) => this.popularity[i] as number),
      );
    });
    this.genreCounts = this.byGenre.map((s) => s.size);
    const byPop = all.slice().sort((a, b) => (this.popularity[b] as number) - (this.popularity[a] as number));
    this.popular = byPop.slice(0, 80);
    const nowYear = now.getUTCFullYear();
    this.recent = byPop.filter((i) => (titles[i] as SeedTitle).year >= nowYear - 1).slice(0, 60);
    if (this.recent.length < 12) this.recent = byPop.slice(0, 60);
  }

  /** The day's trending row: popular titles, reshuffled a little each day. */
  trending(day: number): number[] {
    return this.dailyRow("trending", day, this.popular);
  }

  /** The day's new-releases row. */
  newReleases(day: number): number[] {
    return this.dailyRow("new", day, this.recent);
  }

  private dailyRow(kind: string, day: number, pool: readonly number[]): number[] {
    const key = `${kind}:${day}`;
    let row = this.daily.get(key);
    if (row === undefined) {
      const rng = createRng(this.seed, "row", kind, day);
      row = pool
        .map((i) => [i, (this.popularity[i] as number) * Math.exp(rng.normal(0, 0.6))] as const)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 16)
        .map(([i]) => i);
      this.daily.set(key, row);
    }
    return row;
  }
}

export interface HistoryOptions {
  seed: number;
  now: Date;
  /** How far back sessions go. */
  windowDays: number;
  /** Expected sessions over the window per unit of user activity. */
  sessionsPerActivity: number;
}

interface Entitlement {
  kind: "buy" | "rent";
  quality: Quality;
  /** ms; Infinity for a purchase. */
  expiresAt: number;
}

interface Source {
  page: string;
  row?: string;
  position?: number;
}

/** Sessions start more often in the evening, and through the day at weekends. */
const HOUR_WEIGHTS = [
  0.6, 0.3, 0.15, 0.1, 0.1, 0.15, 0.3, 0.55, 0.7, 0.6, 0.6, 0.7, 0.9, 0.9, 0.8, 0.8, 0.9, 1.1, 1.6, 2.3, 2.8, 2.7, 2.0,
  1.2,
];
const WEEKEND_HOUR_WEIGHTS = HOUR_WEIGHTS.map((w, h) => (h >= 10 && h <= 18 ? w * 1.8 : w));
/** Sunday first, as Date.getUTCDay() counts. */
const WEEKDAY_WEIGHTS = [1.35, 0.85, 0.85, 0.9, 0.95, 1.2, 1.4];
const VISIBLE: Record<SeedDevice, number> = { phone: 3, tablet: 4, desktop: 6, tv: 5 };
/** Preferred quality per device, before price sensitivity: SD, HD, 4K. */
const QUALITY_PREFS: Record<SeedDevice, readonly [number, number, number]> = {
  phone: [0.45, 0.5, 0.05],
  tablet: [0.3, 0.6, 0.1],
  desktop: [0.15, 0.6, 0.25],
  tv: [0.08, 0.42, 0.5],
};

/**
 * One user's history, in time order: sessions over the window before `now`, each a browse
 * funnel (home rows → impressions → clicks → title page → trailer → rent or buy → play →
 * progress → complete or abandon → rating), with watchlist adds, not-interested on titles
 * outside the taste, searches and the rare refund. Invariants the tests rely on:
 * - every event is at or after the user's account creation and before `now`;
 * - every play_start is preceded by a purchase (not refunded) or an unexpired rental of that
 *   title by that user;
 * - occurred_at strictly increases within a user's history.
 */
export function userHistory(
  index: CatalogIndex,
  user: SeedUser,
  userIndex: number,
  options: HistoryOptions,
): CollectedEvent[] {
  return new HistoryBuilder(index, user, createRng(options.seed, "history", userIndex), options).build();
}

class HistoryBuilder {
  private readonly events: CollectedEvent[] = [];
  private readonly affinity: Float64Array;
  private readonly maxAffinity: number;
  private readonly genreSampler: WeightedSampler<number>;
  private readonly deviceWeights: number[];
  private readonly end: number;
  private readonly windowStart: number;
  private t = 0;
  /** occurred_at of the last event, so times strictly increase. */
  private lastT = Number.NEGATIVE_INFINITY;
  private device: SeedDevice = "desktop";
  private sessionId = "";
  private readonly entitlements = new Map<number, Entitlement>();
  private readonly watchlist = new Set<number>();
  private readonly blocked = new Set<number>();
  private readonly watched = new Set<number>();
  private readonly rated = new Set<number>();
  /** Title → the position (s) where the user stopped, most recent last. */
  private readonly inProgress = new Map<number, number>();

  constructor(
    private readonly index: CatalogIndex,
    private readonly user: SeedUser,
    private readonly rng: Rng,
    private readonly options: HistoryOptions,
  ) {
    this.affinity = Float64Array.from(GENRES, (g) => user.genre_affinity[g]);
    this.maxAffinity = Math.max(...this.affinity, 1e-9);
    this.genreSampler = new WeightedSampler(
      GENRES.map((_, i) => i),
      this.affinity,
    );
    this.deviceWeights = SEED_DEVICES.map((d) => user.devices[d]);
    this.end = options.now.getTime() - MINUTE;
    this.windowStart = options.now.getTime() - options.windowDays * DAY;
  }

  build(): CollectedEvent[] {
    const created = Date.parse(this.user.created_at);
    const start = Math.max(created + MINUTE, this.windowStart);
    if (start >= this.end) return this.events;
    const share = (this.end - start) / (this.end - this.windowStart);
    const sessions = this.rng.poisson(this.user.activity * this.options.sessionsPerActivity * share);
    const starts = Array.from({ length: sessions }, () => this.sessionStart(start)).sort((a, b) => a - b);
    for (const s of starts) {
      // Sessions never overlap: a late session starts a while after the previous one ended.
      this.t = Math.max(s, this.t + this.rng.uniform(10, 90) * MINUTE);
      if (this.t >= this.end) break;
      this.session();
    }
    return this.events;
  }

  private sessionStart(from: number): number {
    const rng = this.rng;
    const firstDay = Math.floor(from / DAY);
    const lastDay = Math.floor(this.end / DAY);
    for (let attempt = 0; attempt < 20; attempt++) {
      const day = rng.int(firstDay, lastDay);
      const weekday = new Date(day * DAY).getUTCDay();
      // Accept the day with probability proportional to its weekday weight.
      if (!rng.chance((WEEKDAY_WEIGHTS[weekday] as number) / 1.4)) continue;
      const weekend = weekday === 0 || weekday === 6;
      const hour = rng.weightedIndex(weekend ? WEEKEND_HOUR_WEIGHTS : HOUR_WEIGHTS);
      const t = day * DAY + hour * HOUR + rng.uniform(0, HOUR);
      if (t >= from && t < this.end) return t;
    }
    return rng.uniform(from, this.end);
  }

  // --- the session funnel ---

  private session(): void {
    const rng = this.rng;
    this.device = SEED_DEVICES[rng.weightedIndex(this.deviceWeights)] as SeedDevice;
    this.sessionId = `s${rng.hex(16)}`;
    this.emit("page_view", undefined, { page: "/" }, { path: "/" });
    this.step(0.5, 3);

    if (rng.chance(0.1) && this.search()) {
      if (rng.chance(0.6)) return;
      this.emit("page_view", undefined, { page: "/" }, { path: "/", referrer: "/search" });
    }

    const rows = this.homeRows();
    let clicks = 0;
    const maxClicks = 1 + rng.geometric(0.4);
    for (let r = 0; r < rows.length; r++) {
      if (r > 0 && !rng.chance(0.82)) break;
      if (this.t >= this.end) return;
      const row = rows[r] as { id: string; items: number[] };
      const visible = Math.min(row.items.length, VISIBLE[this.device] + (rng.chance(0.3) ? VISIBLE[this.device] : 0));
      this.step(1, 6);
      for (let pos = 0; pos < visible; pos++) {
        this.emit("impression", row.items[pos], { page: "/", row: row.id, position: pos }, {});
        this.t += rng.int(3, 30);
      }
      for (let pos = 0; pos < visible; pos++) {
        const item = row.items[pos] as number;
        const interest = this.interest(item);
        if (interest < 0.1 && !this.blocked.has(item) && rng.chance(0.012)) {
          this.step(1, 8);
          this.emit("not_interested", item, { page: "/", row: row.id, position: pos }, {});
          this.blocked.add(item);
          continue;
        }
        if (!rng.chance(this.clickProbability(item, interest, row.id, pos))) continue;
        this.step(2, 25);
        const played =
          row.id === "continue_watching"
            ? this.resume(item, { page: "/", row: row.id, position: pos })
            : this.visit(item, { page: "/", row: row.id, position: pos });
        clicks++;
        if (played && rng.chance(0.75)) return;
        if (clicks >= maxClicks || this.t >= this.end) return;
        // Back on the home page: the user carries on along the same row, then the next.
        this.step(2, 15);
        this.emit("page_view", undefined, { page: "/" }, { path: "/", referrer: `/titles/${this.id(item)}` });
      }
    }
  }

  private homeRows(): { id: string; items: number[] }[] {
    const rng = this.rng;
    const day = Math.floor((this.t - this.windowStart) / DAY);
    const rows: { id: string; items: number[] }[] = [];
    if (this.inProgress.size > 0 && rng.chance(0.85)) {
      rows.push({ id: "continue_watching", items: [...this.inProgress.keys()].reverse().slice(0, 8) });
    }
    rows.push({ id: "top_picks", items: this.distinct(() => this.tasteDraw(), 14) });
    rows.push({ id: "trending", items: this.index.trending(day).filter((i) => !this.blocked.has(i)) });
    if (rng.chance(0.6)) {
      const g = rng.weightedIndex(this.affinity);
      const sampler = this.index.byGenre[g];
      if (sampler !== undefined && sampler.size > 0) {
        rows.push({ id: `genre_${genreSlug(GENRES[g] as string)}`, items: this.distinct(() => sampler.draw(rng), 14) });
      }
    }
    if (rng.chance(0.4)) rows.push({ id: "new_releases", items: this.index.newReleases(day) });
    if (this.watchlist.size > 0 && rng.chance(0.5)) {
      rows.push({ id: "my_list", items: [...this.watchlist].reverse().slice(0, 14) });
    }
    return rows.filter((r) => r.items.length > 0);
  }

  /** Title appeal for this user: the share of the favourite genre's affinity the title's genres carry, 0..1. */
  private interest(item: number): number {
    let sum = 0;
    for (const g of this.index.genres[item] as number[]) sum += this.affinity[g] as number;
    return Math.min(1, sum / this.maxAffinity);
  }

  private clickProbability(item: number, interest: number, row: string, pos: number): number {
    if (row === "continue_watching") return pos === 0 ? 0.55 : 0.12;
    if (this.watched.has(item)) return 0.004;
    const pop = (this.index.popularity[item] as number) ** 0.35;
    const bias = 1 / (1 + 0.45 * pos);
    const base = (0.03 + 0.42 * interest * interest) * (0.4 + 1.2 * pop);
    return Math.min(0.9, bias * base * (row === "my_list" ? 2.2 : 1));
  }

  /** A title drawn from the user's taste: popularity within a genre picked by affinity. */
  private tasteDraw(): number {
    const rng = this.rng;
    if (rng.chance(0.2)) return this.index.global.draw(rng);
    const sampler = this.index.byGenre[this.genreSampler.draw(rng)];
    return sampler === undefined || sampler.size === 0 ? this.index.global.draw(rng) : sampler.draw(rng);
  }

  private distinct(draw: () => number, k: number): number[] {
    const out = new Set<number>();
    for (let i = 0; i < k * 4 && out.size < k; i++) {
      const item = draw();
      if (!this.blocked.has(item) && !this.watched.has(item)) out.add(item);
    }
    return [...out];
  }

  /** A search, and usually a click on a result. Returns whether the user clicked through. */
  private search(): boolean {
    const rng = this.rng;
    let query: string;
    let results: number;
    let target: number;
    let position: number;
    if (rng.chance(0.6)) {
      target = this.tasteDraw();
      const words = (
        this.title(target)
          .title.toLowerCase()
          .match(/[\p{L}\p{N}']+/gu) ?? ["film"]
      ).slice(0, 3);
      const n = rng.int(1, Math.min(2, words.length));
      query = words.slice(0, n).join(" ");
      if (rng.chance(0.2) && query.length > 4) query = query.slice(0, rng.int(3, query.length - 1));
      results = rng.int(1, 24);
      position = rng.chance(0.7) ? 0 : Math.min(results - 1, rng.int(1, 4));
    } else {
      const g = rng.weightedIndex(this.affinity);
      const name = (GENRES[g] as string).toLowerCase();
      query = rng.pick([name, `${name} movies`, `best ${name}`, `new ${name}`]);
      results = this.index.genreCounts[g] ?? 0;
      const sampler = this.index.byGenre[g];
      if (sampler === undefined || sampler.size === 0) return false;
      target = sampler.draw(rng);
      position = Math.min(Math.max(results - 1, 0), rng.geometric(0.3));
    }
    this.step(3, 20);
    this.emit("search", undefined, { page: "/search" }, { query, results });
    if (results === 0 || !rng.chance(0.7)) return false;
    this.step(2, 20);
    this.visit(target, { page: `/search?q=${encodeURIComponent(query)}`.slice(0, 200), row: "search", position });
    return true;
  }

  /** Click through to a title page and maybe watch. Returns whether a play started. */
  private visit(item: number, from: Source): boolean {
    const rng = this.rng;
    this.emit("click", item, from, { target: rng.chance(0.7) ? "poster" : "title" });
    this.t += rng.int(300, 1500);
    const page = `/titles/${this.id(item)}`;
    this.emit("page_view", undefined, { page }, { path: page, referrer: from.page });
    const interest = clamp01(this.interest(item) + rng.normal(0, 0.1));
    this.step(4, 40);

    let ent = this.entitlement(item);
    let trailer = false;
    if (ent === undefined && rng.chance(0.15 + 0.35 * interest)) {
      trailer = true;
      this.emit("trailer_play", item, { page }, { position_s: 0 });
      this.t += Math.round(rng.uniform(0.2, 1) * rng.uniform(90, 150) * SECOND);
    }
    if (ent === undefined) {
      const ps = this.user.price_sensitivity;
      const p = (0.05 + 0.6 * interest * interest) * (1 - 0.45 * ps) * (trailer ? 1.3 : 1);
      if (rng.chance(p)) ent = this.transact(item, page, interest);
      if (ent === undefined) {
        if (!this.watchlist.has(item) && rng.chance(0.05 + 0.3 * interest)) {
          this.step(2, 10);
          this.emit("watchlist_add", item, { page }, {});
          this.watchlist.add(item);
        }
        return false;
      }
    }
    if (!rng.chance(0.92)) return false;
    this.step(2, 12);
    this.play(item, ent, page, this.inProgress.get(item) ?? 0, interest);
    return true;
  }

  /** Continue watching: straight back into the player if the title is still available. */
  private resume(item: number, from: Source): boolean {
    const ent = this.entitlement(item);
    if (ent === undefined) return this.visit(item, from);
    this.emit("click", item, from, { target: "button" });
    this.step(1, 4);
    this.play(item, ent, `/watch/${this.id(item)}`, this.inProgress.get(item) ?? 0, this.interest(item));
    return true;
  }

  private entitlement(item: number): Entitlement | undefined {
    const ent = this.entitlements.get(item);
    return ent !== undefined && ent.expiresAt > this.t + MINUTE ? ent : undefined;
  }

  /** Rent or buy, at the title's listed price. Returns the new entitlement, or none if it fell through or was refunded. */
  private transact(item: number, page: string, interest: number): Entitlement | undefined {
    const rng = this.rng;
    const offers = this.title(item).offers;
    const ps = this.user.price_sensitivity;
    const rent = offers.filter((o) => o.kind === "rent");
    const buy = offers.filter((o) => o.kind === "buy");
    let kind: "buy" | "rent";
    if (rent.length > 0 && buy.length > 0) {
      const pBuy = 0.12 + 0.25 * (1 - ps) + (interest > 0.8 ? 0.08 : 0);
      kind = rng.chance(pBuy) ? "buy" : "rent";
    } else if (rent.length > 0) kind = "rent";
    else if (buy.length > 0 && rng.chance(0.75 - 0.5 * ps)) kind = "buy";
    else return undefined;

    const listed = kind === "buy" ? buy : rent;
    const prefs = QUALITY_PREFS[this.device];
    const weights = listed.map((o) => {
      const w = prefs[QUALITY_RANK[o.quality]] as number;
      return o.quality === "SD" ? w * (0.5 + ps) : o.quality === "4K" ? w * (1.3 - ps) : w;
    });
    const offer = rng.weightedPick(listed, weights);
    this.step(8, 60);
    const order = {
      order_id: `o${rng.hex(16)}`,
      quality: offer.quality,
      amount_minor: offer.price_minor,
      currency: offer.currency,
    };
    if (kind === "rent") {
      const expiresAt = this.t + RENTAL_MS;
      this.emit("rental_start", item, { page }, { ...order, expires_at: isoTime(expiresAt) });
      const ent: Entitlement = { kind, quality: offer.quality, expiresAt };
      this.entitlements.set(item, ent);
      return ent;
    }
    this.emit("purchase", item, { page }, order);
    if (rng.chance(0.012)) {
      // Bought by mistake: refunded a few minutes later, and the title is no longer owned.
      this.step(60, 900);
      this.emit(
        "refund",
        item,
        { page },
        {
          order_id: order.order_id,
          amount_minor: order.amount_minor,
          currency: order.currency,
          reason: rng.pick(["accidental purchase", "wrong quality", "duplicate purchase"]),
        },
      );
      this.entitlements.delete(item);
      return undefined;
    }
    const ent: Entitlement = { kind, quality: offer.quality, expiresAt: Number.POSITIVE_INFINITY };
    this.entitlements.set(item, ent);
    return ent;
  }

  private play(item: number, ent: Entitlement, page: string, from: number, interest: number): void {
    const rng = this.rng;
    const duration = this.title(item).runtime_min * 60;
    const start = from >= duration - 60 ? 0 : from;
    const quality: Quality = this.device === "phone" && ent.quality === "4K" ? "HD" : ent.quality;
    const playback = { playback_id: `p${rng.hex(12)}`, quality };
    this.emit("play_start", item, { page }, { ...playback, position_s: start });
    const t0 = this.t;
    // Watching takes a little longer than the film: pauses, buffering.
    const slack = rng.uniform(1.0, 1.12);
    const finishes = rng.chance(0.3 + 0.6 * interest);
    const stop = finishes ? duration : Math.round(start + (duration - start) * (0.03 + 0.9 * rng.next() ** 1.4));
    for (const q of [0.25, 0.5, 0.75]) {
      const pos = Math.round(q * duration);
      if (pos <= start || pos >= stop) continue;
      this.t = Math.max(this.t + 1, t0 + Math.round((pos - start) * SECOND * slack));
      this.emit("play_progress", item, { page }, { ...playback, position_s: pos, duration_s: duration });
    }
    this.t = Math.max(this.t + 1, t0 + Math.round((stop - start) * SECOND * slack));
    if (finishes) {
      this.emit("play_complete", item, { page }, { ...playback, watched_s: duration - start, duration_s: duration });
      this.watched.add(item);
      this.inProgress.delete(item);
      if (!this.rated.has(item) && rng.chance(0.22 + 0.25 * Math.abs(interest - 0.5))) this.rate(item, interest, page);
    } else {
      this.inProgress.delete(item);
      this.inProgress.set(item, stop);
      if (!this.rated.has(item) && interest < 0.3 && rng.chance(0.06)) this.rate(item, interest * 0.5, page);
    }
  }

  /** Stars follow the taste: a title in a favourite genre gets 4–5, one outside it 1–3. */
  private rate(item: number, interest: number, page: string): void {
    const rng = this.rng;
    const pop = (this.index.popularity[item] as number) ** 0.3;
    const v = rng.normal(0.9 + 3.2 * interest + 0.6 * (pop - 0.3), 0.75);
    const stepped = rng.chance(0.65) ? Math.round(v) : Math.round(v * 2) / 2;
    this.step(3, 30);
    this.emit("rating", item, { page }, { value: Math.min(5, Math.max(0.5, stepped)) });
    this.rated.add(item);
  }

  // --- plumbing ---

  private title(item: number): SeedTitle {
    return this.index.titles[item] as SeedTitle;
  }

  private id(item: number): string {
    return this.title(item).id;
  }

  /** Advance the clock by a uniform number of seconds. */
  private step(minS: number, maxS: number): void {
    this.t += Math.round(this.rng.uniform(minS, maxS) * SECOND);
  }

  /**
   * Append an event at the current time. Events past the end of the window are dropped; since
   * everything an event depends on happened earlier, the invariants survive the cut.
   */
  private emit<T extends EventType>(
    type: T,
    item: number | undefined,
    where: Omit<EventContext, "device">,
    payload: EventOf<T>["payload"],
  ): void {
    if (this.t <= this.lastT) this.t = this.lastT + 1;
    if (this.t >= this.end) return;
    this.lastT = this.t;
    const rng = this.rng;
    const delay = rng.chance(0.004) ? rng.int(5 * SECOND, 10 * MINUTE) : 20 + Math.round(rng.logNormal(4.6, 0.7));
    // Two literal shapes (with and without item_id) keep the objects monomorphic and cheap.
    const event =
      item === undefined
        ? {
            event_id: uuidV7At(this.t, rng),
            type,
            occurred_at: isoTime(this.t),
            user_id: this.user.id,
            session_id: this.sessionId,
            context: { device: this.device, ...where },
            payload,
            received_at: isoTime(this.t + delay),
          }
        : {
            event_id: uuidV7At(this.t, rng),
            type,
            occurred_at: isoTime(this.t),
            user_id: this.user.id,
            session_id: this.sessionId,
            item_id: this.id(item),
            context: { device: this.device, ...where },
            payload,
            received_at: isoTime(this.t + delay),
          };
    this.events.push(event as unknown as CollectedEvent);
  }
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
