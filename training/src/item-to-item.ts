import { ITEM_TO_ITEM_FILES, type ModelItems } from "@marquee/contracts";
import type { InteractionMatrix } from "@marquee/feature-store";

export interface ItemToItemParams {
  /** Neighbours kept per title. */
  k: number;
  /** Added to the cosine denominator: damps similarities resting on very few viewers. */
  shrink: number;
  /** Per viewer, only the strongest this-many titles count (bounds the quadratic work). */
  maxPerUser: number;
}

export const DEFAULT_ITEM_TO_ITEM: ItemToItemParams = { k: 50, shrink: 5, maxPerUser: 200 };

export interface ItemToItemModel {
  items: ModelItems;
  k: number;
  neighbors: Int32Array;
  similarity: Float32Array;
}

/**
 * Item-to-item similarity from co-occurrence: cosine between titles' viewer vectors, where a
 * viewer's value for a title is log(1 + positive interest). Computed with sparse rows per
 * viewer and a dense accumulator per title, so the cost is Σ over viewers of (titles per
 * viewer)², not titles².
 */
export function fitItemToItem(
  catalogue: ModelItems,
  matrix: InteractionMatrix,
  params: ItemToItemParams = DEFAULT_ITEM_TO_ITEM,
): ItemToItemModel {
  const n = catalogue.length;
  const index = new Map(catalogue.map((t, i) => [t.id, i]));
  const toCatalogue = Int32Array.from(matrix.items, (id) => index.get(id) ?? -1);

  // Per-viewer sparse rows of (title, value), strongest first, capped.
  const userStart: number[] = [0];
  const rowItems: number[] = [];
  const rowValues: number[] = [];
  let k = 0;
  const total = matrix.userIdx.length;
  while (k < total) {
    const u = matrix.userIdx[k] as number;
    const entries: [number, number][] = [];
    for (; k < total && matrix.userIdx[k] === u; k++) {
      const w = matrix.weight[k] as number;
      const item = toCatalogue[matrix.itemIdx[k] as number] as number;
      if (w > 0 && item >= 0) entries.push([item, Math.log1p(w)]);
    }
    if (entries.length > params.maxPerUser) {
      entries.sort((a, b) => b[1] - a[1]);
      entries.length = params.maxPerUser;
    }
    if (entries.length < 2) continue; // a single title co-occurs with nothing
    for (const [item, v] of entries) {
      rowItems.push(item);
      rowValues.push(v);
    }
    userStart.push(rowItems.length);
  }
  const users = userStart.length - 1;

  // Title → viewers index (CSR), and each title's norm.
  const itemCount = new Int32Array(n + 1);
  for (const item of rowItems) itemCount[item + 1] = (itemCount[item + 1] as number) + 1;
  for (let i = 0; i < n; i++) itemCount[i + 1] = (itemCount[i + 1] as number) + (itemCount[i] as number);
  const itemUsers = new Int32Array(rowItems.length);
  const itemUserValues = new Float32Array(rowItems.length);
  const fill = itemCount.slice(0, n);
  const norm = new Float64Array(n);
  for (let u = 0; u < users; u++) {
    for (let p = userStart[u] as number; p < (userStart[u + 1] as number); p++) {
      const item = rowItems[p] as number;
      const v = rowValues[p] as number;
      const at = fill[item] as number;
      itemUsers[at] = u;
      itemUserValues[at] = v;
      fill[item] = at + 1;
      norm[item] = (norm[item] as number) + v * v;
    }
  }
  for (let i = 0; i < n; i++) norm[i] = Math.sqrt(norm[i] as number);

  const K = params.k;
  const neighbors = new Int32Array(n * K).fill(-1);
  const similarity = new Float32Array(n * K);
  const acc = new Float64Array(n);
  const touched = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let touchedCount = 0;
    for (let p = itemCount[i] as number; p < (itemCount[i + 1] as number); p++) {
      const u = itemUsers[p] as number;
      const vi = itemUserValues[p] as number;
      for (let q = userStart[u] as number; q < (userStart[u + 1] as number); q++) {
        const j = rowItems[q] as number;
        if (j === i) continue;
        if (acc[j] === 0) touched[touchedCount++] = j;
        acc[j] = (acc[j] as number) + vi * (rowValues[q] as number);
      }
    }
    const candidates: [number, number][] = [];
    for (let t = 0; t < touchedCount; t++) {
      const j = touched[t] as number;
      candidates.push([j, (acc[j] as number) / ((norm[i] as number) * (norm[j] as number) + params.shrink)]);
      acc[j] = 0;
    }
    candidates.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const m = Math.min(K, candidates.length);
    for (let r = 0; r < m; r++) {
      const [j, s] = candidates[r] as [number, number];
      neighbors[i * K + r] = j;
      similarity[i * K + r] = s;
    }
  }
  return { items: catalogue, k: K, neighbors, similarity };
}

export function itemToItemFiles(model: ItemToItemModel): Record<string, string | Uint8Array> {
  return {
    [ITEM_TO_ITEM_FILES.items]: JSON.stringify(model.items),
    [ITEM_TO_ITEM_FILES.neighbors]: new Uint8Array(
      model.neighbors.buffer,
      model.neighbors.byteOffset,
      model.neighbors.byteLength,
    ),
    [ITEM_TO_ITEM_FILES.similarity]: new Uint8Array(
      model.similarity.buffer,
      model.similarity.byteOffset,
      model.similarity.byteLength,
    ),
  };
}
