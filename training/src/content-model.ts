import { CONTENT_FILES, type ContentModelSpec, type ModelItems } from "@marquee/contracts";
import {
  type ContentArtifact,
  contentFeatures,
  contentRow,
  parseContentArtifact,
  type RankableNeighbours,
  rankTopPicks,
  type TitleMeta,
  withColdTitles,
} from "@marquee/runtime";
import { fromTriples, type Interactions, itemDegrees, mulberry32 } from "./dataset.ts";
import { userMetrics } from "./eval/metrics.ts";
import { fitGraphNeighbours, medianTopWeight, type NeighbourLists } from "./models/graph.ts";
import { invertSpdSmall } from "./models/linalg.ts";
import type { Progress } from "./progress.ts";
import type { TfHandle } from "./tf-backend.ts";

/**
 * The content model: a ridge regression from a title's hashed metadata (runtime's
 * `contentFeatures`: genres, years, director, cast, title and synopsis words) to its row of
 * the interaction graph, learned over every title with enough interactions. So it learns from
 * what viewers did which metadata matters (a genre that splits audiences, a director with a
 * following), and a title nobody has watched gets neighbours from its metadata alone.
 *
 *   W = (FᵀF + λI)⁻¹ Fᵀ T,   F: titles × dims features,  T: titles × titles targets,
 *
 * T is the symmetrised RP3β graph (α = 1, β = 0.5) — symmetric so that a prediction serves
 * both directions: the cold title's own neighbours ("More like this", viewers of it) and its
 * place in other titles' rows (everyone else's Top picks). The graph is cheap on any catalogue
 * (no items² matrix), so the content model is fitted the same way whatever personal model
 * wins, and the predictions are rescaled to the personal model's weights (`scaleTo`). The
 * regression's dims × dims solve is tiny; Fᵀ T is sparse; the one big product runs on tfjs.
 */

export const CONTENT_DIMS = 512;
const DEFAULT_LAMBDA = 1;
/** Titles need this many interactions for their graph row to be a target worth learning. */
const MIN_TARGET_DEGREE = 3;
export const CONTENT_K = 100;
/**
 * A title with this many interactions is half its own row, half the content model's. Measured
 * (3k users × 2k titles, RP3β, served nDCG@10 on the test split): no blend 0.2402, m = 0.5
 * 0.2402, m = 2 0.2389, m = 10 0.2245 — a few interactions already say more than metadata.
 */
export const BLEND_INTERACTIONS = 1;

export interface ContentFitOptions {
  dims?: number;
  lambda?: number;
  k?: number;
  /** Rescale predictions so the median strongest weight matches these lists' (the served personal model's). */
  scaleTo?: NeighbourLists;
  progress?: Progress;
}

export interface ContentModelFit {
  artifact: ContentArtifact;
  files: Record<string, string | Uint8Array>;
  seconds: number;
}

/** Items' metadata in index order: ModelItems carry title, genres and year; richer metadata may add the rest. */
export type ItemMeta = readonly TitleMeta[];

