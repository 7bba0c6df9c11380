import type { Logger } from "@marquee/runtime";

/**
 * A published title as serving needs it: names for headings and reasons, genres for genre
 * rows, the age rating and regions for each audience, and when it was published for New
 * releases. The catalogue's ClickHouse dimension (mirrored from commerce's catalog.titles.v1)
 * is the source; feature-store reads it, the composition root hands the reader in.
 */
export interface CatalogTitle {
  id: string;
  title: string;
  genres: readonly string[];
  year: number;
  age_rating: string;
  /** When it was (first) published: epoch ms or an ISO / ClickHouse time. New releases sort by it, then by year. */
  published_at?: number | string | null;
  /** Regions it is sold in; empty or absent: everywhere. */
  regions?: readonly string[];
}

/** Every title on sale now (published; withdrawn and unpublished ones are not in it). */
export type PublishedTitlesReader = () => Promise<readonly CatalogTitle[]>;

/** How often the catalogue is re-read by default: an approval or withdrawal shows within this. */
export const TITLES_REFRESH_MS = 15_000;

function publishedMs(t: CatalogTitle): number {
  const v = t.published_at;
  if (v === null || v === undefined) return Number.NEGATIVE_INFINITY;
  if (typeof v === "number") return v;
  // ClickHouse's "YYYY-MM-DD hh:mm:ss.sss" is UTC without a zone.
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v.replace(" ", "T")}Z`);
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
}

/**
 * The published catalogue in memory, re-read every `TITLES_REFRESH_MS`, swapped whole. Rows
 * show only titles in it, so a withdrawn title leaves every row (model-ranked ones included)
 * at the next refresh, and an approved one can enter New releases and its genre row before
 * any model has heard of it. A failed read keeps the previous catalogue.
 */
export class TitleIndex {
  private byId = new Map<string, CatalogTitle>();
  private newest: CatalogTitle[] = [];
  private loaded = false;
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private again: Promise<void> | null = null;

  constructor(
    private readonly read: PublishedTitlesReader,
    private readonly logger: Logger,
  ) {}

  /** True once one read succeeded. */
  get ready(): boolean {
    return this.loaded;
  }

  /** Bumped at every refresh: what derived indexes (genre orders) are keyed on. */
  version = 0;

  get size(): number {
    return this.byId.size;
  }

  get(id: string): CatalogTitle | undefined {
    return this.byId.get(id);
  }

  /** Published titles, newest first (published time, then year, then id). */
  newestFirst(): readonly CatalogTitle[] {
    return this.newest;
  }

  /** Single-flight: concurrent callers share one read. Throws only through `refreshOrThrow`. */
  refresh(): Promise<void> {
    return this.refreshOrThrow().catch((err) => {
      this.logger.error({ err }, "catalogue read failed; keeping the previous one");
    });
  }

  refreshOrThrow(): Promise<void> {
    this.refreshing ??= (async () => {
      const titles = await this.read();
      const byId = new Map(titles.map((t) => [t.id, t]));
      // Each title's time parsed once, not per comparison: at 20k titles a sort that parses in
      // its comparator held the event loop for ~300 ms every refresh.
      const keyed = [...byId.values()].map((t) => ({ t, ms: publishedMs(t) }));
      keyed.sort((a, b) => b.ms - a.ms || b.t.year - a.t.year || (a.t.id < b.t.id ? -1 : 1));
      const newest = keyed.map((k) => k.t);
      this.version++;
      this.byId = byId;
      this.newest = newest;
      this.loaded = true;
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /**
   * Re-read because the catalogue just changed: a read already under way may have started
   * before the change, so this one starts after it (several changes meanwhile share one read).
   */
  changed(): Promise<void> {
    this.again ??= (this.refreshing ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        this.again = null;
        return this.refresh();
      });
    return this.again;
  }

  watch(everyMs = TITLES_REFRESH_MS): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
