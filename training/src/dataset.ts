import type { InteractionMatrix } from "@marquee/feature-store";

/**
 * Implicit feedback in compressed sparse rows, the shape every model and the evaluation use:
 * user `u`'s interactions are entries `indptr[u]` to `indptr[u + 1]` of `items` (item index),
 * `values` (interest, > 0) and `times` (epoch ms; 0 when unknown). Within a row, items are
 * unique and in ascending index order.
 */
export interface Interactions {
  nUsers: number;
  nItems: number;
  indptr: Uint32Array;
  items: Uint32Array;
  values: Float32Array;
  times: Float64Array;
}

/**
 * Build CSR rows from parallel (user, item, value, time) arrays in any order. A repeated
 * (user, item) pair keeps the sum of its values and its latest time. Entries with value ≤ 0
 * (a viewer turned the title down) are dropped: they are not positive interest.
 */
export function fromTriples(
  nUsers: number,
  nItems: number,
  users: ArrayLike<number>,
  items: ArrayLike<number>,
  values: ArrayLike<number> | null,
  times: ArrayLike<number> | null,
): Interactions {
  const n = users.length;
  const count = new Uint32Array(nUsers + 1);
  for (let k = 0; k < n; k++) {
    const c = (users[k] as number) + 1;
    count[c] = (count[c] as number) + 1;
  }
  for (let u = 0; u < nUsers; u++) count[u + 1] = (count[u + 1] as number) + (count[u] as number);
  const order = new Uint32Array(n);
  const fill = count.slice(0, nUsers);
  for (let k = 0; k < n; k++) {
    const u = users[k] as number;
    order[fill[u] as number] = k;
    fill[u] = (fill[u] as number) + 1;
  }
  const indptr = new Uint32Array(nUsers + 1);
  const outItems = new Uint32Array(n);
  const outValues = new Float32Array(n);
  const outTimes = new Float64Array(n);
  let w = 0;
  for (let u = 0; u < nUsers; u++) {
    const start = count[u] as number;
    const end = count[u + 1] as number;
    const row = Array.from(order.subarray(start, end)).sort((a, b) => (items[a] as number) - (items[b] as number));
    const rowStart = w;
    for (const k of row) {
      const item = items[k] as number;
      const value = values ? (values[k] as number) : 1;
      const time = times ? (times[k] as number) : 0;
      if (w > rowStart && outItems[w - 1] === item) {
        outValues[w - 1] = (outValues[w - 1] as number) + value;
        outTimes[w - 1] = Math.max(outTimes[w - 1] as number, time);
      } else {
        outItems[w] = item;
        outValues[w] = value;
        outTimes[w] = time;
        w++;
      }
    }
    // Drop entries whose net value is not positive, compacting the row.
    let keep = rowStart;
    for (let k = rowStart; k < w; k++) {
      if ((outValues[k] as number) <= 0) continue;
      outItems[keep] = outItems[k] as number;
      outValues[keep] = outValues[k] as number;
      outTimes[keep] = outTimes[k] as number;
      keep++;
    }
    w = keep;
    indptr[u + 1] = w;
  }
  return {
    nUsers,
    nItems,
    indptr,
    items: outItems.slice(0, w),
    values: outValues.slice(0, w),
    times: outTimes.slice(0, w),
  };
}

/** The feature store's matrix as CSR rows (negative net interest dropped). */
export function fromInteractionMatrix(matrix: InteractionMatrix): Interactions {
  return fromTriples(
    matrix.users.length,
    matrix.items.length,
    matrix.userIdx,
    matrix.itemIdx,
    matrix.weight,
    matrix.lastAt,
  );
}

export function interactionCount(data: Interactions): number {
  return data.items.length;
}

/** How many users interacted with each item. */
export function itemDegrees(data: Interactions): Uint32Array {
  const deg = new Uint32Array(data.nItems);
  for (let k = 0; k < data.items.length; k++) {
    const i = data.items[k] as number;
    deg[i] = (deg[i] as number) + 1;
  }
  return deg;
}

/** A small, fast, seeded PRNG (mulberry32): splits and samplers must be reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
