import {
  CONTENT_FILES,
  ITEM_TO_ITEM_FILES,
  MODEL_NAMES,
  type ModelItems,
  ModelItemsSchema,
  PERSONAL_FILES,
  POPULARITY_FILES,
  type PopularityScores,
  PopularityScoresSchema,
} from "@marquee/contracts";
import { type ContentArtifact, parseContentArtifact } from "./content-model.ts";
import type { ModelStore } from "./model-store.ts";

/**
 * The one reader of model files (the layouts in contracts/src/models.ts): serving loads its
 * snapshots through it and training reads stored versions back through it (e.g. to score a
 * holdout), so a layout change is made in one place and checked the same way for both.
 * Every reader validates shapes and throws on a mismatch: a half-understood model must not
 * be served.
 */

export interface PopularityArtifact {
  version: string;
  items: ModelItems;
  scores: PopularityScores;
}

/** item-to-item and personal share this layout: per item, its k best neighbours and weights. */
export interface NeighbourArtifact {
  name: NeighbourModelName;
  version: string;
  items: ModelItems;
  k: number;
  /** items × k item indexes, -1 padding after an item's last neighbour. */
  neighbors: Int32Array;
  /** Same shape: similarity (item-to-item) or weight (personal), descending within an item. */
  weights: Float32Array;
}

export type NeighbourModelName = typeof MODEL_NAMES.itemToItem | typeof MODEL_NAMES.personal;

const NEIGHBOUR_FILES = {
  [MODEL_NAMES.itemToItem]: {
    items: ITEM_TO_ITEM_FILES.items,
    neighbors: ITEM_TO_ITEM_FILES.neighbors,
    weights: ITEM_TO_ITEM_FILES.similarity,
  },
  [MODEL_NAMES.personal]: PERSONAL_FILES,
} as const;

async function readJson(store: ModelStore, name: string, version: string, file: string): Promise<unknown> {
  return JSON.parse((await store.readFile(name, version, file)).toString());
}

/** Copy into an aligned buffer: a Buffer's byteOffset need not be a multiple of 4. */
function int32s(buf: Uint8Array): Int32Array {
  const out = new Int32Array(Math.floor(buf.byteLength / 4));
  new Uint8Array(out.buffer).set(buf.subarray(0, out.byteLength));
  return out;
}

function float32s(buf: Uint8Array): Float32Array {
  const out = new Float32Array(Math.floor(buf.byteLength / 4));
  new Uint8Array(out.buffer).set(buf.subarray(0, out.byteLength));
  return out;
}

export async function readPopularityArtifact(store: ModelStore, version: string): Promise<PopularityArtifact> {
  const name = MODEL_NAMES.popularity;
  const items = ModelItemsSchema.parse(await readJson(store, name, version, POPULARITY_FILES.items));
  const scores = PopularityScoresSchema.parse(await readJson(store, name, version, POPULARITY_FILES.scores));
  if (scores.popular.length !== items.length || scores.trending.length !== items.length) {
    throw new Error(`${name} ${version}: scores do not match items`);
  }
  return { version, items, scores };
}

export async function readNeighbourArtifact(
  store: ModelStore,
  name: NeighbourModelName,
  version: string,
): Promise<NeighbourArtifact> {
  const files = NEIGHBOUR_FILES[name];
  const meta = await store.meta(name, version);
  return parseNeighbourArtifact(name, version, meta.params.k, {
    [files.items]: await store.readFile(name, version, files.items),
    [files.neighbors]: await store.readFile(name, version, files.neighbors),
    [files.weights]: await store.readFile(name, version, files.weights),
  });
}

/**
 * The same reader over files in memory (a model's files before they are stored, as training
 * builds them: the promotion gate scores a candidate from exactly these bytes). `k` is the
 * version's `params.k`.
 */
export function parseNeighbourArtifact(
  name: NeighbourModelName,
  version: string,
  kParam: unknown,
  files: Readonly<Record<string, string | Uint8Array>>,
): NeighbourArtifact {
  const names = NEIGHBOUR_FILES[name];
  const file = (f: string) => {
    const data = files[f];
    if (data === undefined) throw new Error(`${name} ${version}: ${f} is missing`);
    return data;
  };
  const bytes = (f: string) => {
    const data = file(f);
    return typeof data === "string" ? new TextEncoder().encode(data) : data;
  };
  const k = Number(kParam);
  const text = file(names.items);
  const items = ModelItemsSchema.parse(JSON.parse(typeof text === "string" ? text : new TextDecoder().decode(text)));
  const nb = bytes(names.neighbors);
  const wt = bytes(names.weights);
  const neighbors = int32s(nb);
  const weights = float32s(wt);
  if (
    !Number.isInteger(k) ||
    k <= 0 ||
    nb.byteLength !== neighbors.byteLength ||
    neighbors.length !== items.length * k ||
    weights.length !== neighbors.length ||
    wt.byteLength !== weights.byteLength
  ) {
    throw new Error(`${name} ${version}: files do not match ${items.length} items × k=${k}`);
  }
  for (const j of neighbors) {
    if (j < -1 || j >= items.length) throw new Error(`${name} ${version}: neighbour index ${j} out of range`);
  }
  return { name, version, items, k, neighbors, weights };
}

/** The content model (CONTENT_FILES) of a stored version, checked as `parseContentArtifact` does. */
export async function readContentArtifact(store: ModelStore, version: string): Promise<ContentArtifact> {
  const name = MODEL_NAMES.content;
  return parseContentArtifact(version, {
    [CONTENT_FILES.items]: await store.readFile(name, version, CONTENT_FILES.items),
    [CONTENT_FILES.spec]: await store.readFile(name, version, CONTENT_FILES.spec),
    [CONTENT_FILES.weights]: await store.readFile(name, version, CONTENT_FILES.weights),
  });
}
