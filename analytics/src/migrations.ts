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
  {
    id: "0003_events_source_offsets",
    statements: [
      // Where a row came from on Kafka (topic, partition, offset; '' / -1 for rows that did not
      // come through Kafka). The loader reads the highest offset stored per partition after a
      // restart and skips what is already here, so a replay whose batches are cut differently
      // from the first attempt (and so carry other deduplication tokens) still adds nothing.
      `ALTER TABLE events
        ADD COLUMN IF NOT EXISTS source_topic LowCardinality(String) DEFAULT '',
        ADD COLUMN IF NOT EXISTS source_partition Int32 DEFAULT -1,
        ADD COLUMN IF NOT EXISTS source_offset Int64 DEFAULT -1`,
    ],
  },
  {
    id: "0004_title_daily_counts",
    statements: [
      // Events per title, day and type: what dashboards, trending and sellers' reports read
      // instead of scanning events. SummingMergeTree adds up rows with the same key on merge,
      // so readers still sum(): SELECT sum(events) ... GROUP BY. Views see every insert into
      // events, retried ones included: inserts that carry a deduplication token must also set
      // deduplicate_blocks_in_dependent_materialized_views = 1, and the view's table keeps a
      // deduplication window of its own, or a retried batch is counted twice here.
      `CREATE TABLE IF NOT EXISTS title_daily_counts (
        item_id String,
        day Date,
        type LowCardinality(String),
        events UInt64
      ) ENGINE = SummingMergeTree
      PARTITION BY toYYYYMM(day)
      ORDER BY (item_id, day, type)
      SETTINGS non_replicated_deduplication_window = 10000`,
      // Backfill before the view exists, and only into an empty table: nothing else writes
      // while migrations run, and a rerun after a crash between the two statements is a no-op.
      `INSERT INTO title_daily_counts
        SELECT item_id, toDate(occurred_at) AS day, type, count() AS events
        FROM events
        WHERE item_id != '' AND (SELECT count() FROM title_daily_counts) = 0
        GROUP BY item_id, day, type`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS title_daily_counts_mv TO title_daily_counts AS
        SELECT item_id, toDate(occurred_at) AS day, type, count() AS events
        FROM events
        WHERE item_id != ''
        GROUP BY item_id, day, type`,
    ],
  },
  {
    id: "0005_actor_recent_items",
    statements: [
      // Each viewer's history, one row per (title, interaction type) with its latest time:
      // the offline twin of the online store's recent list, for read-through and training.
      // Impressions are left out (the bulk of traffic, little signal). 180 days kept.
      `CREATE TABLE IF NOT EXISTS actor_recent_items (
        actor_id String,
        item_id String,
        type LowCardinality(String),
        last_at DateTime64(3, 'UTC'),
        value Float32
      ) ENGINE = ReplacingMergeTree(last_at)
      ORDER BY (actor_id, item_id, type)
      TTL toDateTime(last_at) + INTERVAL 180 DAY
      SETTINGS non_replicated_deduplication_window = 10000`,
      `INSERT INTO actor_recent_items
        SELECT actor_id, item_id, type, max(occurred_at) AS last_at,
          argMax(toFloat32(JSONExtractFloat(payload, 'value')), occurred_at) AS value
        FROM events
        WHERE item_id != '' AND type != 'impression' AND (SELECT count() FROM actor_recent_items) = 0
        GROUP BY actor_id, item_id, type`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS actor_recent_items_mv TO actor_recent_items AS
        SELECT actor_id, item_id, type, max(occurred_at) AS last_at,
          argMax(toFloat32(JSONExtractFloat(payload, 'value')), occurred_at) AS value
        FROM events
        WHERE item_id != '' AND type != 'impression'
        GROUP BY actor_id, item_id, type`,
    ],
  },
  {
    id: "0006_event_ids",
    statements: [
      // Every stored event id, once: the loader asks it which ids of an insert are already
      // stored and leaves those out, so a client's retry (same ids, in another request, with
      // other neighbours) is counted once in events and in every view over it. Kept as
      // lower-case text because UUIDv7 text sorts by time, so one insert's ids sit together in
      // the primary index (ClickHouse sorts UUID values by their second, random half), and a
      // lookup reads a few granules of the newest parts.
      `CREATE TABLE IF NOT EXISTS event_ids (
        event_id String
      ) ENGINE = ReplacingMergeTree
      ORDER BY event_id
      SETTINGS non_replicated_deduplication_window = 10000`,
      // Existing stores: the ids already there, before the view exists (nothing else writes
      // while migrations run; a rerun after a crash between the two statements adds nothing).
      `INSERT INTO event_ids
        SELECT DISTINCT toString(event_id) AS event_id FROM events
        WHERE (SELECT count() FROM event_ids) = 0`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS event_ids_mv TO event_ids AS
        SELECT toString(event_id) AS event_id FROM events`,
    ],
  },
  {
    id: "0007_titles_regions_published_at",
    statements: [
      // The titles dimension as serving's rows need it, kept current from catalog.titles.v1:
      // where a title may be sold, and when it became published (New releases), carried over
      // from version to version by upsertTitleDimension (NULL: not known, mirrored earlier).
      // updated_at stays the ReplacingMergeTree's version: the catalogue's own change time.
      `ALTER TABLE titles
        ADD COLUMN IF NOT EXISTS regions Array(LowCardinality(String)) DEFAULT [],
        ADD COLUMN IF NOT EXISTS published_at Nullable(DateTime64(3, 'UTC'))`,
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
