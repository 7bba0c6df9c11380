import { runPrepared } from "@marquee/runtime";
import type { SQL } from "drizzle-orm";
import type { CommerceDb } from "./catalog.ts";

/**
 * Run one of the purchase path's hand-written statements and return its rows: a named prepared
 * statement on a Postgres server, a plain query on PGlite (runtime's runPrepared decides).
 */
export function runStatement<T>(db: CommerceDb, statement: SQL): Promise<T[]> {
  return runPrepared<T>(db, statement);
}
