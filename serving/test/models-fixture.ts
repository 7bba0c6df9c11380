import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ITEM_TO_ITEM_FILES, MODEL_NAMES, type ModelItems, PERSONAL_FILES, POPULARITY_FILES } from "@marquee/contracts";
import { ModelStore } from "@marquee/runtime";

/**
 * Writes real model versions (the registry's files, in contracts' layouts) for serving's tests:
 * titles with their popularity, and neighbour lists per title for item-to-item or personal.
 */
export type Neighbours = Record<string, [id: string, weight: number][]>;

export async function tempModelStore(): Promise<{ store: ModelStore; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(path.join(tmpdir(), "marquee-serving-"));
  return { store: new ModelStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
}

async function publish(store: ModelStore, name: string, files: Record<string, string | Uint8Array>, k?: number) {
  const meta = await store.write(
    { name, data_until: null, metrics: {}, backend: "test", git_sha: null, params: k ? { k } : {} },
    files,
  );
  await store.setCurrent(name, meta.version);
  return meta.version;
}

/** `popular[i]` / `trending[i]` per item (defaults: descending in list order). */
export function publishPopularity(
  store: ModelStore,
  items: ModelItems,
  scores: { popular?: number[]; trending?: number[] } = {},
): Promise<string> {
  const desc = items.map((_, i) => 1 - i / items.length);
  return publish(store, MODEL_NAMES.popularity, {
    [POPULARITY_FILES.items]: JSON.stringify(items),
    [POPULARITY_FILES.scores]: JSON.stringify({ popular: scores.popular ?? desc, trending: scores.trending ?? desc }),
  });
}

export function publishNeighbours(
  store: ModelStore,
  name: typeof MODEL_NAMES.itemToItem | typeof MODEL_NAMES.personal,
  items: ModelItems,
  neighbours: Neighbours,
): Promise<string> {
  const index = new Map(items.map((t, i) => [t.id, i]));
  const k = Math.max(1, ...Object.values(neighbours).map((n) => n.length));
  const nb = new Int32Array(items.length * k).fill(-1);
  const w = new Float32Array(items.length * k);
  for (const [from, list] of Object.entries(neighbours)) {
    const i = index.get(from) as number;
    list.forEach(([to, weight], r) => {
      nb[i * k + r] = index.get(to) as number;
      w[i * k + r] = weight;
    });
  }
  const files =
    name === MODEL_NAMES.itemToItem
      ? { items: ITEM_TO_ITEM_FILES.items, nb: ITEM_TO_ITEM_FILES.neighbors, w: ITEM_TO_ITEM_FILES.similarity }
      : { items: PERSONAL_FILES.items, nb: PERSONAL_FILES.neighbors, w: PERSONAL_FILES.weights };
  return publish(
    store,
    name,
    {
      [files.items]: JSON.stringify(items),
      [files.nb]: new Uint8Array(nb.buffer),
      [files.w]: new Uint8Array(w.buffer),
    },
    k,
  );
}

/** Writes a version whose files are wrong (scores do not match the items) and points `current` at it. */
export function publishBrokenPopularity(store: ModelStore, items: ModelItems): Promise<string> {
  return publish(store, MODEL_NAMES.popularity, {
    [POPULARITY_FILES.items]: JSON.stringify(items),
    [POPULARITY_FILES.scores]: JSON.stringify({ popular: [1], trending: [1] }),
  });
}
