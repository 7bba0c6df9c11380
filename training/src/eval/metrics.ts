import type { Interactions } from "../dataset.ts";

/** Scores every item for one user into `out` (length nItems); higher is better. */
export interface Scorer {
  scoreUser(user: number, out: Float32Array): void;
}

export interface RankingMetrics {
  users: number;
  precision_at_10: number;
  recall_at_10: number;
  ndcg_at_10: number;
  /**
   * MAP@k as Microsoft Recommenders' `map_at_k` (since 1.2): per user, the sum of precision
   * at each hit in the top k divided by min(k, |relevant|), averaged over test users.
   */
  map_at_10: number;
  /**
   * The same sum divided by |relevant| instead: Recommenders' `map` (their `map_at_k` before
   * 1.2), the "MAP" column of their published MovieLens-100k benchmark table.
   */
  map: number;
  /** Distinct items recommended to anyone, over all items. */
  coverage: number;
}

/** Top `k` item indexes of `scores`, best first; ties go to the lower index. -Infinity never ranks. */
export function topK(scores: Float32Array, k: number, out: Int32Array = new Int32Array(k)): Int32Array {
  const best = new Float64Array(k).fill(Number.NEGATIVE_INFINITY);
  out.fill(-1);
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as number;
    if (s <= worst && out[k - 1] !== -1) continue;
    if (s === Number.NEGATIVE_INFINITY || Number.isNaN(s)) continue;
    let p = k - 1;
    while (p > 0 && (out[p - 1] === -1 || (best[p - 1] as number) < s)) {
      best[p] = best[p - 1] as number;
      out[p] = out[p - 1] as number;
      p--;
    }
    best[p] = s;
    out[p] = i;
    worst = best[k - 1] as number;
  }
  return out;
}

/** Per-user ranking metrics for one recommendation list against a set of relevant items. */
export function userMetrics(
  recommended: ArrayLike<number>,
  relevant: ReadonlySet<number>,
  k: number,
): { precision: number; recall: number; ndcg: number; apMin: number; apAll: number } {
  let hits = 0;
  let dcg = 0;
  let sumPrec = 0;
  const n = Math.min(k, recommended.length);
  for (let r = 0; r < n; r++) {
    const item = recommended[r] as number;
    if (item < 0 || !relevant.has(item)) continue;
    hits++;
    dcg += 1 / Math.log2(r + 2);
    sumPrec += hits / (r + 1);
  }
  let idcg = 0;
  for (let r = 0; r < Math.min(k, relevant.size); r++) idcg += 1 / Math.log2(r + 2);
  const rel = relevant.size;
  return {
    precision: hits / k,
    recall: rel === 0 ? 0 : hits / rel,
    ndcg: idcg === 0 ? 0 : dcg / idcg,
    apMin: rel === 0 ? 0 : sumPrec / Math.min(k, rel),
    apAll: rel === 0 ? 0 : sumPrec / rel,
  };
}

/**
 * Full ranking over all items for every user with test interactions; the user's training
 * items are excluded (they were seen), as in Recommenders' `remove_seen=True`. Metrics are
 * averaged over those users.
 */
export function evaluateRanking(
  scorer: Scorer,
  train: Interactions,
  test: Interactions,
  options: { k?: number; users?: ArrayLike<number> } = {},
): RankingMetrics {
  const k = options.k ?? 10;
  const scores = new Float32Array(train.nItems);
  const top = new Int32Array(k);
  const recommended = new Uint8Array(train.nItems);
  let users = 0;
  const sum = { precision: 0, recall: 0, ndcg: 0, apMin: 0, apAll: 0 };
  const list = options.users ?? Array.from({ length: test.nUsers }, (_, u) => u);
  for (let x = 0; x < list.length; x++) {
    const u = list[x] as number;
    const ts = test.indptr[u] as number;
    const te = test.indptr[u + 1] as number;
    if (te === ts) continue;
    scorer.scoreUser(u, scores);
    for (let p = train.indptr[u] as number; p < (train.indptr[u + 1] as number); p++) {
      scores[train.items[p] as number] = Number.NEGATIVE_INFINITY;
    }
    topK(scores, k, top);
    for (const i of top) if (i >= 0) recommended[i] = 1;
    const m = userMetrics(top, new Set(test.items.subarray(ts, te)), k);
    sum.precision += m.precision;
    sum.recall += m.recall;
    sum.ndcg += m.ndcg;
    sum.apMin += m.apMin;
    sum.apAll += m.apAll;
    users++;
  }
  let covered = 0;
  for (const c of recommended) covered += c;
  const avg = (x: number) => (users === 0 ? 0 : round(x / users));
  return {
    users,
    precision_at_10: avg(sum.precision),
    recall_at_10: avg(sum.recall),
    ndcg_at_10: avg(sum.ndcg),
    map_at_10: avg(sum.apMin),
    map: avg(sum.apAll),
    coverage: train.nItems === 0 ? 0 : round(covered / train.nItems),
  };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;
