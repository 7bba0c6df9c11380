import type { Title } from "@marquee/contracts";
import { type ClickHouseClient, clickHouseTime } from "@marquee/runtime";

export interface TitleDimension {
  id: string;
  title: string;
  genres: string[];
  year: number;
  age_rating: string;
  status: string;
}

/** Mirror catalogue titles into ClickHouse's `titles` dimension (newest write wins per id). */
export async function upsertTitleDimension(
  client: ClickHouseClient,
  titles: (Pick<Title, "id" | "title" | "genres" | "year" | "age_rating"> & { status?: string })[],
  now = new Date(),
): Promise<void> {
  if (titles.length === 0) return;
  const updated_at = clickHouseTime(now);
  await client.insert({
    table: "titles",
    format: "JSONEachRow",
    values: titles.map((t) => ({
      id: t.id,
      title: t.title,
      genres: t.genres,
      year: t.year,
      age_rating: t.age_rating,
      status: t.status ?? "published",
      updated_at,
    })),
  });
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
