import { MODEL_NAMES, type ModelItems } from "@marquee/contracts";
import type { InteractionMatrix } from "@marquee/feature-store";
import { parseNeighbourArtifact } from "@marquee/runtime";
import { fromTriples, type Interactions } from "../dataset.ts";
import { topK } from "../eval/metrics.ts";
import {
  DEFAULT_ITEM_TO_ITEM,
  fitItemToItem,
  type ItemToItemModel,
  type ItemToItemParams,
  itemToItemFiles,
} from "../item-to-item.ts";
import { loadTf, type TfHandle } from "../tf-backend.ts";
import { AlsModel, type AlsParams, DEFAULT_ALS, fitAls } from "./als.ts";
import { BprModel, type BprParams, DEFAULT_BPR, fitBpr } from "./bpr.ts";
import { EaseModel } from "./ease.ts";
import { invertSpdSmall } from "./linalg.ts";
import type { FitOptions, ModelFiles, RecommenderModel, SavedModel, SimilarItem, UserRef } from "./model.ts";
import { PopularityScorer } from "./popularity-scorer.ts";

/*
 * Thin adapters that give each model the RecommenderModel interface; the maths stays in
 * als.ts, bpr.ts, ease.ts, item-to-item.ts and popularity-scorer.ts.
 */

/** EASE's default λ (select.ts tunes it when it can afford to). */
const DEFAULT_LAMBDA = 400;

type Meta = { params: Record<string, unknown>; backend: string };

