import type { ClickHouseClient, OnlineStore, RecentInteraction } from "@marquee/runtime";
import { interactionWeight, WEIGHTED_TYPES } from "./weights.ts";

/** A viewer's taste right now, from their recent interactions, for ranking at request time. */
export interface UserProfile {
  /** Title → decayed interest, strongest signals and most recent first in weight. */
  positives: Map<string, number>;
  /** Titles the viewer turned down: never recommend them. */
  negatives: Set<string>;
  /** The most recent title with real interest (play, rent, buy, click...), for "Because you watched". */
  anchor: string | null;
  /**
   * Every title in `positives`, most recently engaged first: where "Because you watched" looks
   * when the anchor may not be shown (a kids' profile on an account whose latest title is
   * above its limit, a title since withdrawn).
   */
  recentPositives: string[];
  interactions: number;
  /** Titles the viewer played, bought, rented or rated (not only looked at): "Because you watched". */
  watched: Set<string>;
  /** Titles the viewer bought, or rented within RENTAL_WINDOW_MS, and did not have refunded. */
  owned: Set<string>;
  /**
   * Titles started and not finished (latest progress between 2 % and 92 %, no completion
   * since), most recently watched first: Continue watching.
   */
  inProgress: { id: string; fraction: number; at: number }[];
}

/** A rental plays for 48 hours after it starts; it counts as owned in that window. */
const RENTAL_WINDOW_MS = 48 * 3_600_000;
const STARTED = 0.02;
const WATCHING = new Set(["play_start", "play_progress", "play_complete", "purchase", "rental_start", "rating"]);
const FINISHED = 0.92;

const HISTORY_LIMIT = 100;
/** What a profile reads: the weighted interactions, and refunds (which end ownership). */
const HISTORY_TYPES = [...WEIGHTED_TYPES, "refund"];
/** Recent interest counts more: interest halves every 7 days. */
const RECENCY_HALF_LIFE_MS = 7 * 86_400_000;

/**
 * Online features for serving: reads the online store; the first time an actor with nothing
 * there is asked for in this process, their recent history is read from ClickHouse
 * (read-through), so a restart of the embedded store (memory) or a Redis flush does not make a
 * returning viewer look new. An actor with history in the online store is taken as complete
 * (the loader appends every event there). Stays bounded: the "hydrated" set forgets the
 * oldest actors first.
 */
export class OnlineFeatures {
  private readonly hydrated = new Map<string, true>();

  constructor(
    private readonly store: OnlineStore,
    private readonly clickhouse: ClickHouseClient | null,
    private readonly options: { maxHydrated?: number } = {},
  ) {}

  async recent(actorId: string): Promise<RecentInteraction[]> {
    if (this.clickhouse && !this.hydrated.has(actorId)) {
      // The loader appends every event to the online store: a viewer with history there needs
      // no ClickHouse read (a request must not wait on a query for each new visitor it sees).
      const held = await this.store.recent(actorId, HISTORY_LIMIT);
      if (held.length > 0) {
        this.markHydrated(actorId);
        return held;
      }
      this.markHydrated(actorId);
      const rs = await this.clickhouse.query({
        query: `SELECT item_id, type, toUnixTimestamp64Milli(occurred_at) AS at,
                       multiIf(type = 'rating', JSONExtractFloat(payload, 'value'),
                               type = 'play_progress' AND JSONExtractFloat(payload, 'duration_s') > 0,
                               least(1, JSONExtractFloat(payload, 'position_s') / JSONExtractFloat(payload, 'duration_s')),
                               type = 'play_complete' AND JSONExtractFloat(payload, 'duration_s') > 0,
                               least(1, JSONExtractFloat(payload, 'watched_s') / JSONExtractFloat(payload, 'duration_s')),
                               NULL) AS value
                FROM events
                WHERE actor_id = {actor:String} AND item_id != '' AND type IN ({types:Array(String)})
                ORDER BY occurred_at DESC LIMIT {limit:UInt32}`,
        query_params: { actor: actorId, types: HISTORY_TYPES, limit: HISTORY_LIMIT },
        format: "JSONEachRow",
      });
      const rows = await rs.json<{ item_id: string; type: string; at: number; value: number | null }>();
      await this.store.append(
        actorId,
        rows.map((r) => ({
          item_id: r.item_id,
          type: r.type,
          at: Number(r.at),
          ...(r.value === null ? {} : { value: Number(r.value) }),
        })),
      );
    }
    return this.store.recent(actorId, HISTORY_LIMIT);
  }

  async profile(actorId: string, now = Date.now()): Promise<UserProfile> {
    return buildProfile(await this.recent(actorId), now);
  }

  private markHydrated(actorId: string): void {
    this.hydrated.set(actorId, true);
    const max = this.options.maxHydrated ?? 200_000;
    if (this.hydrated.size > max) this.hydrated.delete(this.hydrated.keys().next().value as string);
  }
}

