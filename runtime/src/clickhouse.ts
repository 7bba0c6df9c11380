import { mkdirSync } from "node:fs";
import path from "node:path";
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import type { Config } from "./config.ts";

export type { ClickHouseClient } from "@clickhouse/client";

/**
 * Settings both engines must share so results look the same: 64-bit integers as JSON numbers,
 * lenient date parsing for inserts.
 */
export const CLICKHOUSE_SETTINGS = {
  output_format_json_quote_64bit_integers: 0,
  date_time_input_format: "best_effort",
} as const;

export interface ClickHouseHandle {
  readonly client: ClickHouseClient;
  readonly kind: "chdb" | "server";
  readonly database: string;
  close(): Promise<void>;
}

type ChdbConfig = Pick<
  Config,
  "CLICKHOUSE_URL" | "CLICKHOUSE_USER" | "CLICKHOUSE_PASSWORD" | "CLICKHOUSE_DATABASE" | "dataDir"
>;

/**
 * ClickHouse through @clickhouse/client: a server when CLICKHOUSE_URL is set, otherwise the
 * chDB engine in-process with its files in $DATA_DIR/clickhouse. chDB binds one data directory
 * per process, so only one handle per process may be open on it.
 */
export async function createClickHouse(config: ChdbConfig): Promise<ClickHouseHandle> {
  const database = config.CLICKHOUSE_DATABASE;
  if (config.CLICKHOUSE_URL) {
    const admin = createClient({
      url: config.CLICKHOUSE_URL,
      username: config.CLICKHOUSE_USER,
      password: config.CLICKHOUSE_PASSWORD,
    });
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    await admin.close();
    const client = createClient({
      url: config.CLICKHOUSE_URL,
      username: config.CLICKHOUSE_USER,
      password: config.CLICKHOUSE_PASSWORD,
      database,
      clickhouse_settings: CLICKHOUSE_SETTINGS,
    });
    return { client, kind: "server", database, close: () => client.close() };
  }
  const dir = path.join(config.dataDir, "clickhouse");
  mkdirSync(dir, { recursive: true });
  const { createChdbConnection } = await import("chdb/connection");
  const client = createClient({
    connection: createChdbConnection({ path: dir }),
    clickhouse_settings: CLICKHOUSE_SETTINGS,
  } as Parameters<typeof createClient>[0]);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  // chDB keeps one session: make the store's database the current one for every statement.
  await client.command({ query: `USE ${database}` });
  return { client, kind: "chdb", database, close: () => client.close() };
}

/** ClickHouse DateTime64(3) text in UTC, e.g. '2026-11-25 18:00:00.123', for inserts and parameters. */
export function clickHouseTime(at: string | number | Date): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) throw new Error(`invalid time ${String(at)}`);
  return d.toISOString().replace("T", " ").replace("Z", "");
}

/** A deduplication token as it can go into a statement: letters, digits and `._:-` only. */
export function safeDedupToken(token: string): string {
  return token.replace(/[^A-Za-z0-9._:-]/g, "_");
}

/**
 * The SETTINGS clause that makes an INSERT idempotent by `token`: ClickHouse drops a later insert
 * with the same token (within the table's deduplication window), in the tables of views fed by it
 * too. It goes in the statement (`INSERT INTO t SETTINGS … FORMAT …`, or after the table name of
 * client.insert), never in clickhouse_settings: chDB applies those as a session-wide SET, which
 * would leave the token on every later insert of the process and silently drop them as duplicates.
 */
export function dedupSettings(token: string): string {
  return (
    `SETTINGS insert_deduplication_token = '${safeDedupToken(token)}', ` +
    "deduplicate_blocks_in_dependent_materialized_views = 1"
  );
}
