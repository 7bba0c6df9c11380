import {
  ITEM_TO_ITEM_FILES,
  MODEL_NAMES,
  type ModelItems,
  ModelItemsSchema,
  PERSONAL_FILES,
  POPULARITY_FILES,
  PopularityScoresSchema,
} from "@marquee/contracts";
import type { Logger, ModelStore } from "@marquee/runtime";

export interface PopularitySnapshot {
  version: string;
  items: ModelItems;
  index: Map<string, number>;
  popular: Float64Array;
  /** Item indexes, best first. */
  byTrending: Int32Array;
  byPopular: Int32Array;
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
}

const order = (scores: number[]) =>
  Int32Array.from(scores.map((_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b));

async function loadPopularity(store: ModelStore, version: string): Promise<PopularitySnapshot> {
  const name = MODEL_NAMES.popularity;
  const items = ModelItemsSchema.parse(
    JSON.parse((await store.readFile(name, version, POPULARITY_FILES.items)).toString()),
  );
  const scores = PopularityScoresSchema.parse(
    JSON.parse((await store.readFile(name, version, POPULARITY_FILES.scores)).toString()),
  );
  if (scores.popular.length !== items.length || scores.trending.length !== items.length) {
    throw new Error(`popularity ${version}: scores do not match items`);
  }
  return {
    version,
    items,
    index: new Map(items.map((t, i) => [t.id, i])),
    popular: Float64Array.from(scores.popular),
    byTrending: order(scores.trending),
    byPopular: order(scores.popular),
  };
}

const NEIGHBOUR_FILES = {
  [MODEL_NAMES.itemToItem]: ITEM_TO_ITEM_FILES,
  [MODEL_NAMES.personal]: { ...PERSONAL_FILES, similarity: PERSONAL_FILES.weights },
} as const;

async function loadItemToItem(
  store: ModelStore,
  version: string,
  name: typeof MODEL_NAMES.itemToItem | typeof MODEL_NAMES.personal = MODEL_NAMES.itemToItem,
): Promise<ItemToItemSnapshot> {
  const files = NEIGHBOUR_FILES[name];
  const meta = await store.meta(name, version);
  const k = Number(meta.params.k);
  const items = ModelItemsSchema.parse(JSON.parse((await store.readFile(name, version, files.items)).toString()));
  const nb = await store.readFile(name, version, files.neighbors);
  const sim = await store.readFile(name, version, files.similarity);
  // Copy into aligned buffers: a Buffer's byteOffset need not be a multiple of 4.
  const neighbors = new Int32Array(nb.byteLength / 4);
  new Uint8Array(neighbors.buffer).set(nb);
  const similarity = new Float32Array(sim.byteLength / 4);
  new Uint8Array(similarity.buffer).set(sim);
  if (
    !Number.isInteger(k) ||
    k <= 0 ||
    neighbors.length !== items.length * k ||
    similarity.length !== neighbors.length
  ) {
    throw new Error(`${name} ${version}: files do not match ${items.length} items × k=${k}`);
  }
  return { version, items, index: new Map(items.map((t, i) => [t.id, i])), k, neighbors, similarity };
}

/**
 * Holds the current model versions in memory and swaps them atomically when the registry's
 * `current` pointers move. A version that fails to load is logged and the old one kept.
 */
export class ModelHub {
  private snapshot: ModelSnapshot = { popularity: null, itemToItem: null, personal: null };
  private timer: NodeJS.Timeout | null = null;
  private reloading: Promise<void> | null = null;

  constructor(
    private readonly store: ModelStore,
    private readonly logger: Logger,
  ) {}

  get current(): ModelSnapshot {
    return this.snapshot;
  }

  reload(): Promise<void> {
    this.reloading ??= this.doReload().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  private async doReload(): Promise<void> {
    const next: ModelSnapshot = { ...this.snapshot };
    const pop = await this.store.currentVersion(MODEL_NAMES.popularity);
    if (pop && pop !== next.popularity?.version) {
      try {
        next.popularity = await loadPopularity(this.store, pop);
        this.logger.info({ model: MODEL_NAMES.popularity, version: pop }, "model loaded");
      } catch (err) {
        this.logger.error(
          { err, model: MODEL_NAMES.popularity, version: pop },
          "model failed to load; keeping the previous one",
        );
      }
    }
    const i2i = await this.store.currentVersion(MODEL_NAMES.itemToItem);
    if (i2i && i2i !== next.itemToItem?.version) {
      try {
        next.itemToItem = await loadItemToItem(this.store, i2i);
        this.logger.info({ model: MODEL_NAMES.itemToItem, version: i2i }, "model loaded");
      } catch (err) {
        this.logger.error(
          { err, model: MODEL_NAMES.itemToItem, version: i2i },
          "model failed to load; keeping the previous one",
        );
      }
    }
    const personal = await this.store.currentVersion(MODEL_NAMES.personal);
    if (personal && personal !== next.personal?.version) {
      try {
        next.personal = await loadItemToItem(this.store, personal, MODEL_NAMES.personal);
        this.logger.info({ model: MODEL_NAMES.personal, version: personal }, "model loaded");
      } catch (err) {
        this.logger.error(
          { err, model: MODEL_NAMES.personal, version: personal },
          "model failed to load; keeping the previous one",
        );
      }
    }
    this.snapshot = next;
  }

  /** Poll the registry's pointers (cheap: two small files) so other processes' promotions are seen. */
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
