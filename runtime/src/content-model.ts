import {
  CONTENT_FILES,
  type ContentModelSpec,
  ContentModelSpecSchema,
  type ModelItems,
  ModelItemsSchema,
} from "@marquee/contracts";
import type { RankableNeighbours } from "./top-picks.ts";

/**
 * The content model's forward pass, in plain JavaScript: training evaluates cold titles with
 * it and serving places titles published after the last training with it, so what is served
 * is what was measured. Training fits the weights (training/src/content-model.ts); nothing
 * here trains.
 */

/** What a title says about itself: every field is optional (the catalogue may carry less). */
export interface TitleMeta {
  id: string;
  title?: string;
  genres?: readonly string[];
  year?: number;
  cast?: readonly string[];
  director?: string;
  synopsis?: string;
}

export interface ContentArtifact {
  version: string;
  spec: ContentModelSpec;
  /** The titles the weights' columns stand for. */
  items: ModelItems;
  index: ReadonlyMap<string, number>;
  /** dims × items, row-major. */
  weights: Float32Array;
}

const STOP = new Set(
  "the and for with from that this into their his her its who what when where they them are was were has have but not out one two all new film movie story".split(
    " ",
  ),
);

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function tokens(text: string, max: number): string[] {
  const out: string[] = [];
  for (const t of text.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (t.length < 3 || STOP.has(t)) continue;
    out.push(t);
    if (out.length >= max) break;
  }
  return out;
}

/**
 * A title's features, hashed into `dims` buckets and L2-normalised ("hashed-metadata-v1"):
 * genres, decade and half-decade, director, the first cast members, and word tokens of the
 * title and synopsis, each group weighted by how much it usually says about taste, plus a
 * bias. Returns sparse (bucket, value) pairs, buckets unique.
 */
export function contentFeatures(meta: TitleMeta, dims: number): { index: Int32Array; value: Float32Array } {
  const acc = new Map<number, number>();
  const add = (name: string, w: number) => {
    const b = fnv1a(name) % dims;
    acc.set(b, (acc.get(b) ?? 0) + w);
  };
  add("bias", 0.5);
  for (const g of meta.genres ?? []) add(`g:${g.toLowerCase()}`, 1);
  if (meta.year && Number.isFinite(meta.year)) {
    add(`y10:${Math.floor(meta.year / 10)}`, 0.5);
    add(`y5:${Math.floor(meta.year / 5)}`, 0.5);
  }
  if (meta.director) add(`d:${meta.director.toLowerCase()}`, 0.8);
  for (const c of (meta.cast ?? []).slice(0, 5)) add(`c:${c.toLowerCase()}`, 0.6);
  const words = [...tokens(meta.title ?? "", 8), ...tokens(meta.synopsis ?? "", 60)];
  for (const w of new Set(words)) add(`w:${w}`, 0.3);
  let norm = 0;
  for (const v of acc.values()) norm += v * v;
  norm = Math.sqrt(norm) || 1;
  const index = Int32Array.from(acc.keys());
  const value = Float32Array.from(acc.values(), (v) => v / norm);
  return { index, value };
}

/** The predicted weight from a title with these features to every item of `model` (length items). */
export function contentRow(model: ContentArtifact, meta: TitleMeta, out?: Float32Array): Float32Array {
  const n = model.items.length;
  const row = out ?? new Float32Array(n);
  row.fill(0);
  const f = contentFeatures(meta, model.spec.dims);
  for (let x = 0; x < f.index.length; x++) {
    const off = (f.index[x] as number) * n;
    const v = f.value[x] as number;
    for (let j = 0; j < n; j++) row[j] = (row[j] as number) + v * (model.weights[off + j] as number);
  }
  return row;
}

/**
 * A never-watched title's neighbours by its metadata: the `k` items of the content model with
 * the strongest positive predicted weight, best first, excluding the title itself and any id
 * `skip` says. Weights are on the personal model's scale.
 */
export function coldNeighbours(
  model: ContentArtifact,
  meta: TitleMeta,
  k = model.spec.k,
  skip: (id: string) => boolean = () => false,
): { id: string; weight: number }[] {
  const row = contentRow(model, meta);
  const best: { id: string; weight: number }[] = [];
  for (let j = 0; j < row.length; j++) {
    const w = row[j] as number;
    if (!(w > 0)) continue;
    if (best.length === k && w <= (best[k - 1] as { weight: number }).weight) continue;
    const id = (model.items[j] as { id: string }).id;
    if (id === meta.id || skip(id)) continue;
    let at = best.length < k ? best.length : k - 1;
    while (at > 0 && (best[at - 1] as { weight: number }).weight < w) {
      best[at] = best[at - 1] as { id: string; weight: number };
      at--;
    }
    best[at] = { id, weight: w };
  }
  return best;
}

