import { createHash } from "node:crypto";
import { rowsOf } from "@marquee/runtime";
import type { SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { CommerceDb } from "./catalog.ts";

const dialect = new PgDialect();

interface PoolLike {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
  totalCount: number;
}

function poolOf(db: CommerceDb): PoolLike | null {
  const client = (db as unknown as { $client?: Partial<PoolLike> }).$client;
  return client && typeof client.query === "function" && typeof client.totalCount === "number"
    ? (client as PoolLike)
    : null;
}

/**
 * Run one of the purchase path's hand-written statements and return its rows. On a Postgres
 * server each distinct text becomes a named prepared statement (parsed and planned once per
 * connection, not per purchase: these multi-CTE statements cost more to plan than to run);
 * on PGlite it is a plain query. Results are the same either way.
 */
export async function runStatement<T>(db: CommerceDb, statement: SQL): Promise<T[]> {
  const pool = poolOf(db);
  if (pool) {
    const q = dialect.sqlToQuery(statement);
    const name = `mq_${createHash("sha1").update(q.sql).digest("hex").slice(0, 24)}`;
    return (await pool.query({ name, text: q.sql, values: q.params })).rows as T[];
  }
  return rowsOf<T>(await db.execute(statement));
}
