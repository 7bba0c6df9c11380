import type { ClickHouseClient } from "@marquee/runtime";

/**
 * ClickHouse schema changes, applied in order, each once. Every statement is idempotent
 * (IF NOT EXISTS), so a crash between a statement and its bookkeeping row is harmless.
 */
export interface ClickHouseMigration {
  id: string;
  statements: string[];
}

export const MIGRATIONS: ClickHouseMigration[] = [
  {
    id: "0001_events",
    statements: [
      // Partitioned by month so retention and time-bounded scans touch few parts; ordered by
      // actor then time because per-viewer history is the hottest read and training scans all.
      // The deduplication window makes a retried insert with the same token a no-op.
      `CREATE TABLE IF NOT EXISTS events (
        event_id UUID,
        type LowCardinality(String),
        occurred_at DateTime64(3, 'UTC'),
        received_at DateTime64(3, 'UTC'),
        user_id String,
        anonymous_id String,
        actor_id String,
        session_id String,
        item_id String,
        device LowCardinality(String),
        page String,
        row_id String,
        position Int32 DEFAULT -1,
        model_version LowCardinality(String),
        variant LowCardinality(String),
        payload String CODEC(ZSTD(3))
      ) ENGINE = MergeTree
      PARTITION BY toYYYYMM(occurred_at)
      ORDER BY (actor_id, occurred_at, event_id)
      SETTINGS non_replicated_deduplication_window = 10000`,
    ],
  },
  {
    id: "0002_titles",
    statements: [
      // The catalogue as analytics and the models see it, mirrored from Postgres: names for
      // explanations ("Because you watched ..."), genres and years as title features, and the
      // status so models recommend only what is on sale. Latest version per id wins.
      `CREATE TABLE IF NOT EXISTS titles (
        id String,
        title String,
        genres Array(LowCardinality(String)),
        year UInt16,
        age_rating LowCardinality(String),
        status LowCardinality(String),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at)
      ORDER BY id`,
    ],
  },
];

/** Apply pending migrations; returns the ids applied now. */
export async function migrateClickHouse(client: ClickHouseClient): Promise<string[]> {
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS schema_migrations (id String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
            ENGINE = ReplacingMergeTree ORDER BY id`,
  });
  const rs = await client.query({ query: "SELECT DISTINCT id FROM schema_migrations", format: "JSONEachRow" });
  const done = new Set((await rs.json<{ id: string }>()).map((r) => r.id));
  const applied: string[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.id)) continue;
    for (const statement of m.statements) await client.command({ query: statement });
    await client.insert({ table: "schema_migrations", values: [{ id: m.id }], format: "JSONEachRow" });
    applied.push(m.id);
  }
  return applied;
}
