import type { Title } from "@marquee/contracts";
import { type ClickHouseClient, clickHouseTime } from "@marquee/runtime";

/**
 * ClickHouse's `titles` dimension: the catalogue as analytics, the models and serving see it,
 * mirrored from commerce (the seeder writes it once; the catalogue loader keeps it current from
 * catalog.titles.v1). One logical row per title id: the version with the latest `updated_at`,
 * which is the catalogue's own change time (commerce's titles.updated_at), not the time it was
 * written here, so replays and out-of-order writes keep the latest. Readers take
 * argMax(…, updated_at) per id (the ReplacingMergeTree collapses versions only when it merges).
 */
export interface TitleDimension {
  id: string;
  title: string;
  genres: string[];
  year: number;
  age_rating: string;
  status: string;
}

/** A published title for serving's rows: regions to filter by, and when it was published. */
export interface PublishedTitle extends TitleDimension {
  /** Where it may be sold (ISO 3166-1 alpha-2); empty: everywhere. */
  regions: string[];
  /**
   * When it became published (this publication: a withdrawn and re-published title counts from
   * the second time), ClickHouse UTC text like '2026-01-02 00:00:00.000'; null when unknown
   * (titles mirrored before the dimension kept it).
   */
  published_at: string | null;
}

export interface TitleDimensionInput extends Pick<Title, "id" | "title" | "genres" | "year"> {
  age_rating: string;
  /** draft, in_review, published, withdrawn (or removed: gone from the catalogue). Default published. */
  status?: string;
  regions?: readonly string[];
  /** The catalogue's change time, which is the version: an older one than stored is skipped. Default `now`. */
  updated_at?: Date | string | number;
  /** When it became published, if the writer knows (a `published` event's time). */
  published_at?: Date | string | number | null;
}

/** Ids per lookup of stored versions (an IN list; the table is ordered by id). */
const LOOKUP_CHUNK = 5_000;

interface StoredVersion {
  id: string;
  status: string;
  /** Epoch ms of the newest stored version. */
  version: number;
  published_at: string | null;
}

const ms = (at: Date | string | number) => {
  const t = typeof at === "number" ? at : new Date(at).getTime();
  if (Number.isNaN(t)) throw new Error(`invalid time ${String(at)}`);
  return t;
};

async function storedVersions(client: ClickHouseClient, ids: string[]): Promise<Map<string, StoredVersion>> {
  const out = new Map<string, StoredVersion>();
  for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
    const rs = await client.query({
      // tuple(): argMax would otherwise pass over a NULL published_at and answer an older one.
      query: `SELECT id, argMax(status, updated_at) AS status, toUnixTimestamp64Milli(max(updated_at)) AS version,
                     argMax(tuple(published_at), updated_at).1 AS published_at
              FROM titles WHERE id IN {ids:Array(String)} GROUP BY id`,
      query_params: { ids: ids.slice(i, i + LOOKUP_CHUNK) },
      format: "JSONEachRow",
    });
    for (const r of await rs.json<StoredVersion>()) {
      out.set(r.id, { ...r, version: Number(r.version) });
    }
  }
  return out;
}

/**
 * Write catalogue titles into the dimension, idempotently: per id the newest input version is
 * written only if it is newer than what is stored, so a replayed or late message adds nothing.
 * `published_at` carries over while a title stays published (an edit does not make it new);
 * a title that becomes published gets the writer's hint or its version time. Per id, writers
 * must not run concurrently (the catalogue loader's messages are keyed by title id, so one
 * partition, one batch at a time, holds each id).
 */
export async function upsertTitleDimension(
  client: ClickHouseClient,
  titles: readonly TitleDimensionInput[],
  now = new Date(),
): Promise<{ written: number; skipped: number }> {
  if (titles.length === 0) return { written: 0, skipped: 0 };
  const newest = new Map<string, { t: TitleDimensionInput; version: number }>();
  for (const t of titles) {
    const version = ms(t.updated_at ?? now);
    const seen = newest.get(t.id);
    if (!seen || version >= seen.version) newest.set(t.id, { t, version });
  }
  const stored = await storedVersions(client, [...newest.keys()]);
  const values: Record<string, unknown>[] = [];
  for (const [id, { t, version }] of newest) {
    const before = stored.get(id);
    if (before && version <= before.version) continue;
    const status = t.status ?? "published";
    let published_at: string | null = null;
    if (status === "published") {
      const hint = t.published_at === null || t.published_at === undefined ? null : ms(t.published_at);
      const kept =
        before?.status === "published" && before.published_at ? ms(`${before.published_at.replace(" ", "T")}Z`) : null;
      // Still published: the earlier publication stands unless the hint is a newer one (a
      // withdrawal and re-publication seen together). Newly published: the hint, else now.
      const at = kept !== null ? Math.max(kept, hint ?? kept) : (hint ?? version);
      published_at = clickHouseTime(at);
    }
    values.push({
      id,
      title: t.title,
      genres: t.genres,
      year: t.year,
      age_rating: t.age_rating,
      status,
      regions: t.regions ?? [],
      updated_at: clickHouseTime(version),
      published_at,
    });
  }
  if (values.length > 0) await client.insert({ table: "titles", format: "JSONEachRow", values });
  return { written: values.length, skipped: newest.size - values.length };
}

/** Published titles, as the models see the catalogue. */
export async function publishedTitles(client: ClickHouseClient): Promise<TitleDimension[]> {
  const rs = await client.query({
    query: `SELECT id, argMax(title, updated_at) AS title, argMax(genres, updated_at) AS genres,
                   argMax(year, updated_at) AS year, argMax(age_rating, updated_at) AS age_rating,
                   argMax(status, updated_at) AS status
            FROM titles GROUP BY id HAVING status = 'published' ORDER BY id`,
    format: "JSONEachRow",
  });
  return (await rs.json<TitleDimension>()).map((t) => ({ ...t, year: Number(t.year) }));
}

/** Published titles with regions and publication time, newest publication first (then id). */
export async function publishedCatalogue(client: ClickHouseClient): Promise<PublishedTitle[]> {
  const rs = await client.query({
    query: `SELECT id, argMax(title, updated_at) AS title, argMax(genres, updated_at) AS genres,
                   argMax(year, updated_at) AS year, argMax(age_rating, updated_at) AS age_rating,
                   argMax(status, updated_at) AS status, argMax(regions, updated_at) AS regions,
                   argMax(tuple(published_at), updated_at).1 AS published
            FROM titles GROUP BY id HAVING status = 'published'
            ORDER BY published DESC NULLS LAST, id`,
    format: "JSONEachRow",
  });
  return (await rs.json<Omit<PublishedTitle, "published_at"> & { published: string | null }>()).map(
    ({ published, ...t }) => ({ ...t, year: Number(t.year), published_at: published }),
  );
}