function bytes(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function file(files: ModelFiles, name: string): string | Uint8Array {
  const f = files[name];
  if (f === undefined) throw new Error(`model file ${name} is missing`);
  return f;
}

function f32(data: string | Uint8Array): Float32Array {
  if (typeof data === "string") throw new Error("expected a binary file");
  const out = new Float32Array(data.byteLength / 4);
  new Uint8Array(out.buffer).set(data);
  return out;
}

/** The k best of `scores` other than `self`, best first (the scores are overwritten at `self`). */
function bestOthers(scores: Float32Array, self: number, k: number): SimilarItem[] {
  scores[self] = Number.NEGATIVE_INFINITY;
  const top = topK(scores, Math.max(0, Math.min(k, scores.length - 1)));
  const out: SimilarItem[] = [];
  for (const i of top) if (i >= 0) out.push({ item: i, score: scores[i] as number });
  return out;
}

function historyOf(user: UserRef, history: Interactions | null): ArrayLike<number> {
  if (typeof user !== "number") return user.items;
  if (!history) throw new Error("no histories to score a user index by: fit the model or call useHistory");
  if (user < 0 || user >= history.nUsers) return [];
  return history.items.subarray(history.indptr[user] as number, history.indptr[user + 1] as number);
}

function notFitted(name: string): Error {
  return new Error(`${name} is not fitted (fit or loadModel first)`);
}

/** The baseline: how many users interacted with each item, the same for every user. */
export class PopularityRecommender implements RecommenderModel {
  readonly name = "popularity";
  readonly backend = "typed-arrays";
  readonly params: Record<string, unknown> = {};
  private scores: Float32Array | null = null;

  get nItems(): number {
    return this.scores?.length ?? 0;
  }

  async fit(data: Interactions): Promise<void> {
    this.scores = new PopularityScorer(data).scores;
  }

  scoreUser(_user: UserRef, out?: Float32Array): Float32Array {
    if (!this.scores) throw notFitted(this.name);
    const o = out ?? new Float32Array(this.scores.length);
    o.set(this.scores);
    return o;
  }

  similarItems(item: number, k: number): SimilarItem[] {
    return bestOthers(this.scoreUser(0), item, k);
  }

  useHistory(): void {}

  save(): SavedModel {
    if (!this.scores) throw notFitted(this.name);
    return { files: { "scores.f32": bytes(this.scores) }, params: {}, backend: this.backend };
  }

  static load(files: ModelFiles, _meta: Meta): PopularityRecommender {
    const m = new PopularityRecommender();
    m.scores = f32(file(files, "scores.f32"));
    return m;
  }
}

/**
 * Item-to-item cosine similarity (item-to-item.ts) over index-named titles; a user's score
 * for j is Σ over the history's titles i of similarity(i → j) among i's k neighbours.
 */
export class ItemToItemRecommender implements RecommenderModel {
  readonly name = "item-to-item";
  readonly backend = "typed-arrays";
  readonly params: ItemToItemParams & Record<string, unknown>;
  private model: ItemToItemModel | null = null;
  private history: Interactions | null = null;

  constructor(params: Partial<ItemToItemParams> = {}) {
    this.params = { ...DEFAULT_ITEM_TO_ITEM, ...params };
  }

  get nItems(): number {
    return this.model?.items.length ?? 0;
  }

  async fit(data: Interactions): Promise<void> {
    const userIdx = new Uint32Array(data.items.length);
    for (let u = 0; u < data.nUsers; u++) userIdx.fill(u, data.indptr[u] as number, data.indptr[u + 1] as number);
    const items = Array.from({ length: data.nItems }, (_, i) => String(i));
    const matrix: InteractionMatrix = {
      users: Array.from({ length: data.nUsers }, (_, u) => String(u)),
      items,
      userIdx,
      itemIdx: data.items,
      weight: data.values,
      lastAt: data.times,
      until: new Date(0),
    };
    const catalogue: ModelItems = items.map((id) => ({ id, title: "", genres: [], year: 0 }));
    this.model = fitItemToItem(catalogue, matrix, this.params);
    this.history = data;
  }

  scoreUser(user: UserRef, out?: Float32Array): Float32Array {
    const m = this.model;
    if (!m) throw notFitted(this.name);
    const o = out ?? new Float32Array(m.items.length);
    o.fill(0);
    const h = historyOf(user, this.history);
    for (let x = 0; x < h.length; x++) {
      const i = h[x] as number;
      for (let r = 0; r < m.k; r++) {
        const j = m.neighbors[i * m.k + r] as number;
        if (j < 0) break;
        o[j] = (o[j] as number) + (m.similarity[i * m.k + r] as number);
      }
    }
    return o;
  }

  similarItems(item: number, k: number): SimilarItem[] {
    const m = this.model;
    if (!m) throw notFitted(this.name);
    const out: SimilarItem[] = [];
    for (let r = 0; r < Math.min(k, m.k); r++) {
      const j = m.neighbors[item * m.k + r] as number;
      if (j < 0) break;
      out.push({ item: j, score: m.similarity[item * m.k + r] as number });
    }
    return out;
  }

  useHistory(history: Interactions): void {
    this.history = history;
  }

  save(): SavedModel {
    if (!this.model) throw notFitted(this.name);
    return { files: itemToItemFiles(this.model), params: { ...this.params }, backend: this.backend };
  }

  static load(files: ModelFiles, meta: Meta): ItemToItemRecommender {
    const m = new ItemToItemRecommender(meta.params as Partial<ItemToItemParams>);
    // The registry's one reader of this layout (serving loads item-to-item through it too).
    const a = parseNeighbourArtifact(MODEL_NAMES.itemToItem, "saved", meta.params.k, files);
    m.model = { items: a.items, k: a.k, neighbors: a.neighbors, similarity: a.weights };
    return m;
  }
}

/** EASE (ease.ts) with a given λ; scores a user's binary history against B. */
export class EaseRecommender implements RecommenderModel {
  readonly name = "ease";
  backend = "";
  readonly params: { lambda: number } & Record<string, unknown>;
  private model: EaseModel | null = null;

  constructor(params: { lambda?: unknown } = {}) {
    this.params = { lambda: params.lambda === undefined ? DEFAULT_LAMBDA : Number(params.lambda) };
  }

  get nItems(): number {
    return this.model?.nItems ?? 0;
  }

  /** Items × items, zero diagonal (for the registry's pruned personal files). */
  get weights(): Float32Array {
    if (!this.model) throw notFitted(this.name);
    return this.model.weights;
  }

  async fit(data: Interactions, options: FitOptions = {}): Promise<void> {
    const handle = options.handle ?? (await loadTf({ prefer: "wasm" }));
    this.model = await EaseModel.fitAsync(handle.tf, data, { lambda: this.params.lambda });
    this.backend = `typed-arrays + tfjs ${handle.backend}`;
  }

  scoreUser(user: UserRef, out?: Float32Array): Float32Array {
    const m = this.model;
    if (!m) throw notFitted(this.name);
    const n = m.nItems;
    const o = out ?? new Float32Array(n);
    if (typeof user === "number") {
      m.scoreUser(user, o);
      return o;
    }
    o.fill(0);
    for (let x = 0; x < user.items.length; x++) {
      const row = (user.items[x] as number) * n;
      for (let j = 0; j < n; j++) o[j] = (o[j] as number) + (m.weights[row + j] as number);
    }
    return o;
  }

  similarItems(item: number, k: number): SimilarItem[] {
    const n = this.nItems;
    return bestOthers(this.weights.slice(item * n, item * n + n), item, k);
  }

  useHistory(history: Interactions): void {
    if (!this.model) throw notFitted(this.name);
    this.model = this.model.withHistory(history);
  }

  save(): SavedModel {
    return {
      files: { "weights.f32": bytes(this.weights) },
      params: { ...this.params, items: this.nItems },
      backend: this.backend,
    };
  }

  /** An EASE model already fitted (select.ts's tuned fit) behind the interface. */
  static fromModel(model: EaseModel, lambda: number, backend: string): EaseRecommender {
    const m = new EaseRecommender({ lambda });
    m.model = model;
    m.backend = backend;
    return m;
  }

  static load(files: ModelFiles, meta: Meta): EaseRecommender {
    const m = new EaseRecommender(meta.params);
    const n = Number(meta.params.items);
    const weights = f32(file(files, "weights.f32"));
    if (weights.length !== n * n) throw new Error(`ease weights: expected ${n}×${n}, got ${weights.length}`);
    m.model = new EaseModel(n, weights, fromTriples(0, n, [], [], null, null));
    m.backend = meta.backend;
    return m;
  }
}

/** What ALS and BPR share: user and item factor matrices, scored by dot product. */
abstract class FactorRecommender implements RecommenderModel {
  abstract readonly name: string;
  abstract readonly backend: string;
  abstract readonly params: Record<string, unknown>;
  protected abstract factorsOf(): { users: Float32Array; items: Float32Array; d: number } | null;
  /** A user vector for an explicit history. */
  protected abstract foldIn(history: ArrayLike<number>): Float64Array;
  abstract fit(data: Interactions, options?: FitOptions): Promise<void>;
  abstract save(): SavedModel;

  get nItems(): number {
    const f = this.factorsOf();
    return f ? f.items.length / f.d : 0;
  }

  protected factors(): { users: Float32Array; items: Float32Array; d: number } {
    const f = this.factorsOf();
    if (!f) throw notFitted(this.name);
    return f;
  }

  abstract scoreIndex(user: number, out: Float32Array): void;

  scoreUser(user: UserRef, out?: Float32Array): Float32Array {
    const { items, d } = this.factors();
    const o = out ?? new Float32Array(items.length / d);
    if (typeof user === "number") {
      this.scoreIndex(user, o);
      return o;
    }
    const x = this.foldIn(user.items);
    for (let i = 0; i < o.length; i++) {
      let s = 0;
      for (let f = 0; f < d; f++) s += (x[f] as number) * (items[i * d + f] as number);
      o[i] = s;
    }
    return o;
  }

  /** Cosine between item vectors. */
  similarItems(item: number, k: number): SimilarItem[] {
    const { items, d } = this.factors();
    const n = items.length / d;
    const norm = (i: number) => {
      let s = 0;
      for (let f = 0; f < d; f++) s += (items[i * d + f] as number) ** 2;
      return Math.sqrt(s);
    };
    const ni = norm(item);
    const scores = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let f = 0; f < d; f++) s += (items[item * d + f] as number) * (items[j * d + f] as number);
      const den = ni * norm(j);
      scores[j] = den > 0 ? s / den : 0;
    }
    return bestOthers(scores, item, k);
  }

  useHistory(): void {}
}

