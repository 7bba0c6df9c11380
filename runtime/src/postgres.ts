import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { SQL } from "drizzle-orm";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { migrate as migratePg } from "drizzle-orm/node-postgres/migrator";
import { type PgDatabase, PgDialect, type PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import pg from "pg";
import type { Config } from "./config.ts";

// biome-ignore lint/suspicious/noExplicitAny: the query-result kind differs between drivers; callers only use the shared query builder.
export type Database<S extends Record<string, unknown> = Record<string, never>> = PgDatabase<PgQueryResultHKT & any, S>;

export interface PostgresHandle<S extends Record<string, unknown>> {
  readonly db: Database<S>;
  readonly kind: "pglite" | "server";
  /**
   * Apply the drizzle-kit migrations in `folder` (idempotent: applied ones are skipped).
   * `table` is drizzle's bookkeeping table (default `__drizzle_migrations`): a workspace with
   * its own migrations on the same database (media) needs its own, because drizzle applies only
   * migrations newer than the newest one recorded there.
   */
  migrate(folder: string, options?: { table?: string }): Promise<void>;
  close(): Promise<void>;
}

/**
 * The rows of `db.execute(sql)`: node-postgres answers a QueryResult (`.rows`), PGlite's
 * driver an object with `.rows` too, other drivers an array. One place knows.
 */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : ((result as { rows?: T[] }).rows ?? [])) as T[];
}

const dialect = new PgDialect();

interface PoolLike {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
  totalCount: number;
}

/** node-postgres's pool behind a drizzle db (a server), or null (PGlite, or a transaction's db). */
function poolOf(db: unknown): PoolLike | null {
  const client = (db as { $client?: Partial<PoolLike> }).$client;
  return client && typeof client.query === "function" && typeof client.totalCount === "number"
    ? (client as PoolLike)
    : null;
}

/**
 * Run a hand-written statement and return its rows. On a Postgres server each distinct text
 * becomes a named prepared statement (parsed and planned once per connection, not per call:
 * multi-CTE statements cost more to plan than to run); on PGlite it is a plain query. Results
 * are the same either way. This is the one place that tells the drivers apart for it.
 */
// biome-ignore lint/suspicious/noExplicitAny: any drizzle Postgres db, whatever its schema.
export async function runPrepared<T>(db: Database<any>, statement: SQL): Promise<T[]> {
  const pool = poolOf(db);
  if (pool) {
    const q = dialect.sqlToQuery(statement);
    const name = `mq_${createHash("sha1").update(q.sql).digest("hex").slice(0, 24)}`;
    return (await pool.query({ name, text: q.sql, values: q.params })).rows as T[];
  }
  return rowsOf<T>(await db.execute(statement));
}

/**
 * Postgres through Drizzle: a real server when DATABASE_URL is set, otherwise PGlite (Postgres
 * compiled to WASM) with its files in $DATA_DIR/pg. The domain code sees the same `db` either way.
 */
export async function createPostgres<S extends Record<string, unknown>>(
  config: Pick<Config, "DATABASE_URL" | "dataDir">,
  schema: S,
  options: { inMemory?: boolean; onIdleError?: (err: Error) => void } = {},
): Promise<PostgresHandle<S>> {
  if (config.DATABASE_URL) {
    const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 10 });
    // An idle connection the server drops (a restart, an admin terminating backends) is an
    // 'error' on the pool; unheard, it would crash the process. The pool discards that client
    // and opens a new one when next needed, so there is nothing to do but say so.
    pool.on("error", (err) => options.onIdleError?.(err));
    const db = drizzlePg(pool, { schema });
    return {
      db: db as unknown as Database<S>,
      kind: "server",
      migrate: (folder, o) => migratePg(db, { migrationsFolder: folder, migrationsTable: o?.table }),
      close: () => pool.end(),
    };
  }
  let client: PGlite;
  if (options.inMemory) {
    client = new PGlite();
  } else {
    const dir = path.join(config.dataDir, "pg");
    mkdirSync(dir, { recursive: true });
    client = new PGlite(dir);
  }
  await client.waitReady;
  const db = drizzlePglite(client, { schema });
  return {
    db: db as unknown as Database<S>,
    kind: "pglite",
    migrate: (folder, o) => migratePglite(db, { migrationsFolder: folder, migrationsTable: o?.table }),
    close: () => client.close(),
  };
}