/** Pure: recent interactions (any order) → profile. */
export function buildProfile(recent: RecentInteraction[], now = Date.now()): UserProfile {
  const net = new Map<string, number>();
  /** Per title, its latest interaction with positive weight (epoch ms). */
  const lastPositive = new Map<string, number>();
  for (const r of recent) {
    const w = interactionWeight(r.type, r.value);
    if (w === 0) continue;
    const decay = 2 ** (-Math.max(0, now - r.at) / RECENCY_HALF_LIFE_MS);
    net.set(r.item_id, (net.get(r.item_id) ?? 0) + w * decay);
    if (w > 0 && r.at > (lastPositive.get(r.item_id) ?? -Infinity)) lastPositive.set(r.item_id, r.at);
  }
  const positives = new Map<string, number>();
  const negatives = new Set<string>();
  for (const [item, w] of net) {
    if (w > 0) positives.set(item, w);
    else negatives.add(item);
  }
  // Latest first; ties (one batch of events at the same instant) by id, so the order is stable.
  const recentPositives = [...positives.keys()].sort(
    (a, b) => (lastPositive.get(b) ?? 0) - (lastPositive.get(a) ?? 0) || (a < b ? -1 : 1),
  );
  // The anchor is the latest title with real interest, unless the viewer has since turned it down.
  let anchor: string | null = null;
  let anchorAt = -Infinity;
  for (const [item, at] of lastPositive) {
    if (at > anchorAt) [anchor, anchorAt] = [item, at];
  }
  if (anchor !== null && negatives.has(anchor)) anchor = null;
  return { positives, negatives, anchor, recentPositives, interactions: recent.length, ...ownership(recent, now) };
}

/** What the viewer owns now and what they are in the middle of, from the same history. */
function ownership(recent: RecentInteraction[], now: number): Pick<UserProfile, "owned" | "inProgress" | "watched"> {
  const sorted = [...recent].sort((a, b) => a.at - b.at);
  const owned = new Set<string>();
  const watched = new Set<string>();
  for (const r of sorted) if (WATCHING.has(r.type)) watched.add(r.item_id);
  const progress = new Map<string, { fraction: number; at: number }>();
  for (const r of sorted) {
    if (r.type === "purchase") owned.add(r.item_id);
    else if (r.type === "rental_start" && now - r.at < RENTAL_WINDOW_MS) owned.add(r.item_id);
    else if (r.type === "refund") owned.delete(r.item_id);
    else if (r.type === "play_complete") progress.set(r.item_id, { fraction: 1, at: r.at });
    else if (r.type === "play_progress" && r.value !== undefined)
      progress.set(r.item_id, { fraction: r.value, at: r.at });
  }
  const inProgress = [...progress]
    .filter(([, p]) => p.fraction >= STARTED && p.fraction <= FINISHED)
    .map(([id, p]) => ({ id, ...p }))
    .sort((a, b) => b.at - a.at || (a.id < b.id ? -1 : 1));
  return { owned, inProgress, watched };
}

/** A published title as serving's catalogue index holds it (serving's CatalogTitle). */
export interface ServingTitle {
  id: string;
  title: string;
  genres: string[];
  year: number;
  age_rating: string;
  /** Regions it is sold in; empty: everywhere. */
  regions: string[];
  /** When its current publication started (ClickHouse UTC time). */
  published_at: string;
}

/**
 * The published catalogue from ClickHouse's `titles` dimension (mirrored from commerce's
 * catalog.titles.v1), for serving's rows: current name, genres, year, rating and regions;
 * withdrawn and unpublished titles are not in it. `published_at` is the dimension's own
 * (when the catalogue loader saw this publication start); for rows written without one (the
 * seeder's, older loaders'), the oldest version still stored as published.
 */
export async function loadServingTitles(client: ClickHouseClient): Promise<ServingTitle[]> {
  const rs = await client.query({
    query: `SELECT id, argMax(title, updated_at) AS title, argMax(genres, updated_at) AS genres,
                   argMax(year, updated_at) AS year, argMax(age_rating, updated_at) AS age_rating,
                   argMax(regions, updated_at) AS regions,
                   argMax(status, updated_at) AS current_status,
                   toString(coalesce(argMax(tuple(published_at), updated_at).1,
                                     minIf(updated_at, status = 'published'))) AS published_at
            FROM titles GROUP BY id HAVING current_status = 'published'`,
    format: "JSONEachRow",
  });
  return (await rs.json<ServingTitle & { current_status: string }>()).map((t) => ({
    id: t.id,
    title: t.title,
    genres: t.genres,
    year: Number(t.year),
    age_rating: t.age_rating,
    regions: t.regions,
    published_at: t.published_at,
  }));
}