/** Implicit ALS (als.ts). An explicit history is folded in by ALS's own row solve, exactly. */
export class AlsRecommender extends FactorRecommender {
  readonly name = "als";
  readonly backend = "typed-arrays";
  readonly params: AlsParams & Record<string, unknown>;
  private model: AlsModel | null = null;

  constructor(params: Partial<AlsParams> = {}) {
    super();
    this.params = { ...DEFAULT_ALS, ...params };
  }

  protected factorsOf() {
    return this.model ? { users: this.model.users, items: this.model.items, d: this.model.factors } : null;
  }

  async fit(data: Interactions, options: FitOptions = {}): Promise<void> {
    this.model = fitAls(data, { ...this.params, ...(options.log ? { log: options.log } : {}) });
  }

  scoreIndex(user: number, out: Float32Array): void {
    (this.model as AlsModel).scoreUser(user, out);
  }

  /** x = (YᵀY + λI + α Σ yyᵀ)⁻¹ (1 + α) Σ y over the history's items. */
  protected foldIn(history: ArrayLike<number>): Float64Array {
    const { items: Y, d } = this.factors();
    const { alpha, regularisation } = this.params;
    const n = Y.length / d;
    const a = new Float64Array(d * d);
    const b = new Float64Array(d);
    const inHistory = new Set(Array.from(history));
    for (let j = 0; j < n; j++) {
      const c = inHistory.has(j) ? 1 + alpha : 1;
      const o = j * d;
      for (let p = 0; p < d; p++) {
        const yp = Y[o + p] as number;
        if (c !== 1) b[p] = (b[p] as number) + c * yp;
        for (let q = 0; q < d; q++) a[p * d + q] = (a[p * d + q] as number) + c * yp * (Y[o + q] as number);
      }
    }
    for (let p = 0; p < d; p++) a[p * d + p] = (a[p * d + p] as number) + regularisation;
    const inv = invertSpdSmall(a, d);
    const x = new Float64Array(d);
    for (let p = 0; p < d; p++) {
      let s = 0;
      for (let q = 0; q < d; q++) s += (inv[p * d + q] as number) * (b[q] as number);
      x[p] = s;
    }
    return x;
  }

