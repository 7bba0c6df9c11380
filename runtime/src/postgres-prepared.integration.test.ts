import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { loadConfig } from "./config.ts";
import { createPostgres, runPrepared } from "./postgres.ts";
import { serviceSuite } from "./testing.ts";

const square = (n: number) => sql`select ${n}::int * ${n}::int as sq`;

it("runPrepared answers rows on PGlite (a plain query)", async () => {
  const pg = await createPostgres(loadConfig({}), {}, { inMemory: true });
  try {
    expect(await runPrepared<{ sq: number }>(pg.db, square(7))).toEqual([{ sq: 49 }]);
  } finally {
    await pg.close();
  }
});

serviceSuite("Postgres prepared statements", process.env.TEST_DATABASE_URL, (url) => {
  it("runPrepared names the statement on a server and gives the same rows, again and again", async () => {
    const pg = await createPostgres(loadConfig({ DATABASE_URL: url }), {});
    try {
      for (const n of [3, 4, 5]) expect(await runPrepared<{ sq: number }>(pg.db, square(n))).toEqual([{ sq: n * n }]);
      const named = await pg.db.execute(
        sql`select count(*)::int as n from pg_prepared_statements where name like 'mq_%'`,
      );
      expect((named as unknown as { rows: { n: number }[] }).rows[0]?.n).toBeGreaterThan(0);
    } finally {
      await pg.close();
    }
  });
});
