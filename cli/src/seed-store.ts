import { upsertTitleDimension } from "@marquee/analytics";
import type { Catalog, TitleInput } from "@marquee/commerce";
import { type CollectedEvent, EVENTS_TABLE } from "@marquee/contracts";
import { toEventRow } from "@marquee/ingest";
import { type ClickHouseClient, dedupSettings, type Logger } from "@marquee/runtime";
import { generateWorld } from "@marquee/seed";

const CHUNK = 50_000;

// Why this stays in cli/: storing a world writes into three workspaces at once (commerce's
// catalogue, analytics' titles dimension, ingest's event rows), and seed/ may import only
// contracts, so that it can generate worlds for any caller. Joining them is composition, and
// cli/ is the one composition root: this is the part of the app factory (`createMarquee`
// seeds an empty store) and of `marquee seed` that fills the stores.

/**
 * Store a world: events into ClickHouse first, then the catalogue (ClickHouse's dimension and
 * Postgres). Postgres titles come last because a non-empty catalogue is what marks a store as
 * seeded; each events chunk carries a deterministic deduplication token, so re-running after a
 * crash half-way stores no event twice.
 */
export async function storeWorld(options: {
  catalog: Catalog;
  clickhouse: ClickHouseClient;
  logger: Logger;
  titles: TitleInput[];
  events: Iterable<CollectedEvent> | AsyncIterable<CollectedEvent>;
  label: string;
}): Promise<{ titles: number; events: number }> {
  const { clickhouse, logger } = options;
  let chunk: CollectedEvent[] = [];
  let total = 0;
  let index = 0;
  // One insert in flight while the next chunk is generated: generation and ClickHouse overlap.
  let inFlight: Promise<void> = Promise.resolve();
  const flush = async () => {
    if (chunk.length === 0) return;
    const rows = chunk.map(toEventRow);
    chunk = [];
    const token = `seed-${options.label}-${index}-${rows.length}`;
    index++;
    await inFlight;
    inFlight = clickhouse
      .insert({
        table: `${EVENTS_TABLE} ${dedupSettings(token)}`,
        values: rows,
        format: "JSONEachRow",
      })
      .then(() => {
        total += rows.length;
        if (index % 5 === 0) logger.info({ events: total }, "seeding events");
      });
    // Observed here so a failure while the next chunk is generated is not "unhandled"; it is
    // still thrown by the next `await inFlight`.
    inFlight.catch(() => undefined);
  };
  for await (const e of options.events) {
    chunk.push(e);
    if (chunk.length >= CHUNK) await flush();
  }
  await flush();
  await inFlight;
  await upsertTitleDimension(clickhouse, options.titles);
  await options.catalog.upsertTitles(options.titles);
  return { titles: options.titles.length, events: total };
}

/** Seed the synthetic world when the catalogue is empty (first start). */
export async function seedIfEmpty(options: {
  catalog: Catalog;
  clickhouse: ClickHouseClient;
  logger: Logger;
  scale: "tiny" | "demo" | "large";
  seed?: number;
}): Promise<boolean> {
  if ((await options.catalog.countPublished()) > 0) return false;
  const started = performance.now();
  options.logger.info({ scale: options.scale }, "empty store: seeding a synthetic world");
  const world = generateWorld({ scale: options.scale, seed: options.seed ?? 42 });
  const events = typeof world.events === "function" ? world.events() : world.events;
  const stored = await storeWorld({
    ...options,
    titles: world.titles,
    events,
    label: `world-${options.scale}-${options.seed ?? 42}`,
  });
  options.logger.info({ ...stored, seconds: Math.round(performance.now() - started) / 1000 }, "seeded");
  return true;
}