  save(): SavedModel {
    const { users, items } = this.factors();
    return {
      files: { "users.f32": bytes(users), "items.f32": bytes(items) },
      params: { ...(this.model as AlsModel).params },
      backend: this.backend,
    };
  }

  /** An ALS model already fitted behind the interface. */
  static fromModel(model: AlsModel): AlsRecommender {
    const m = new AlsRecommender(model.params);
    m.model = model;
    return m;
  }

  static load(files: ModelFiles, meta: Meta): AlsRecommender {
    const params = { ...DEFAULT_ALS, ...(meta.params as Partial<AlsParams>) };
    const m = new AlsRecommender(params);
    m.model = new AlsModel(f32(file(files, "users.f32")), f32(file(files, "items.f32")), params.factors, params);
    return m;
  }
}

/**
 * BPR on TensorFlow.js (bpr.ts), with title metadata when `fit` is given features. An explicit
 * history is folded in as the mean of its item vectors (BPR has no closed-form user solve).
 */
export class BprRecommender extends FactorRecommender {
  readonly name = "bpr-tfjs";
  backend = "";
  readonly params: BprParams & Record<string, unknown>;
  private model: BprModel | null = null;

  constructor(params: Partial<BprParams> = {}) {
    super();
    this.params = { ...DEFAULT_BPR, ...params };
  }

  protected factorsOf() {
    return this.model ? { users: this.model.users, items: this.model.items, d: this.model.factors } : null;
  }

  async fit(data: Interactions, options: FitOptions = {}): Promise<void> {
    const handle: TfHandle = options.handle ?? (await loadTf({ prefer: "wasm" }));
    this.model = await fitBpr(handle, data, {
      ...this.params,
      ...(options.features ? { features: options.features } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    this.backend = this.model.backend;
  }

  scoreIndex(user: number, out: Float32Array): void {
    (this.model as BprModel).scoreUser(user, out);
  }

  protected foldIn(history: ArrayLike<number>): Float64Array {
    const { items, d } = this.factors();
    const x = new Float64Array(d);
    for (let k = 0; k < history.length; k++) {
      const o = (history[k] as number) * d;
      for (let f = 0; f < d; f++) x[f] = (x[f] as number) + (items[o + f] as number) / history.length;
    }
    return x;
  }

  save(): SavedModel {
    const { users, items } = this.factors();
    return {
      files: { "users.f32": bytes(users), "items.f32": bytes(items) },
      params: { ...(this.model as BprModel).params },
      backend: this.backend,
    };
  }

  static load(files: ModelFiles, meta: Meta): BprRecommender {
    const params = {
      ...DEFAULT_BPR,
      epochs_run: 0,
      features: 0,
      ...(meta.params as Partial<BprParams & { epochs_run: number; features: number }>),
    };
    const m = new BprRecommender(params);
    m.model = new BprModel(
      f32(file(files, "users.f32")),
      f32(file(files, "items.f32")),
      params.factors,
      meta.backend,
      params,
    );
    m.backend = meta.backend;
    return m;
  }
}
