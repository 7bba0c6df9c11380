import { MODEL_NAMES, type ModelItems } from "@marquee/contracts";
import {
  type ContentArtifact,
  type Logger,
  type ModelStore,
  type NeighbourModelName,
  readContentArtifact,
  readNeighbourArtifact,
  readPopularityArtifact,
} from "@marquee/runtime";
import { type Experiment, readExperiments } from "./experiments.ts";

export interface PopularitySnapshot {
  version: string;
  items: ModelItems;
  index: Map<string, number>;
  popular: Float64Array;
  /** Item indexes, best first. */
  byTrending: Int32Array;
  byPopular: Int32Array;
  /** Per genre (the model's titles' genres), its titles in byPopular's and byTrending's order. */
  byGenrePopular: ReadonlyMap<string, Int32Array>;
  byGenreTrending: ReadonlyMap<string, Int32Array>;
}

export interface ItemToItemSnapshot {
  version: string;
  items: ModelItems;
  index: Map<string, number>;
  k: number;
  neighbors: Int32Array;
  similarity: Float32Array;
}

export interface ModelSnapshot {
  popularity: PopularitySnapshot | null;
  itemToItem: ItemToItemSnapshot | null;
  /** The personal model (EASE) in the same layout: `similarity` holds its weights. */
  personal: ItemToItemSnapshot | null;
  /** The content model: places titles newer than the personal model (serving/src/content.ts). */
  content: ContentArtifact | null;
}