/**
 * `base` with titles it does not know added from their metadata, in the same layout, so
 * `rankTopPicks` and "More like this" reach them: each new title gets a row (its k cold
 * neighbours among `base`'s items), and is written into the rows of those neighbours. Each
 * row gets `slots` extra places for new titles (k grows by `slots`): a new title never pushes
 * out a row's own neighbours, and a row keeps its `slots` strongest new titles. Rows stay in
 * descending order. Titles `base` already has are left as they are; returns `base` itself when
 * nothing is new. Cost: one pass over the content weights per new title (its non-zero features
 * × items), plus a copy of `base`'s arrays: run it when the catalogue or a model changes, not
 * per request.
 */
export function withColdTitles<N extends RankableNeighbours & { items: readonly { id: string }[] }>(
  base: N,
  model: ContentArtifact,
  titles: readonly TitleMeta[],
  toItem: (meta: TitleMeta) => N["items"][number],
  options: { slots?: number } = {},
): N {
  const fresh = titles.filter((t) => !base.index.has(t.id));
  if (fresh.length === 0) return base;
  const slots = options.slots ?? 10;
  const k0 = base.k;
  const k = k0 + slots;
  const n0 = base.items.length;
  const n = n0 + fresh.length;
  const neighbors = new Int32Array(n * k).fill(-1);
  const similarity = new Float32Array(n * k);
  for (let i = 0; i < n0; i++) {
    neighbors.set(base.neighbors.subarray(i * k0, i * k0 + k0), i * k);
    similarity.set(base.similarity.subarray(i * k0, i * k0 + k0), i * k);
  }
  const items = [...base.items, ...fresh.map(toItem)];
  const index = new Map(base.index);
  fresh.forEach((t, x) => {
    index.set(t.id, n0 + x);
  });
  const freshIds = new Set(fresh.map((t) => t.id));
  const coldCount = new Uint16Array(n0);
  const remove = (o: number, p: number) => {
    for (let x = p; x < k - 1; x++) {
      neighbors[o + x] = neighbors[o + x + 1] as number;
      similarity[o + x] = similarity[o + x + 1] as number;
    }
    neighbors[o + k - 1] = -1;
    similarity[o + k - 1] = 0;
  };
  const insert = (row: number, c: number, w: number) => {
    const o = row * k;
    if ((coldCount[row] as number) >= slots) {
      let weakest = -1;
      for (let x = 0; x < k && (neighbors[o + x] as number) >= 0; x++)
        if ((neighbors[o + x] as number) >= n0) weakest = x; // descending: the last new one is the weakest
      if (weakest < 0 || (similarity[o + weakest] as number) >= w) return;
      remove(o, weakest);
      coldCount[row] = (coldCount[row] as number) - 1;
    }
    let len = 0;
    while (len < k && (neighbors[o + len] as number) >= 0) len++;
    let at = len;
    while (at > 0 && (similarity[o + at - 1] as number) < w) {
      neighbors[o + at] = neighbors[o + at - 1] as number;
      similarity[o + at] = similarity[o + at - 1] as number;
      at--;
    }
    neighbors[o + at] = c;
    similarity[o + at] = w;
    coldCount[row] = (coldCount[row] as number) + 1;
  };
  fresh.forEach((t, x) => {
    const c = n0 + x;
    const near = coldNeighbours(model, t, k0, (id) => freshIds.has(id) || !base.index.has(id));
    near.forEach((nb, r) => {
      const j = base.index.get(nb.id) as number;
      neighbors[c * k + r] = j;
      similarity[c * k + r] = nb.weight;
      insert(j, c, nb.weight);
    });
  });
  return { ...base, items, index, k, neighbors, similarity };
}

/** The reader of CONTENT_FILES (files in memory or read from the registry); throws on a mismatch. */
export function parseContentArtifact(
  version: string,
  files: Readonly<Record<string, string | Uint8Array>>,
): ContentArtifact {
  const text = (f: string) => {
    const d = files[f];
    if (d === undefined) throw new Error(`content ${version}: ${f} is missing`);
    return typeof d === "string" ? d : new TextDecoder().decode(d);
  };
  const spec = ContentModelSpecSchema.parse(JSON.parse(text(CONTENT_FILES.spec)));
  const items = ModelItemsSchema.parse(JSON.parse(text(CONTENT_FILES.items)));
  const raw = files[CONTENT_FILES.weights];
  if (raw === undefined || typeof raw === "string") throw new Error(`content ${version}: weights.bin is missing`);
  const weights = new Float32Array(Math.floor(raw.byteLength / 4));
  new Uint8Array(weights.buffer).set(raw.subarray(0, weights.byteLength));
  if (raw.byteLength !== weights.byteLength || weights.length !== spec.dims * items.length) {
    throw new Error(`content ${version}: weights do not match ${spec.dims} dims × ${items.length} items`);
  }
  return { version, spec, items, index: new Map(items.map((t, i) => [t.id, i])), weights };
}
