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
