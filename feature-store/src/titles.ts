import { publishedTitles } from "@marquee/analytics";
import type { ModelItems } from "@marquee/contracts";
import type { ClickHouseClient } from "@marquee/runtime";

/** Title features for the models: the published catalogue with names, genres and years. */
export async function loadTitleFeatures(client: ClickHouseClient): Promise<ModelItems> {
  return (await publishedTitles(client)).map((t) => ({ id: t.id, title: t.title, genres: t.genres, year: t.year }));
}
