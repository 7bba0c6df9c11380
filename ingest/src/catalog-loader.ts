import { describeIssues, type TitleChange, TitleChangeSchema, type TitleState, TOPICS } from "@marquee/contracts";
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
 * Only for messages that do not carry the title's state (written before they did). Injected by
 * the composition root (commerce's catalogue), so ingest never imports commerce.
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
  /**
   * Where state-less (older) messages get their title's state. Leave it out where the loader
   * runs inside the relay's publish (the in-process bus on PGlite, whose one connection the
   * relay's transaction holds): such messages are then logged and skipped.
   */
  titles?: CatalogueTitleSource;
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
 * Keeps ClickHouse's `titles` dimension current from catalog.titles.v1: every message carries
 * the title's state as its change left it, written with the catalogue's change time as the
 * version (the writer skips what is not newer than stored). So a replay, a message arriving
 * late, or a batch retried after its insert landed adds nothing, and a withdrawal is never
 * undone by an older publication. Needing no read of the catalogue, it runs inside the
 * in-process bus's publish as well as on Kafka (offsets committed after it).
 */
export class CatalogLoader {
  constructor(private readonly options: CatalogLoaderOptions) {}

  async load(batch: BusBatch<TitleChange>): Promise<void> {
    const changes = batch.messages.map((m) => m.value);
    if (changes.length === 0) return;
    const ids = [...new Set(changes.map((c) => c.title_id))];
    // The newest carried state per title; the writer keeps only what is newer than stored.
    const carried = new Map<string, TitleState>();
    for (const c of changes) {
      if (!c.title || c.title.id !== c.title_id) continue;
      const seen = carried.get(c.title_id);
      if (!seen || Date.parse(c.title.updated_at) >= Date.parse(seen.updated_at)) carried.set(c.title_id, c.title);
    }
    const missing = ids.filter((id) => !carried.has(id));
    const current = new Map<string, CatalogueTitleState>(carried);
    if (missing.length > 0) {
      if (this.options.titles) for (const t of await this.options.titles(missing)) current.set(t.id, t);
      else this.options.logger.warn({ title_ids: missing }, "catalogue change without the title's state: skipped");
    }
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
      else if (this.options.titles)
        this.options.logger.warn({ title_id: id }, "catalogue change for a title the catalogue does not have");
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
