import type { Offer, Title, TitleSummary } from "@marquee/contracts";
import type { Database } from "@marquee/runtime";
import { and, eq, ilike, inArray, isNull, or, sql } from "drizzle-orm";
import { effectivePrice, ratingAllowed, ratingsUpTo, regionAllowed } from "./rules.ts";
import { type CommerceSchema, offers, titles } from "./schema.ts";

export type CommerceDb = Database<CommerceSchema>;

/** A title to store, with its generated poster. */
export type TitleInput = Title & {
  poster_svg?: string | null;
  status?: "draft" | "in_review" | "published" | "withdrawn";
};

/**
 * Who is looking: a kids' profile's age limit and the viewer's region. Titles outside it are
 * invisible, exactly as if they did not exist, on every read.
 */
export interface Audience {
  maxAgeRating?: string | null;
  region?: string | null;
}

/** The catalogue summary a shelf card needs. */
export type TitleCardData = TitleSummary;

const ORDER: Record<string, number> = {
  "rent:SD": 0,
  "rent:HD": 1,
  "rent:4K": 2,
  "buy:SD": 3,
  "buy:HD": 4,
  "buy:4K": 5,
};

/**
 * Read and write access to the catalogue. Only published titles are visible to viewers;
 * readers return titles in the order asked so ranked rows keep their ranking.
 */
export class Catalog {
  constructor(private readonly db: CommerceDb) {}

  /** Insert or replace titles and their offers, in chunks, in one transaction per chunk. */
  async upsertTitles(input: TitleInput[], chunk = 500): Promise<number> {
    for (let i = 0; i < input.length; i += chunk) {
      const part = input.slice(i, i + chunk);
      await this.db.transaction(async (tx) => {
        await tx
          .insert(titles)
          .values(
            part.map((t) => ({
              id: t.id,
              title: t.title,
              year: t.year,
              genres: t.genres,
              runtimeMin: t.runtime_min,
              ageRating: t.age_rating,
              synopsis: t.synopsis,
              cast: t.cast,
              director: t.director,
              posterSvg: t.poster_svg ?? null,
              status: t.status ?? "published",
            })),
          )
          .onConflictDoUpdate({
            target: titles.id,
            set: {
              title: sql`excluded.title`,
              year: sql`excluded.year`,
              genres: sql`excluded.genres`,
              runtimeMin: sql`excluded.runtime_min`,
              ageRating: sql`excluded.age_rating`,
              synopsis: sql`excluded.synopsis`,
              cast: sql`excluded.cast`,
              director: sql`excluded.director`,
              posterSvg: sql`excluded.poster_svg`,
              status: sql`excluded.status`,
              updatedAt: sql`now()`,
            },
          });
        await tx.delete(offers).where(
          inArray(
            offers.titleId,
            part.map((t) => t.id),
          ),
        );
        const rows = part.flatMap((t) =>
          t.offers.map((o) => ({
            titleId: t.id,
            kind: o.kind,
            quality: o.quality,
            priceMinor: o.price_minor,
            currency: o.currency,
          })),
        );
        if (rows.length > 0) await tx.insert(offers).values(rows);
      });
    }
    return input.length;
  }

  async countPublished(): Promise<number> {
    const [row] = await this.db
      .select({ n: sql<number>`count(*)::int` })
      .from(titles)
      .where(eq(titles.status, "published"));
    return row?.n ?? 0;
  }

  /**
   * The house catalogue (seeded titles, no seller), by id: what demo media is made for. A
   * seller's title never gets a stand-in film; its seller uploads the real one.
   */
  async houseTitles(): Promise<{ id: string; title: string }[]> {
    return this.db
      .select({ id: titles.id, title: titles.title })
      .from(titles)
      .where(and(isNull(titles.sellerId), eq(titles.status, "published")))
      .orderBy(titles.id);
  }

  /** Cards for `ids`, in the order given; unknown or unpublished ids are left out. */
  async cards(ids: string[], audience: Audience = {}): Promise<TitleCardData[]> {
    if (ids.length === 0) return [];
    const unique = [...new Set(ids)];
    const rows = await this.db
      .select({
        id: titles.id,
        title: titles.title,
        year: titles.year,
        genres: titles.genres,
        ageRating: titles.ageRating,
        runtimeMin: titles.runtimeMin,
        fromPrice: sql<number | null>`(select min(case when o.sale_price_minor is not null
            and (o.sale_starts_at is null or o.sale_starts_at <= now())
            and (o.sale_ends_at is null or o.sale_ends_at > now())
            then least(o.sale_price_minor, o.price_minor) else o.price_minor end)
          from offers o where o.title_id = ${titles.id})`,
        currency: sql<string | null>`(select min(o.currency) from offers o where o.title_id = ${titles.id})`,
        regions: titles.regions,
      })
      .from(titles)
      .where(
        and(
          inArray(titles.id, unique),
          eq(titles.status, "published"),
          inArray(titles.ageRating, ratingsUpTo(audience.maxAgeRating)),
        ),
      );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return unique.flatMap((id) => {
      const r = byId.get(id);
      if (!r || (audience.region !== undefined && !regionAllowed(r.regions, audience.region))) return [];
      return [
        {
          id: r.id,
          title: r.title,
          year: r.year,
          genres: r.genres,
          age_rating: r.ageRating as Title["age_rating"],
          runtime_min: r.runtimeMin,
          from_price_minor: r.fromPrice === null ? null : Number(r.fromPrice),
          currency: r.currency ?? "USD",
        },
      ];
    });
  }

