import { fromTriples, type Interactions, mulberry32 } from "../dataset.ts";

export interface Split {
  train: Interactions;
  test: Interactions;
}

/**
 * Protocol (a), as in Microsoft Recommenders' `python_stratified_split(ratio=0.75,
 * filter_by="user")`: each user's interactions are shuffled with a fixed seed and the first
 * round(75 %) go to training, the rest to test. A user with a single interaction keeps it in
 * training (nothing to test). Same seed, same split.
 */
export function randomSplit(data: Interactions, options: { ratio?: number; seed?: number } = {}): Split {
  const ratio = options.ratio ?? 0.75;
  const rng = mulberry32(options.seed ?? 42);
  return partition(data, (start, end) => {
    const n = end - start;
    const idx = Array.from({ length: n }, (_, k) => start + k);
    for (let k = n - 1; k > 0; k--) {
      const j = Math.floor(rng() * (k + 1));
      [idx[k], idx[j]] = [idx[j] as number, idx[k] as number];
    }
    const nTrain = n <= 1 ? n : Math.min(n - 1, Math.max(1, Math.round(n * ratio)));
    return { train: idx.slice(0, nTrain), test: idx.slice(nTrain) };
  });
}

/**
 * Protocol (b), temporal: each user's latest interactions — the last (1 − ratio) of them by
 * time — are held out. Training never sees the future: every training interaction of a user
 * is strictly older than all of that user's test interactions (ties at the boundary go to
 * test). A user whose history would leave nothing older stays entirely in training.
 */
export function temporalSplit(data: Interactions, options: { ratio?: number } = {}): Split {
  const ratio = options.ratio ?? 0.75;
  return partition(data, (start, end) => {
    const n = end - start;
    const idx = Array.from({ length: n }, (_, k) => start + k).sort(
      (a, b) => (data.times[a] as number) - (data.times[b] as number) || a - b,
    );
    if (n <= 1) return { train: idx, test: [] };
    let cut = Math.min(n - 1, Math.max(1, Math.round(n * ratio)));
    const boundary = data.times[idx[cut] as number] as number;
    while (cut > 0 && (data.times[idx[cut - 1] as number] as number) >= boundary) cut--;
    if (cut === 0) return { train: idx, test: [] };
    return { train: idx.slice(0, cut), test: idx.slice(cut) };
  });
}

/**
 * Global cut-off: everything strictly before `until` trains, the rest is test. The shape of
 * a nightly retrain evaluated on the next day. `seenBefore` (same users and items index space):
 * pairs already seen before the cut, which train whatever their latest time — a title watched
 * again after the cut is history, not a new positive a model could be credited for.
 */
export function timeCutSplit(data: Interactions, until: number, seenBefore?: Interactions | null): Split {
  return partition(data, (start, end, u) => {
    const seen = seenBefore
      ? new Set(seenBefore.items.subarray(seenBefore.indptr[u] as number, seenBefore.indptr[u + 1] as number))
      : null;
    const train: number[] = [];
    const test: number[] = [];
    for (let k = start; k < end; k++)
      ((data.times[k] as number) < until || seen?.has(data.items[k] as number) ? train : test).push(k);
    return { train, test };
  });
}

function partition(
  data: Interactions,
  choose: (start: number, end: number, user: number) => { train: number[]; test: number[] },
): Split {
  // Typed buffers sized for the whole data set: a 25M-rating file splits without boxed arrays.
  const n = data.items.length;
  const parts = {
    train: { u: new Uint32Array(n), k: new Uint32Array(n), len: 0 },
    test: { u: new Uint32Array(n), k: new Uint32Array(n), len: 0 },
  };
  for (let u = 0; u < data.nUsers; u++) {
    const chosen = choose(data.indptr[u] as number, data.indptr[u + 1] as number, u);
    for (const [part, ks] of [
      [parts.train, chosen.train],
      [parts.test, chosen.test],
    ] as const) {
      for (const k of ks) {
        part.u[part.len] = u;
        part.k[part.len] = k;
        part.len++;
      }
    }
  }
  const build = (p: { u: Uint32Array; k: Uint32Array; len: number }) => {
    const ks = p.k.subarray(0, p.len);
    return fromTriples(
      data.nUsers,
      data.nItems,
      p.u.subarray(0, p.len),
      ks.map((k) => data.items[k] as number),
      Float32Array.from(ks, (k) => data.values[k] as number),
      Float64Array.from(ks, (k) => data.times[k] as number),
    );
  };
  return { train: build(parts.train), test: build(parts.test) };
}
