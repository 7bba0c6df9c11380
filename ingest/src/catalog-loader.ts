import { describeIssues, type TitleChange, TitleChangeSchema, TOPICS } from "@marquee/contracts";
import { type BusBatch, type EventBus, type Logger, PoisonMessageError } from "@marquee/runtime";

/** A title's current state in the catalogue (commerce's Postgres), as the dimension stores it. */
export interface CatalogueTitleState {
  id: string;
  title: string;
  genres: string[];
  year: number;
  age_rating: string;
  status: string;
  regions: string[];
  /** The catalogue's last change to the title: the dimension's version. */
  updated_at: Date | string;
}

/**
 * Reads titles' current state from the catalogue; ids it does not know are left out (removed).
 * Injected by the composition root (commerce's catalogue), so ingest never imports commerce.
 */
export type CatalogueTitleSource = (ids: string[]) => Promise<CatalogueTitleState[]>;

/**
 * Writes titles into ClickHouse's `titles` dimension, skipping any whose version (updated_at)
 * is not newer than stored: analytics' upsertTitleDimension, handed in by the composition root.
 */
export type TitleDimensionWriter = (
  titles: (CatalogueTitleState & { published_at: string | null })[],
) => Promise<{ written: number; skipped: number }>;

export interface CatalogLoaderOptions {
  titles: CatalogueTitleSource;
  dimension: TitleDimensionWriter;
  logger: Logger;
  /** After the dimension took a batch's changes (serving re-reads its catalogue here). */
  onApplied?: (change: { ids: string[]; written: number }) => void;
}

/** catalog.titles.v1's messages; anything else is poison (dead-lettered, never retried). */
export function decodeTitleChange(value: unknown): TitleChange {
  const parsed = TitleChangeSchema.safeParse(value);
  if (!parsed.success) throw new PoisonMessageError(describeIssues(parsed.error));
  return parsed.data;
}

/**
 * Keeps ClickHouse's `titles` dimension current from catalog.titles.v1: for every title a batch
 * names, its current state is read from the catalogue and written with the catalogue's change
 * time as the version (the writer skips what is not newer than stored). So a replay,
 * a message arriving late, or a batch retried after its insert landed adds nothing, and a
 * withdrawal is never undone by an older publication. On Kafka its offsets are committed after it.
 *
 * Not yet on the in-process bus with PGlite: that bus's publish waits for this handler, whose
 * catalogue read then waits for the relay's open transaction on PGlite's one connection. The way
 * out is for catalog.titles.v1 to carry the title's state (commerce's titleEvent) so no read is
 * needed here, or for the relay to claim rows in a short transaction and publish outside it.
 */
export class CatalogLoader {
  constructor(private readonly options: CatalogLoaderOptions) {}

  async load(batch: BusBatch<TitleChange>): Promise<void> {
    const changes = batch.messages.map((m) => m.value);
    if (changes.length === 0) return;
    const ids = [...new Set(changes.map((c) => c.title_id))];
    const current = new Map((await this.options.titles(ids)).map((t) => [t.id, t]));
    // The newest `published` per title: when this publication started (New releases).
    const publishedAt = new Map<string, string>();
    for (const c of changes) {
      if (c.type !== "published") continue;
      const seen = publishedAt.get(c.title_id);
      if (!seen || Date.parse(c.occurred_at) > Date.parse(seen)) publishedAt.set(c.title_id, c.occurred_at);
    }
    const rows: (CatalogueTitleState & { published_at: string | null })[] = [];
    for (const id of ids) {
      const t = current.get(id);
      // Commerce never deletes a title; one it does not know is nothing to mirror.
      if (t) rows.push({ ...t, published_at: publishedAt.get(id) ?? null });
      else this.options.logger.warn({ title_id: id }, "catalogue change for a title the catalogue does not have");
    }
    const { written, skipped } = await this.options.dimension(rows);
    this.options.logger.debug({ messages: changes.length, titles: ids.length, written, skipped }, "titles dimension");
    this.options.onApplied?.({ ids, written });
  }
}

/**
 * Subscribe the catalogue loader to catalog.titles.v1 (group `titles-dimension`): in-process,
 * each relay publish is handled before it resolves; on Kafka, by the group's members (the app
 * and every `marquee loader`), offsets committed after the dimension took the batch.
 */
export async function startCatalogLoader(
  bus: EventBus,
  options: CatalogLoaderOptions,
  subscription: { topic?: string; group?: string } = {},
): Promise<CatalogLoader> {
  const loader = new CatalogLoader(options);
  await bus.subscribe<TitleChange>(
    subscription.topic ?? TOPICS.catalogTitles,
    subscription.group ?? "titles-dimension",
    (batch) => loader.load(batch),
    // A quiet topic: small fetches, answered quickly, so an approval shows within a second or so.
    { decode: decodeTitleChange, maxBatchMessages: 500, maxWaitMs: 100 },
  );
  return loader;
}