export async function fitContentModel(
  handle: TfHandle,
  data: Interactions,
  items: ModelItems,
  meta: ItemMeta,
  options: ContentFitOptions = {},
): Promise<ContentModelFit> {
  const started = performance.now();
  const dims = options.dims ?? CONTENT_DIMS;
  const lambda = options.lambda ?? DEFAULT_LAMBDA;
  const n = data.nItems;
  const [graph] = fitGraphNeighbours(data, [{ kind: "rp3b", alpha: 1, beta: 0.5 }], 50, options.progress);
  const g = graph as NeighbourLists;
  const deg = itemDegrees(data);
  const feats = meta.map((m) => contentFeatures(m, dims));
  const a = new Float64Array(dims * dims);
  const ft = new Float32Array(dims * n);
  const target = (i: number) => (deg[i] as number) >= MIN_TARGET_DEGREE;
  for (let i = 0; i < n; i++) {
    if (!target(i)) continue;
    const f = feats[i] as { index: Int32Array; value: Float32Array };
    for (let x = 0; x < f.index.length; x++)
      for (let y = 0; y < f.index.length; y++) {
        const at = (f.index[x] as number) * dims + (f.index[y] as number);
        a[at] = (a[at] as number) + (f.value[x] as number) * (f.value[y] as number);
      }
    // T = (G + Gᵀ) / 2: entry (i → j, w) adds w/2 to row i at column j and to row j at column i.
    for (let r = 0; r < g.k; r++) {
      const j = g.neighbors[i * g.k + r] as number;
      if (j < 0) break;
      const w = (g.weights[i * g.k + r] as number) / 2;
      for (let x = 0; x < f.index.length; x++) {
        const o = (f.index[x] as number) * n;
        ft[o + j] = (ft[o + j] as number) + (f.value[x] as number) * w;
      }
      if (!target(j)) continue;
      const fj = feats[j] as { index: Int32Array; value: Float32Array };
      for (let x = 0; x < fj.index.length; x++) {
        const o = (fj.index[x] as number) * n;
        ft[o + i] = (ft[o + i] as number) + (fj.value[x] as number) * w;
      }
    }
  }
  for (let d = 0; d < dims; d++) a[d * dims + d] = (a[d * dims + d] as number) + lambda;
  const inv = Float32Array.from(invertSpdSmall(a, dims));
  const { tf } = handle;
  const product = tf.tidy(() => tf.matMul(tf.tensor2d(inv, [dims, dims]), tf.tensor2d(ft, [dims, n])));
  const weights = (await product.data()) as Float32Array;
  product.dispose();
  const spec: ContentModelSpec = {
    dims,
    features: "hashed-metadata-v1",
    k: options.k ?? CONTENT_K,
    blend_interactions: BLEND_INTERACTIONS,
  };
  let artifact: ContentArtifact = {
    version: "fit",
    spec,
    items,
    index: new Map(items.map((t, i) => [t.id, i])),
    weights,
  };
  if (options.scaleTo) {
    // Predicted rows of warm titles against their graph rows' scale, mapped onto the served one.
    const predictedTop = medianPredictedTop(artifact, meta, deg);
    const servedTop = medianTopWeight(options.scaleTo);
    const scale = predictedTop > 0 && servedTop > 0 ? servedTop / predictedTop : 1;
    for (let x = 0; x < weights.length; x++) weights[x] = (weights[x] as number) * scale;
    artifact = { ...artifact, weights };
  }
  const files = {
    [CONTENT_FILES.items]: JSON.stringify(items),
    [CONTENT_FILES.spec]: JSON.stringify(spec),
    [CONTENT_FILES.weights]: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength),
  };
  options.progress?.("content model fitted", { dims, lambda, items: n, seconds: (performance.now() - started) / 1000 });
  return { artifact: parseContentArtifact("fit", files), files, seconds: (performance.now() - started) / 1000 };
}

/** Median over a sample of warm titles of their strongest predicted weight. */
function medianPredictedTop(model: ContentArtifact, meta: ItemMeta, deg: Uint32Array): number {
  const tops: number[] = [];
  const row = new Float32Array(model.items.length);
  for (let i = 0; i < meta.length && tops.length < 200; i += Math.max(1, Math.floor(meta.length / 400))) {
    if ((deg[i] as number) < MIN_TARGET_DEGREE) continue;
    contentRow(model, meta[i] as TitleMeta, row);
    let best = 0;
    for (let j = 0; j < row.length; j++) if (j !== i && (row[j] as number) > best) best = row[j] as number;
    if (best > 0) tops.push(best);
  }
  tops.sort((x, y) => x - y);
  return tops.length ? (tops[Math.floor(tops.length / 2)] as number) : 0;
}

/**
 * Titles with few interactions lean on the content model and lean off it as interactions
 * arrive: a title with d interactions keeps its own neighbours × d/(d+m) and gets the content
 * model's × m/(d+m) (m = `blend_interactions`), in its own row and in the rows it is
 * predicted into. Returns new lists; titles with ≥ 20·m interactions are untouched.
 */
