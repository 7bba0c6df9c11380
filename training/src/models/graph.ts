import type { Interactions } from "../dataset.ts";
import { topK } from "../eval/metrics.ts";
import { type Progress, progressWithEta } from "../progress.ts";

/**
 * The served form every personal-model candidate is reduced to: per item, its k strongest
 * positive weights to other items (descending, -1 / 0 padding), items × k. It is the
 * personal-model file layout (contracts/src/models.ts, PERSONAL_FILES) and what serving's
 * `rankTopPicks` ranks with.
 */
export interface NeighbourLists {
  k: number;
  neighbors: Int32Array;
  weights: Float32Array;
}

export function emptyNeighbours(nItems: number, k: number): NeighbourLists {
  return { k, neighbors: new Int32Array(nItems * k).fill(-1), weights: new Float32Array(nItems * k) };
}

/**
 * A graph score over the user–item bipartite graph, computed from co-occurrences:
 * - `rp3b` (Paudel et al. 2017, RP3β): the 3-step random-walk probability i → u → j with
 *   transition probabilities raised to α, divided by popularity(j)^β:
 *   w(i→j) = deg(i)^-α · Σ_{u ∋ i,j} deg(u)^-α · deg(j)^-β;
 * - `cosine` (item-kNN): c(i,j) / (√deg(i) · √deg(j) + shrink).
 * `headOnlyTail`: for the EASE head + graph tail blend — rows of head items (flag 1) keep only
 * tail targets (EASE covers head → head), tail rows keep every target.
 */
export type GraphVariant =
  | { kind: "rp3b"; alpha: number; beta: number; headOnlyTail?: Uint8Array }
  | { kind: "cosine"; shrink: number };

/**
 * Fits every variant in one pass over the co-occurrences (Σ over users of deg(u)² steps, like
 * EASE's Gram matrix, but never holding an items × items matrix): row by row, a sparse
 * accumulator over the items the row's users touched, then each variant's k best.
 * X is binary (did the user interact), as for EASE.
 */
export function fitGraphNeighbours(
  data: Interactions,
  variants: readonly GraphVariant[],
  k: number,
  progress?: Progress,
): NeighbourLists[] {
  const n = data.nItems;
  const itemDeg = new Float64Array(n);
  for (let p = 0; p < data.items.length; p++) {
    const i = data.items[p] as number;
    itemDeg[i] = (itemDeg[i] as number) + 1;
  }
  // item → users (CSC), for walking i → u → j.
  const colPtr = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) colPtr[i + 1] = (colPtr[i] as number) + (itemDeg[i] as number);
  const colUsers = new Uint32Array(data.items.length);
  const fill = colPtr.slice(0, n);
  for (let u = 0; u < data.nUsers; u++) {
    for (let p = data.indptr[u] as number; p < (data.indptr[u + 1] as number); p++) {
      const i = data.items[p] as number;
      colUsers[fill[i] as number] = u;
      fill[i] = (fill[i] as number) + 1;
    }
  }
  const alphas = [...new Set(variants.filter((v) => v.kind === "rp3b").map((v) => v.alpha))];
  const userPow = alphas.map((a) => {
    const out = new Float64Array(data.nUsers);
    for (let u = 0; u < data.nUsers; u++) {
      const d = (data.indptr[u + 1] as number) - (data.indptr[u] as number);
      out[u] = d > 0 ? d ** -a : 0;
    }
    return out;
  });
  const count = new Float64Array(n);
  const walk = alphas.map(() => new Float64Array(n));
  const touched = new Int32Array(n);
  const flag = new Uint8Array(n);
  const out = variants.map(() => emptyNeighbours(n, k));
  const cand = new Float32Array(n);
  const top = new Int32Array(k);
  const tick = progressWithEta(progress, "graph rows", n);
  for (let i = 0; i < n; i++) {
    let reached = 0;
    for (let q = colPtr[i] as number; q < (colPtr[i + 1] as number); q++) {
      const u = colUsers[q] as number;
      for (let p = data.indptr[u] as number; p < (data.indptr[u + 1] as number); p++) {
        const j = data.items[p] as number;
        if (j === i) continue;
        if (flag[j] === 0) {
          flag[j] = 1;
          touched[reached++] = j;
        }
        count[j] = (count[j] as number) + 1;
        for (let a = 0; a < alphas.length; a++) {
          const w = walk[a] as Float64Array;
          w[j] = (w[j] as number) + ((userPow[a] as Float64Array)[u] as number);
        }
      }
    }
    const di = itemDeg[i] as number;
    variants.forEach((v, x) => {
      const lists = out[x] as NeighbourLists;
      let m = 0;
      if (v.kind === "rp3b") {
        const w = walk[alphas.indexOf(v.alpha)] as Float64Array;
        const headRow = v.headOnlyTail ? v.headOnlyTail[i] === 1 : false;
        const rowScale = di ** -v.alpha;
        for (let t = 0; t < reached; t++) {
          const j = touched[t] as number;
          cand[m++] =
            headRow && v.headOnlyTail?.[j] === 1
              ? Number.NEGATIVE_INFINITY
              : rowScale * (w[j] as number) * (itemDeg[j] as number) ** -v.beta;
        }
      } else {
        const si = Math.sqrt(di);
        for (let t = 0; t < reached; t++) {
          const j = touched[t] as number;
          cand[m++] = (count[j] as number) / (si * Math.sqrt(itemDeg[j] as number) + v.shrink);
        }
      }
      keepBest(lists, i, cand.subarray(0, m), touched, top);
    });
    for (let t = 0; t < reached; t++) {
      const j = touched[t] as number;
      flag[j] = 0;
      count[j] = 0;
      for (const w of walk) w[j] = 0;
    }
    tick(i + 1);
  }
  return out;
}