  async title(id: string, audience: Audience = {}, now = new Date()): Promise<Title | null> {
    const [t] = await this.db
      .select()
      .from(titles)
      .where(and(eq(titles.id, id), eq(titles.status, "published")));
    if (!t || !ratingAllowed(t.ageRating, audience.maxAgeRating)) return null;
    // Outside the viewer's region the page still exists, but nothing is on sale there.
    const sold = audience.region === undefined || regionAllowed(t.regions, audience.region);
    const os = sold ? await this.db.select().from(offers).where(eq(offers.titleId, id)) : [];
    const list: Offer[] = os
      .map((o) => {
        const price = effectivePrice(o, now);
        return {
          kind: o.kind as Offer["kind"],
          quality: o.quality as Offer["quality"],
          price_minor: price.priceMinor,
          currency: o.currency,
          ...(price.onSale
            ? { list_price_minor: o.priceMinor, sale_ends_at: o.saleEndsAt?.toISOString() ?? null }
            : {}),
          ...(o.kind === "rent"
            ? { rent_start_window_days: o.rentStartWindowDays, rent_watch_window_hours: o.rentWatchWindowHours }
            : {}),
        };
      })
      .sort((a, b) => (ORDER[`${a.kind}:${a.quality}`] ?? 9) - (ORDER[`${b.kind}:${b.quality}`] ?? 9));
    return {
      id: t.id,
      title: t.title,
      year: t.year,
      genres: t.genres,
      runtime_min: t.runtimeMin,
      age_rating: t.ageRating as Title["age_rating"],
      synopsis: t.synopsis,
      cast: t.cast,
      director: t.director,
      offers: list,
    };
  }

  async poster(id: string, audience: Audience = {}): Promise<string | null> {
    const [row] = await this.db
      .select({ svg: titles.posterSvg, ageRating: titles.ageRating })
      .from(titles)
      .where(and(eq(titles.id, id), eq(titles.status, "published")));
    if (!row || !ratingAllowed(row.ageRating, audience.maxAgeRating)) return null;
    return row.svg ?? null;
  }

  /**
   * Published titles whose name, director, cast or genre contains `query` (case-insensitive),
   * best match first: name prefix, then name, then the rest.
   */
  async search(query: string, options: { limit?: number; audience?: Audience } = {}): Promise<TitleCardData[]> {
    const q = query.trim().slice(0, 200);
    if (q.length === 0) return [];
    const escaped = q.replace(/[\\%_]/g, (c) => `\\${c}`);
    const like = `%${escaped}%`;
    const limit = Math.min(Math.max(options.limit ?? 20, 1), 100);
    const rows = await this.db
      .select({ id: titles.id })
      .from(titles)
      .where(
        and(
          eq(titles.status, "published"),
          inArray(titles.ageRating, ratingsUpTo(options.audience?.maxAgeRating)),
          or(
            ilike(titles.title, like),
            ilike(titles.director, like),
            sql`exists (select 1 from unnest(${titles.cast}) c where c ilike ${like})`,
            sql`exists (select 1 from unnest(${titles.genres}) g where g ilike ${like})`,
          ),
        ),
      )
      .orderBy(
        sql`case when ${titles.title} ilike ${`${escaped}%`} then 0 when ${titles.title} ilike ${like} then 1 else 2 end`,
        titles.title,
      )
      .limit(limit);
    return this.cards(
      rows.map((r) => r.id),
      options.audience ?? {},
    );
  }

  /** Every published title's id, genres and year: title features for the models. */
  async titleFeatures(): Promise<{ id: string; genres: string[]; year: number }[]> {
    return this.db
      .select({ id: titles.id, genres: titles.genres, year: titles.year })
      .from(titles)
      .where(eq(titles.status, "published"));
  }

  /**
   * Titles as they stand now, whatever their status (for ClickHouse's titles dimension, kept
   * current from catalog.titles.v1): `updated_at` is the version. Unknown ids are left out.
   */
  async titleStates(ids: string[]): Promise<
    {
      id: string;
      title: string;
      genres: string[];
      year: number;
      age_rating: string;
      status: string;
      regions: string[];
      updated_at: Date;
    }[]
  > {
    if (ids.length === 0) return [];
    return this.db
      .select({
        id: titles.id,
        title: titles.title,
        genres: titles.genres,
        year: titles.year,
        age_rating: titles.ageRating,
        status: titles.status,
        regions: titles.regions,
        updated_at: titles.updatedAt,
      })
      .from(titles)
      .where(inArray(titles.id, ids));
  }
}