export function blendColdNeighbours(
  lists: NeighbourLists,
  data: Interactions,
  model: ContentArtifact,
  meta: ItemMeta,
): NeighbourLists {
  const m = model.spec.blend_interactions;
  const deg = itemDegrees(data);
  const k = lists.k;
  const neighbors = lists.neighbors.slice();
  const weights = lists.weights.slice();
  const row = new Float32Array(model.items.length);
  const insert = (r: number, j: number, w: number) => {
    const o = r * k;
    for (let x = 0; x < k; x++) if (neighbors[o + x] === j) return;
    if ((neighbors[o + k - 1] as number) >= 0 && (weights[o + k - 1] as number) >= w) return;
    let at = k - 1;
    while (at > 0 && ((neighbors[o + at - 1] as number) < 0 || (weights[o + at - 1] as number) < w)) {
      neighbors[o + at] = neighbors[o + at - 1] as number;
      weights[o + at] = weights[o + at - 1] as number;
      at--;
    }
    neighbors[o + at] = j;
    weights[o + at] = w;
  };
  for (let i = 0; i < data.nItems; i++) {
    const d = deg[i] as number;
    if (d >= 20 * m) continue;
    const own = d / (d + m);
    const content = m / (d + m);
    contentRow(model, meta[i] as TitleMeta, row);
    const merged = new Map<number, number>();
    for (let r = 0; r < k; r++) {
      const j = neighbors[i * k + r] as number;
      if (j < 0) break;
      merged.set(j, own * (weights[i * k + r] as number));
    }
    const predicted: [number, number][] = [];
    for (let j = 0; j < row.length; j++) if (j !== i && (row[j] as number) > 0) predicted.push([j, row[j] as number]);
    predicted.sort((x, y) => y[1] - x[1]);
    for (const [j, w] of predicted.slice(0, k)) merged.set(j, (merged.get(j) ?? 0) + content * w);
    const best = [...merged].sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, k);
    neighbors.fill(-1, i * k, i * k + k);
    weights.fill(0, i * k, i * k + k);
    best.forEach(([j, w], r) => {
      neighbors[i * k + r] = j;
      weights[i * k + r] = w;
    });
    for (const [j, w] of predicted.slice(0, Math.min(k, 20))) insert(j, i, content * w);
  }
  return { k, neighbors, weights };
}

export interface ColdStartResult {
  cold_items: number;
  users: number;
  /** nDCG@10 of each user's held-out titles ranked among all held-out titles. */
  cold_ndcg_at_10: number;
  /** The same for a random order of the held-out titles (mean of seeded shuffles). */
  random_ndcg_at_10: number;
  seconds: number;
}

/**
 * Cold start, measured: a share of titles is removed from the data entirely (no interactions
 * for the graph or the content model to learn from, as for a title uploaded after training);
 * the graph and the content model are fitted on the rest; every user's interactions with the
 * removed titles are the test. The removed titles are added to the served layout by
 * `withColdTitles` (serving's function) and each user's Top picks are ranked by `rankTopPicks`
 * over the removed titles only: how well metadata alone places a title nobody has watched.
 */
