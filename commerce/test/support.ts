import { createLogger, createPostgres, type PostgresHandle } from "@marquee/runtime";
import { sql } from "drizzle-orm";
import { Catalog, type TitleInput } from "../src/catalog.ts";
import { Commerce, type CommerceOptions } from "../src/commerce.ts";
import { COMMERCE_MIGRATIONS } from "../src/migrate.ts";
import type { PaymentGateway } from "../src/payments/gateway.ts";
import { LocalGateway } from "../src/payments/local-gateway.ts";
import { type CommerceSchema, schema } from "../src/schema.ts";

export type Db = PostgresHandle<CommerceSchema>;

/** An in-memory PGlite with the commerce migrations applied. */
export async function openPglite(): Promise<{ pg: Db; drop: () => Promise<void> }> {
  const pg = await createPostgres({ DATABASE_URL: undefined, dataDir: "" }, schema, { inMemory: true });
  await pg.migrate(COMMERCE_MIGRATIONS);
  return { pg, drop: () => pg.close() };
}

/**
 * A database of its own on a real Postgres server (drizzle's SQL names the public schema),
 * dropped afterwards, so a test never depends on or disturbs existing data.
 */
export async function openPostgres(url: string): Promise<{ pg: Db; drop: () => Promise<void> }> {
  const name = `marquee_test_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = () => createPostgres({ DATABASE_URL: url, dataDir: "" }, {});
  const a = await admin();
  await a.db.execute(sql.raw(`create database ${name}`));
  await a.close();
  const u = new URL(url);
  u.pathname = `/${name}`;
  const pg = await createPostgres({ DATABASE_URL: u.toString(), dataDir: "" }, schema);
  await pg.migrate(COMMERCE_MIGRATIONS);
  return {
    pg,
    drop: async () => {
      await pg.close();
      const b = await admin();
      await b.db.execute(sql.raw(`drop database if exists ${name} with (force)`));
      await b.close();
    },
  };
}

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public current = new Date("2026-06-01T12:00:00Z")) {}
  now = () => new Date(this.current.getTime());
  advanceHours(h: number) {
    this.current = new Date(this.current.getTime() + h * 3_600_000);
  }
  advanceMinutes(m: number) {
    this.current = new Date(this.current.getTime() + m * 60_000);
  }
}

export const WEBHOOK_SECRET = "whsec_test_local_secret_0123456789";

export function localStore(
  pg: Db,
  clock: TestClock,
  gateway?: PaymentGateway,
  options: Pick<CommerceOptions, "filmProblem"> = {},
) {
  const log = createLogger({ service: "commerce-test", level: "silent" });
  const gw =
    gateway ?? new LocalGateway(pg.db, { webhookSecret: WEBHOOK_SECRET, baseUrl: "http://store.test", now: clock.now });
  const commerce = new Commerce({
    db: pg.db,
    gateway: gw,
    log,
    playbackSecret: "playback-secret-for-tests",
    now: clock.now,
    ...options,
  });
  return { commerce, gateway: gw };
}

let n = 0;
export function film(id: string, over: Partial<TitleInput> = {}): TitleInput {
  return {
    id,
    title: `Film ${id}`,
    year: 2020,
    genres: ["Drama"],
    runtime_min: 100,
    age_rating: "PG",
    synopsis: "A film.",
    cast: ["A. Actor"],
    director: "D. Rector",
    offers: [
      { kind: "buy", quality: "SD", price_minor: 999, currency: "USD" },
      { kind: "buy", quality: "HD", price_minor: 1499, currency: "USD" },
      { kind: "rent", quality: "HD", price_minor: 399, currency: "USD" },
    ],
    ...over,
  };
}

export async function addTitles(pg: Db, titles: TitleInput[]) {
  await new Catalog(pg.db).upsertTitles(titles);
}

export async function viewer(commerce: Commerce, name = `viewer${++n}`) {
  return commerce.accounts.signUp({ email: `${name}-${n}@example.com`, password: "correct horse battery" });
}