const order = (scores: number[]) =>
  Int32Array.from(scores.map((_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b));

/** `order` split by genre, each genre's titles in the same order: genre rows read no other genre's titles. */
function byGenre(items: ModelItems, order: Int32Array): Map<string, Int32Array> {
  const lists = new Map<string, number[]>();
  for (const i of order) {
    for (const g of items[i]?.genres ?? []) {
      const list = lists.get(g);
      if (list) list.push(i);
      else lists.set(g, [i]);
    }
  }
  return new Map([...lists].map(([g, list]) => [g, Int32Array.from(list)]));
}

async function loadPopularity(store: ModelStore, version: string): Promise<PopularitySnapshot> {
  const { items, scores } = await readPopularityArtifact(store, version);
  const byTrending = order(scores.trending);
  const byPopular = order(scores.popular);
  return {
    version,
    items,
    index: new Map(items.map((t, i) => [t.id, i])),
    popular: Float64Array.from(scores.popular),
    byTrending,
    byPopular,
    byGenrePopular: byGenre(items, byPopular),
    byGenreTrending: byGenre(items, byTrending),
  };
}

async function loadNeighbours(
  store: ModelStore,
  name: NeighbourModelName,
  version: string,
): Promise<ItemToItemSnapshot> {
  const a = await readNeighbourArtifact(store, name, version);
  return {
    version,
    items: a.items,
    index: new Map(a.items.map((t, i) => [t.id, i])),
    k: a.k,
    neighbors: a.neighbors,
    similarity: a.weights,
  };
}

/** Each model serving holds: which registry name fills which slot of the snapshot, and how. */
const SLOTS: {
  [S in keyof ModelSnapshot]: {
    name: string;
    load: (store: ModelStore, version: string) => Promise<NonNullable<ModelSnapshot[S]>>;
  };
} = {
  popularity: { name: MODEL_NAMES.popularity, load: loadPopularity },
  itemToItem: { name: MODEL_NAMES.itemToItem, load: (s, v) => loadNeighbours(s, MODEL_NAMES.itemToItem, v) },
  personal: { name: MODEL_NAMES.personal, load: (s, v) => loadNeighbours(s, MODEL_NAMES.personal, v) },
  content: { name: MODEL_NAMES.content, load: readContentArtifact },
};

/**
 * Holds the current model versions in memory and swaps them atomically when the registry's
 * `current` pointers move. A version that fails to load is logged and the old one kept.
 */
export class ModelHub {
  private snapshot: ModelSnapshot = { popularity: null, itemToItem: null, personal: null, content: null };
  /** Personal model versions experiments rank with, besides the current one. */
  private variants = new Map<string, ItemToItemSnapshot>();
  private running: Experiment[] = [];
  private timer: NodeJS.Timeout | null = null;
  private reloading: Promise<void> | null = null;

  constructor(
    private readonly store: ModelStore,
    private readonly logger: Logger,
  ) {}

  get current(): ModelSnapshot {
    return this.snapshot;
  }

  /** The version serving holds per model name (null: none loaded yet). */
  versions(): Record<string, string | null> {
    const out: Record<string, string | null> = {};
    for (const [slot, { name }] of Object.entries(SLOTS)) {
      out[name] = this.snapshot[slot as keyof ModelSnapshot]?.version ?? null;
    }
    return out;
  }

  /** The experiments in force (experiments.json at the registry's root), re-read with the pointers. */
  get experiments(): readonly Experiment[] {
    return this.running;
  }

  /**
   * The personal model at `version` (an experiment's variant), when it is loaded; null asks
   * for the current one. A variant whose version could not be loaded ranks with the current
   * model, and the response's model_version says which ran.
   */
  personalAt(version: string | null): ItemToItemSnapshot | null {
    if (version === null) return this.snapshot.personal;
    if (this.snapshot.personal?.version === version) return this.snapshot.personal;
    return this.variants.get(version) ?? this.snapshot.personal;
  }

  /** Rows can be served: popularity is the one model every row falls back on. */
  ready(): boolean {
    return this.snapshot.popularity !== null;
  }

  /** Single-flight: concurrent callers share one pass over the registry. */
  reload(): Promise<void> {
    this.reloading ??= this.doReload().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  private async doReload(): Promise<void> {
    const next: ModelSnapshot = { ...this.snapshot };
    for (const slot of Object.keys(SLOTS) as (keyof ModelSnapshot)[]) {
      await this.reloadSlot(next, slot);
    }
    this.snapshot = next;
    await this.reloadExperiments();
  }

  /** Experiments' model versions: loaded once each, dropped when no experiment names them. */
  private async reloadExperiments(): Promise<void> {
    let experiments: Experiment[];
    try {
      experiments = await readExperiments(this.store.root);
    } catch (err) {
      this.logger.error({ err }, "experiments.json is not valid; keeping the experiments in force");
      return;
    }
    const wanted = new Set(
      experiments.flatMap((e) => e.variants.map((v) => v.model_version)).filter((v) => v !== null),
    );
    const variants = new Map<string, ItemToItemSnapshot>();
    for (const version of wanted) {
      const held = this.variants.get(version);
      if (held) {
        variants.set(version, held);
        continue;
      }
      if (this.snapshot.personal?.version === version) {
        variants.set(version, this.snapshot.personal);
        continue;
      }
      try {
        variants.set(version, await loadNeighbours(this.store, MODEL_NAMES.personal, version));
        this.logger.info({ model: MODEL_NAMES.personal, version }, "experiment variant loaded");
      } catch (err) {
        this.logger.error(
          { err, version },
          "an experiment's model version failed to load; it ranks with the current one",
        );
      }
    }
    this.variants = variants;
    this.running = experiments;
  }

  private async reloadSlot<S extends keyof ModelSnapshot>(next: ModelSnapshot, slot: S): Promise<void> {
    const { name, load } = SLOTS[slot];
    const version = await this.store.currentVersion(name);
    if (!version || version === next[slot]?.version) return;
    try {
      next[slot] = await load(this.store, version);
      this.logger.info({ model: name, version }, "model loaded");
    } catch (err) {
      this.logger.error({ err, model: name, version }, "model failed to load; keeping the previous one");
    }
  }

  /** Poll the registry's pointers (cheap: a small file per model) so other processes' promotions are seen. */
  watch(everyMs = 5000): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.reload().catch((err) => this.logger.error({ err }, "model reload failed"));
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