export async function evaluateColdStart(
  handle: TfHandle,
  data: Interactions,
  items: ModelItems,
  meta: ItemMeta,
  options: { share?: number; seed?: number; maxUsers?: number; lambda?: number; progress?: Progress } = {},
): Promise<ColdStartResult> {
  const started = performance.now();
  const rng = mulberry32(options.seed ?? 11);
  const share = options.share ?? 0.1;
  const deg = itemDegrees(data);
  const cold = new Uint8Array(data.nItems);
  for (let i = 0; i < data.nItems; i++) if ((deg[i] as number) > 0 && rng() < share) cold[i] = 1;
  const wu: number[] = [];
  const wi: number[] = [];
  const tu: number[] = [];
  const ti: number[] = [];
  for (let u = 0; u < data.nUsers; u++)
    for (let p = data.indptr[u] as number; p < (data.indptr[u + 1] as number); p++) {
      const i = data.items[p] as number;
      (cold[i] ? tu : wu).push(u);
      (cold[i] ? ti : wi).push(i);
    }
  const warm = fromTriples(data.nUsers, data.nItems, wu, wi, null, null);
  const test = fromTriples(data.nUsers, data.nItems, tu, ti, null, null);
  const fit = await fitContentModel(handle, warm, items, meta, {
    progress: options.progress,
    ...(options.lambda ? { lambda: options.lambda } : {}),
  });
  const [graph] = fitGraphNeighbours(warm, [{ kind: "rp3b", alpha: 1, beta: 0.5 }], 100);
  const g = graph as NeighbourLists;
  // The served layout without the cold titles (as a snapshot trained before they existed).
  const warmIds: number[] = [];
  for (let i = 0; i < data.nItems; i++) if (!cold[i]) warmIds.push(i);
  const pos = new Int32Array(data.nItems).fill(-1);
  warmIds.forEach((i, x) => {
    pos[i] = x;
  });
  const nb = new Int32Array(warmIds.length * g.k).fill(-1);
  const wt = new Float32Array(warmIds.length * g.k);
  warmIds.forEach((i, x) => {
    for (let r = 0; r < g.k; r++) {
      const j = g.neighbors[i * g.k + r] as number;
      if (j < 0) break;
      nb[x * g.k + r] = pos[j] as number;
      wt[x * g.k + r] = g.weights[i * g.k + r] as number;
    }
  });
  const warmItems = warmIds.map((i) => items[i] as ModelItems[number]);
  const base: RankableNeighbours & { items: ModelItems } = {
    items: warmItems,
    index: new Map(warmItems.map((t, x) => [t.id, x])),
    k: g.k,
    neighbors: nb,
    similarity: wt,
  };
  const coldIds = new Set<string>();
  const coldMeta: TitleMeta[] = [];
  for (let i = 0; i < data.nItems; i++)
    if (cold[i]) {
      coldIds.add((items[i] as { id: string }).id);
      coldMeta.push(meta[i] as TitleMeta);
    }
  const served = withColdTitles(base, fit.artifact, coldMeta, (m) => ({
    id: m.id,
    title: m.title ?? "",
    genres: [...(m.genres ?? [])],
    year: m.year ?? 0,
  }));
  const idIndex = new Map(items.map((t, i) => [t.id, i]));
  const nCold = coldIds.size;
  let users = 0;
  let ndcg = 0;
  let random = 0;
  const coldList = [...coldIds].map((id) => idIndex.get(id) as number);
  const maxUsers = options.maxUsers ?? 20_000;
  for (let u = 0; u < data.nUsers && users < maxUsers; u++) {
    const ts = test.indptr[u] as number;
    const te = test.indptr[u + 1] as number;
    if (te === ts || (warm.indptr[u + 1] as number) === (warm.indptr[u] as number)) continue;
    const relevant = new Set(test.items.subarray(ts, te));
    const positives = new Map<string, number>();
    for (let p = warm.indptr[u] as number; p < (warm.indptr[u + 1] as number); p++)
      positives.set((items[warm.items[p] as number] as { id: string }).id, 1);
    const ranked = rankTopPicks(served, positives, null, 10, (id) => !coldIds.has(id));
    ndcg += userMetrics(
      ranked.map((r) => idIndex.get(r.id) as number),
      relevant,
      10,
    ).ndcg;
    const shuffled = coldList.slice();
    for (let x = 0; x < Math.min(10, shuffled.length); x++) {
      const y = x + Math.floor(rng() * (shuffled.length - x));
      [shuffled[x], shuffled[y]] = [shuffled[y] as number, shuffled[x] as number];
    }
    random += userMetrics(shuffled.slice(0, 10), relevant, 10).ndcg;
    users++;
  }
  const round = (x: number) => Math.round(x * 1e6) / 1e6;
  return {
    cold_items: nCold,
    users,
    cold_ndcg_at_10: users ? round(ndcg / users) : 0,
    random_ndcg_at_10: users ? round(random / users) : 0,
    seconds: (performance.now() - started) / 1000,
  };
}
