import { type ClickHouseClient, clickHouseTime } from "@marquee/runtime";
import { WEIGHTED_TYPES, weightSql } from "./weights.ts";

/**
 * Implicit feedback aggregated per (actor, title), as parallel typed arrays sorted by actor:
 * entry k says actor `users[userIdx[k]]` showed `weight[k]` interest in `items[itemIdx[k]]`,
 * last at `lastAt[k]` (epoch ms). Weights are time-decayed; a net negative weight means the
 * viewer turned the title down.
 */
export interface InteractionMatrix {
  users: string[];
  items: string[];
  userIdx: Uint32Array;
  itemIdx: Uint32Array;
  weight: Float32Array;
  lastAt: Float64Array;
  /** Only events strictly before this time were used (point-in-time correctness). */
  until: Date;
}

/**
 * Decay is measured back from the newest event before `until`, not from the wall clock: in a
 * live store the two agree, and an imported data set (MovieLens ends in 2018 or earlier) keeps
 * its relative weights instead of decaying to zero.
 */
const referenceTime = () =>
  `(SELECT coalesce(max(occurred_at), {until:DateTime64(3, 'UTC')}) FROM events WHERE occurred_at < {until:DateTime64(3, 'UTC')})`;

const typesList = () => WEIGHTED_TYPES.map((t) => `'${t}'`).join(",");

/**
 * Read the interaction matrix from ClickHouse. `until` bounds the data (nothing at or after it
 * is read), `halfLifeDays` sets the time decay relative to `until`.
 */
export async function loadInteractions(
  client: ClickHouseClient,
  options: { until?: Date; halfLifeDays?: number; items?: readonly string[] } = {},
): Promise<InteractionMatrix> {
  const until = options.until ?? new Date();
  const halfLife = options.halfLifeDays ?? 60;
  const rs = await client.query({
    query: `
      WITH ${referenceTime()} AS ref
      SELECT actor_id, item_id,
             sum(${weightSql()} * pow(2, -((toUnixTimestamp64Milli(ref) - toUnixTimestamp64Milli(occurred_at)) / 86400000) / {half:Float64})) AS weight,
             toUnixTimestamp64Milli(max(occurred_at)) AS last_ms
      FROM events
      WHERE item_id != '' AND type IN (${typesList()}) AND occurred_at < {until:DateTime64(3, 'UTC')}
      GROUP BY actor_id, item_id
      ORDER BY actor_id, item_id`,
    query_params: { until: clickHouseTime(until), half: halfLife },
    format: "JSONCompactEachRow",
  });
  const itemIndex = new Map<string, number>();
  const items: string[] = [];
  if (options.items) for (const id of options.items) itemIndex.set(id, items.push(id) - 1);
  const users: string[] = [];
  let cap = 1 << 16;
  let userIdx = new Uint32Array(cap);
  let itemIdx = new Uint32Array(cap);
  let weight = new Float32Array(cap);
  let lastAt = new Float64Array(cap);
  let n = 0;
  let lastUser = "";
  for await (const chunk of rs.stream()) {
    for (const row of chunk) {
      const [actor, item, w, last] = row.json<[string, string, number, number]>();
      let ii = itemIndex.get(item);
      if (ii === undefined) {
        if (options.items) continue; // restricted to a known catalogue
        ii = items.push(item) - 1;
        itemIndex.set(item, ii);
      }
      if (actor !== lastUser || users.length === 0) {
        users.push(actor);
        lastUser = actor;
      }
      if (n === cap) {
        cap *= 2;
        userIdx = grow(userIdx, cap);
        itemIdx = grow(itemIdx, cap);
        weight = grow(weight, cap);
        lastAt = grow(lastAt, cap);
      }
      userIdx[n] = users.length - 1;
      itemIdx[n] = ii;
      weight[n] = Number(w);
      lastAt[n] = Number(last);
      n++;
    }
  }
  return {
    users,
    items,
    userIdx: userIdx.slice(0, n),
    itemIdx: itemIdx.slice(0, n),
    weight: weight.slice(0, n),
    lastAt: lastAt.slice(0, n),
    until,
  };
}

function grow<T extends Uint32Array | Float32Array | Float64Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}

export interface ItemActivity {
  item_id: string;
  /** Interest decayed with a short half-life: what is hot now. */
  trending: number;
  /** Interest decayed with a long half-life: what people like overall. */
  popular: number;
  viewers: number;
}

/**
 * The most one actor can add to one title's popularity (trending and popular each, after
 * decay): about a purchase and a full watch (5 + 3 + 2). Popularity is "how many people
 * want this", so a thousand events from one visitor (a script, a forged browser, a viewer
 * scrubbing back and forth) count as one engaged viewer, not a thousand. Twenty viewers who
 * each clicked once (20 × 0.75) already outweigh it.
 */
export const MAX_ACTOR_TITLE_WEIGHT = 10;

/**
 * Per-title popularity signals, point-in-time at `until`. Negative signals are left out.
 * Each actor's decayed interest in a title is summed first and capped at
 * MAX_ACTOR_TITLE_WEIGHT, then the capped values are summed per title.
 */
export async function loadItemActivity(
  client: ClickHouseClient,
  options: {
    until?: Date;
    trendingHalfLifeDays?: number;
    popularHalfLifeDays?: number;
    maxActorWeight?: number;
  } = {},
): Promise<ItemActivity[]> {
  const until = options.until ?? new Date();
  const rs = await client.query({
    query: `
      SELECT item_id,
             sum(least(actor_trending, {cap:Float64})) AS trending,
             sum(least(actor_popular, {cap:Float64})) AS popular,
             count() AS viewers
      FROM (
        WITH ${referenceTime()} AS ref,
             (toUnixTimestamp64Milli(ref) - toUnixTimestamp64Milli(occurred_at)) / 86400000 AS age_days
        SELECT item_id, actor_id,
               sum(${weightSql()} * pow(2, -age_days / {th:Float64})) AS actor_trending,
               sum(${weightSql()} * pow(2, -age_days / {ph:Float64})) AS actor_popular
        FROM events
        WHERE item_id != '' AND type IN (${typesList()}) AND type != 'not_interested'
          AND occurred_at < {until:DateTime64(3, 'UTC')}
        GROUP BY item_id, actor_id
      )
      GROUP BY item_id`,
    query_params: {
      until: clickHouseTime(until),
      th: options.trendingHalfLifeDays ?? 3,
      ph: options.popularHalfLifeDays ?? 45,
      cap: options.maxActorWeight ?? MAX_ACTOR_TITLE_WEIGHT,
    },
    format: "JSONEachRow",
  });
  return (await rs.json<ItemActivity>()).map((r) => ({
    item_id: r.item_id,
    trending: Number(r.trending),
    popular: Number(r.popular),
    viewers: Number(r.viewers),
  }));
}
