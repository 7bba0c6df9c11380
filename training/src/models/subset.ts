import { fromTriples, type Interactions } from "../dataset.ts";

/**
 * The same interactions restricted to a subset of items, re-indexed 0..subset-1: how a
 * quadratic-memory model (EASE) serves a catalogue larger than it can hold, by modelling
 * the most-interacted titles only.
 */
export function restrictItems(data: Interactions, keep: ArrayLike<number>): Interactions {
  const map = new Int32Array(data.nItems).fill(-1);
  for (let x = 0; x < keep.length; x++) map[keep[x] as number] = x;
  const users: number[] = [];
  const items: number[] = [];
  const values: number[] = [];
  const times: number[] = [];
  for (let u = 0; u < data.nUsers; u++) {
    for (let p = data.indptr[u] as number; p < (data.indptr[u + 1] as number); p++) {
      const j = map[data.items[p] as number] as number;
      if (j < 0) continue;
      users.push(u);
      items.push(j);
      values.push(data.values[p] as number);
      times.push(data.times[p] as number);
    }
  }
  return fromTriples(data.nUsers, keep.length, users, items, values, times);
}
