import type { ClickHouseClient } from "@marquee/runtime";

/** Event counts by type, for health pages and tests. */
export async function countEventsByType(client: ClickHouseClient): Promise<Record<string, number>> {
  const rs = await client.query({
    query: "SELECT type, count() AS n FROM events GROUP BY type ORDER BY type",
    format: "JSONEachRow",
  });
  return Object.fromEntries((await rs.json<{ type: string; n: number }>()).map((r) => [r.type, Number(r.n)]));
}

/** Total rows and distinct event ids: equal when nothing was stored twice. */
export async function eventTotals(client: ClickHouseClient): Promise<{ rows: number; unique: number }> {
  const rs = await client.query({
    query: "SELECT count() AS rows, uniqExact(event_id) AS unique FROM events",
    format: "JSONEachRow",
  });
  const [r] = await rs.json<{ rows: number; unique: number }>();
  return { rows: Number(r?.rows ?? 0), unique: Number(r?.unique ?? 0) };
}

/** Events per day and type for one title (from the title_daily_counts view), oldest day first. */
export async function titleDailyCounts(
  client: ClickHouseClient,
  itemId: string,
  options: { days?: number } = {},
): Promise<{ day: string; type: string; events: number }[]> {
  const rs = await client.query({
    query: `SELECT toString(d) AS day, type, sum(events) AS events
            FROM (SELECT day AS d, type, events FROM title_daily_counts
                  WHERE item_id = {item:String} AND day >= today() - {days:UInt32})
            GROUP BY d, type ORDER BY d, type`,
    query_params: { item: itemId, days: options.days ?? 30 },
    format: "JSONEachRow",
  });
  return (await rs.json<{ day: string; type: string; events: number }>()).map((r) => ({
    ...r,
    events: Number(r.events),
  }));
}

/** One viewer's latest interaction per title and type (from actor_recent_items), newest first. */
export async function actorRecentItems(
  client: ClickHouseClient,
  actorId: string,
  limit = 100,
): Promise<{ item_id: string; type: string; at: number; value: number }[]> {
  const rs = await client.query({
    query: `SELECT item_id, type, toUnixTimestamp64Milli(max(last_at)) AS at, argMax(value, last_at) AS value
            FROM actor_recent_items
            WHERE actor_id = {actor:String}
            GROUP BY item_id, type ORDER BY at DESC LIMIT {limit:UInt32}`,
    query_params: { actor: actorId, limit },
    format: "JSONEachRow",
  });
  return (await rs.json<{ item_id: string; type: string; at: number; value: number }>()).map((r) => ({
    ...r,
    at: Number(r.at),
    value: Number(r.value),
  }));
}
