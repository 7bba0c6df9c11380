import type { Title } from "@marquee/contracts";
import { createPostgres, type PostgresHandle } from "@marquee/runtime";
import { serviceSuite } from "@marquee/runtime/testing";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Catalog } from "./catalog.ts";
import { COMMERCE_MIGRATIONS } from "./migrate.ts";
import { type CommerceSchema, schema } from "./schema.ts";

const title = (id: string, over: Partial<Title> = {}): Title & { poster_svg: string } => ({
  id,
  title: `Film ${id}`,
  year: 2020,
  genres: ["Drama"],
  runtime_min: 101,
  age_rating: "PG-13",
  synopsis: "A film.",
  cast: ["A. Actor"],
  director: "D. Rector",
  offers: [
    { kind: "buy", quality: "HD", price_minor: 1499, currency: "USD" },
    { kind: "rent", quality: "SD", price_minor: 399, currency: "USD" },
  ],
  poster_svg: `<svg xmlns="http://www.w3.org/2000/svg"><text>${id}</text></svg>`,
  ...over,
});

/** The same behaviour is required of PGlite (embedded) and of a real Postgres server. */
function catalogueBehaviour(open: () => Promise<PostgresHandle<CommerceSchema>>, cleanup?: () => Promise<void>) {
  let pg: PostgresHandle<CommerceSchema>;
  let catalog: Catalog;
  beforeAll(async () => {
    pg = await open();
    await pg.migrate(COMMERCE_MIGRATIONS);
    await pg.migrate(COMMERCE_MIGRATIONS); // applying twice is a no-op
    catalog = new Catalog(pg.db);
  });
  afterAll(async () => {
    await pg?.close();
    await cleanup?.();
  });

  it("creates the catalogue tables with their constraints", async () => {
    await expect(
      pg.db.execute(
        sql`insert into titles (id, title, year, runtime_min, age_rating) values ('bad', 'x', 2000, 90, 'XXX')`,
      ),
    ).rejects.toThrow();
  });

  it("stores titles and returns cards in the order asked, skipping unknown ids", async () => {
    await catalog.upsertTitles([title("c1"), title("c2", { offers: [] }), title("c3")]);
    const cards = await catalog.cards(["c3", "nope", "c1", "c2"]);
    expect(cards.map((c) => c.id)).toEqual(["c3", "c1", "c2"]);
    expect(cards[0]?.from_price_minor).toBe(399);
    expect(cards[2]?.from_price_minor).toBeNull();
  });

  it("replaces a title's offers on upsert and sorts offers rent before buy", async () => {
    await catalog.upsertTitles([
      title("c1", {
        title: "Renamed",
        offers: [
          { kind: "buy", quality: "4K", price_minor: 1999, currency: "USD" },
          { kind: "rent", quality: "HD", price_minor: 499, currency: "USD" },
        ],
      }),
    ]);
    const t = await catalog.title("c1");
    expect(t?.title).toBe("Renamed");
    expect(t?.offers.map((o) => `${o.kind}:${o.quality}`)).toEqual(["rent:HD", "buy:4K"]);
    expect(await catalog.poster("c1")).toContain("<svg");
  });

  it("hides titles that are not published", async () => {
    await catalog.upsertTitles([{ ...title("c4"), status: "draft" }]);
    expect(await catalog.title("c4")).toBeNull();
    expect(await catalog.cards(["c4"])).toEqual([]);
    expect(await catalog.poster("c4")).toBeNull();
  });
}

describe("commerce catalogue on PGlite", () => {
  catalogueBehaviour(() => createPostgres({ DATABASE_URL: undefined, dataDir: "" }, schema, { inMemory: true }));
});

serviceSuite("commerce catalogue on Postgres", process.env.TEST_DATABASE_URL, (url) => {
  // A database of its own per run (drizzle's SQL names the public schema), dropped afterwards,
  // so the test never depends on or disturbs existing data.
  const name = `marquee_test_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = () => createPostgres({ DATABASE_URL: url, dataDir: "" }, {});
  catalogueBehaviour(
    async () => {
      const a = await admin();
      await a.db.execute(sql.raw(`create database ${name}`));
      await a.close();
      const u = new URL(url);
      u.pathname = `/${name}`;
      return createPostgres({ DATABASE_URL: u.toString(), dataDir: "" }, schema);
    },
    async () => {
      const a = await admin();
      await a.db.execute(sql.raw(`drop database if exists ${name} with (force)`));
      await a.close();
    },
  );
});
