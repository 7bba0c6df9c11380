import { fromTriples, type Interactions, mulberry32 } from "./dataset.ts";

export interface SyntheticOptions {
  users: number;
  items: number;
  /** Target total interactions (the result is within a few percent). */
  interactions: number;
  /** Latent taste dimensions. */
  factors?: number;
  seed?: number;
  /** Score a popularity-drawn pool per user instead of every title (default: for large worlds). */
  pooled?: boolean;
}

/**
 * A seeded latent-factor world with MovieLens-like shape: item popularity follows a power
 * law, activity per user is skewed (a few heavy viewers, many light ones), and each user
 * picks titles by taste (user · item factors) plus popularity, without repeats (Gumbel
 * top-k). Timestamps advance per user so temporal splits have a future to hold out. No
 * database: this feeds the training benchmark and tests directly.
 */
export function syntheticInteractions(options: SyntheticOptions): Interactions & { itemLabels: string[][] } {
  const { users, items } = options;
  const d = options.factors ?? 16;
  const rng = mulberry32(options.seed ?? 7);
  const gauss = () => {
    const u = Math.max(rng(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  };
  const itemF = new Float32Array(items * d);
  const itemBias = new Float32Array(items);
  for (let i = 0; i < items; i++) {
    for (let f = 0; f < d; f++) itemF[i * d + f] = gauss() / Math.sqrt(d);
    itemBias[i] = 1.2 * Math.log(1 / (1 + i / 25)); // power-law popularity by rank
  }
  // Heavy-tailed activity, scaled so the total hits the target.
  const activity = new Float64Array(users);
  let total = 0;
  for (let u = 0; u < users; u++) {
    activity[u] = Math.exp(0.9 * gauss());
    total += activity[u] as number;
  }
  const scale = options.interactions / total;
  const outU: number[] = [];
  const outI: number[] = [];
  const outT: number[] = [];
  const scores = new Float32Array(items);
  const userF = new Float32Array(d);
  const start = Date.UTC(2024, 0, 1);
  // Large worlds (the bench's 10k–20k titles × 50k–100k users) score a popularity-drawn pool
  // per user instead of every title: users × items × factors would take minutes.
  const pooled = options.pooled ?? users * items > 1e8;
  // The pool is drawn the way people browse: a genre by taste (each title's genre is its
  // strongest latent dimension), then a title of that genre by popularity.
  const genreOf = new Int32Array(items);
  for (let i = 0; i < items; i++) {
    let best = 0;
    for (let f = 1; f < d; f++) if ((itemF[i * d + f] as number) > (itemF[i * d + best] as number)) best = f;
    genreOf[i] = best;
  }
  const members: number[][] = Array.from({ length: d }, () => []);
  for (let i = 0; i < items; i++) (members[genreOf[i] as number] as number[]).push(i);
  const cumulative = members.map((m) => {
    const c = new Float64Array(m.length);
    let acc = 0;
    m.forEach((i, x) => {
      acc += Math.exp(itemBias[i] as number);
      c[x] = acc;
    });
    return c;
  });
  const drawFrom = (g: number) => {
    const c = cumulative[g] as Float64Array;
    const m = members[g] as number[];
    if (m.length === 0) return Math.floor(rng() * items);
    const x = rng() * (c[c.length - 1] as number);
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((c[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return m[lo] as number;
  };
  const genreWeights = new Float64Array(d);
  for (let u = 0; u < users; u++) {
    const n = Math.max(5, Math.min(Math.round(items * 0.6), Math.round((activity[u] as number) * scale)));
    for (let f = 0; f < d; f++) userF[f] = 2.5 * gauss();
    if (pooled) {
      // A pool of 4n titles: genres by the softmax of the user's taste, titles by popularity
      // within them (a few uniform, so the tail is reachable); then the n best by taste +
      // Gumbel noise, as below.
      let total = 0;
      for (let f = 0; f < d; f++) {
        genreWeights[f] = Math.exp(userF[f] as number);
        total += genreWeights[f] as number;
      }
      const drawGenre = () => {
        let x = rng() * total;
        for (let f = 0; f < d; f++) {
          x -= genreWeights[f] as number;
          if (x <= 0) return f;
        }
        return d - 1;
      };
      const pool = new Set<number>();
      const want = Math.min(items, 4 * n);
      for (let tries = 0; pool.size < want && tries < want * 4; tries++)
        pool.add(rng() < 0.1 ? Math.floor(rng() * items) : drawFrom(drawGenre()));
      const scored = [...pool].map((i) => {
        let s = 0;
        for (let f = 0; f < d; f++) s += (userF[f] as number) * (itemF[i * d + f] as number);
        return [i, s - Math.log(-Math.log(Math.max(rng(), 1e-12)))] as const;
      });
      scored.sort((a, b) => b[1] - a[1]);
      let t = start + Math.floor(rng() * 86_400_000 * 30);
      for (const [i] of scored.slice(0, n)) {
        outU.push(u);
        outI.push(i);
        t += 60_000 + Math.floor(rng() * 86_400_000);
        outT.push(t);
      }
      continue;
    }
    for (let i = 0; i < items; i++) {
      let s = itemBias[i] as number;
      for (let f = 0; f < d; f++) s += (userF[f] as number) * (itemF[i * d + f] as number);
      scores[i] = s - Math.log(-Math.log(Math.max(rng(), 1e-12))); // + Gumbel noise
    }
    // The n best: threshold from a native typed-array sort, then the items above it.
    const threshold = scores.slice().sort()[items - n] as number;
    const chosen: number[] = [];
    for (let i = 0; i < items && chosen.length < n; i++) if ((scores[i] as number) >= threshold) chosen.push(i);
    for (let k = chosen.length - 1; k > 0; k--) {
      const j = Math.floor(rng() * (k + 1));
      [chosen[k], chosen[j]] = [chosen[j] as number, chosen[k] as number];
    }
    let t = start + Math.floor(rng() * 86_400_000 * 30);
    for (const i of chosen) {
      outU.push(u);
      outI.push(i);
      t += 60_000 + Math.floor(rng() * 86_400_000);
      outT.push(t);
    }
  }
  // Metadata that says something about taste, like genres: each title's two strongest of
  // its latent dimensions.
  const itemLabels = Array.from({ length: items }, (_, i) => {
    const dims = Array.from({ length: d }, (_, f) => f);
    dims.sort((a, b) => (itemF[i * d + b] as number) - (itemF[i * d + a] as number));
    return dims.slice(0, 2).map((f) => `g${f}`);
  });
  return { ...fromTriples(users, items, outU, outI, null, outT), itemLabels };
}