/** Row `row`'s k best positive candidates (`scores[t]` is the score of item `ids[t]`). */
function keepBest(lists: NeighbourLists, row: number, scores: Float32Array, ids: Int32Array, top: Int32Array): void {
  const k = lists.k;
  topK(scores, Math.min(k, top.length), top);
  let r = 0;
  for (let x = 0; x < top.length && r < k; x++) {
    const t = top[x] as number;
    if (t < 0) break;
    const s = scores[t] as number;
    if (!(s > 0)) break;
    lists.neighbors[row * k + r] = ids[t] as number;
    lists.weights[row * k + r] = s;
    r++;
  }
}

/**
 * EASE's item-item weights (dense, m × m over `modelled`, or over every item) as neighbour
 * lists over all `nItems`: each modelled row keeps its k strongest positive weights; rows of
 * items EASE does not model stay empty.
 */
export function denseToNeighbours(
  weights: Float32Array,
  modelled: Uint32Array | undefined,
  nItems: number,
  k: number,
): NeighbourLists {
  const lists = emptyNeighbours(nItems, k);
  const m = modelled ? modelled.length : nItems;
  const row = new Float32Array(m);
  const top = new Int32Array(Math.min(k, m));
  for (let x = 0; x < m; x++) {
    const i = modelled ? (modelled[x] as number) : x;
    row.set(weights.subarray(x * m, x * m + m));
    for (let j = 0; j < m; j++) if (!((row[j] as number) > 0)) row[j] = Number.NEGATIVE_INFINITY;
    row[x] = Number.NEGATIVE_INFINITY;
    topK(row, top.length, top);
    for (let r = 0; r < top.length; r++) {
      const j = top[r] as number;
      if (j < 0) break;
      lists.neighbors[i * k + r] = modelled ? (modelled[j] as number) : j;
      lists.weights[i * k + r] = row[j] as number;
    }
  }
  return lists;
}

/** The median of each non-empty row's strongest weight (the scale a row speaks in). */
export function medianTopWeight(lists: NeighbourLists, rows?: (i: number) => boolean): number {
  const n = lists.neighbors.length / lists.k;
  const tops: number[] = [];
  for (let i = 0; i < n; i++) {
    if (rows && !rows(i)) continue;
    if ((lists.neighbors[i * lists.k] as number) >= 0) tops.push(lists.weights[i * lists.k] as number);
  }
  if (tops.length === 0) return 0;
  tops.sort((a, b) => a - b);
  return tops[Math.floor(tops.length / 2)] as number;
}

/**
 * Per row, the k best of `a`'s entries and `b`'s entries × `scaleB` (an item in both keeps the
 * sum): the EASE head + graph tail blend, where `b`'s head rows hold only tail targets.
 */
export function mergeNeighbours(a: NeighbourLists, b: NeighbourLists, scaleB: number, k: number): NeighbourLists {
  const n = a.neighbors.length / a.k;
  const out = emptyNeighbours(n, k);
  const ids = new Int32Array(a.k + b.k);
  const scores = new Float32Array(a.k + b.k);
  const top = new Int32Array(k);
  const at = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    at.clear();
    let m = 0;
    const add = (j: number, w: number) => {
      const prev = at.get(j);
      if (prev !== undefined) scores[prev] = (scores[prev] as number) + w;
      else {
        at.set(j, m);
        ids[m] = j;
        scores[m++] = w;
      }
    };
    for (let r = 0; r < a.k; r++) {
      const j = a.neighbors[i * a.k + r] as number;
      if (j < 0) break;
      add(j, a.weights[i * a.k + r] as number);
    }
    for (let r = 0; r < b.k; r++) {
      const j = b.neighbors[i * b.k + r] as number;
      if (j < 0) break;
      add(j, scaleB * (b.weights[i * b.k + r] as number));
    }
    keepBest(out, i, scores.subarray(0, m), ids, top);
  }
  return out;
}
