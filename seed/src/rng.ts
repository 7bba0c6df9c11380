/**
 * A small seeded PRNG for the seed generators. Everything the seeder produces is a pure
 * function of (seed, stream keys), so the same seed always gives the same world.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's "small fast counting" generator, 128 bits of
 * state, period ≥ 2^32, passes PractRand to many terabytes), seeded through a 32-bit hash of
 * the seed and the stream keys. Streams let independent parts (titles, users, each user's
 * history) draw from their own sequence, so generating user 41 never shifts user 42.
 */

/** A 32-bit hash of a string (FNV-1a then a murmur3 finaliser). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** murmur3's 32-bit finaliser: a cheap bijective mixer. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Mix a seed with stream keys into one 32-bit value. */
export function mixSeed(seed: number, ...keys: readonly (string | number)[]): number {
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  for (const k of keys) {
    const v = typeof k === "number" ? fmix32((k >>> 0) ^ Math.floor(k / 2 ** 32)) : hashString(k);
    h = fmix32((h ^ v) + 0x9e3779b9 + (h << 6) + (h >>> 2));
  }
  return h >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // splitmix32 expands the one seed into four state words; sfc32 then warms up.
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      return fmix32(s);
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = 1;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** A uniformly random 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** A float in [min, max). */
  uniform(min = 0, max = 1): number {
    return min + (max - min) * this.next();
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    if (max < min) throw new RangeError(`int(${min}, ${max}): max < min`);
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A normal deviate (Box–Muller; one draw per call keeps the stream easy to reason about). */
  normal(mean = 0, sd = 1): number {
    const u = 1 - this.next(); // (0, 1]: log(u) is finite
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** exp(normal(mu, sigma)). */
  logNormal(mu: number, sigma: number): number {
    return Math.exp(this.normal(mu, sigma));
  }

  /** An exponential deviate with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** A Pareto (power-law) deviate: P(X > x) = (xm / x)^alpha for x ≥ xm. */
  pareto(xm: number, alpha: number): number {
    return xm / (1 - this.next()) ** (1 / alpha);
  }

  /** A Gamma(shape, 1) deviate (Marsaglia–Tsang, with the shape < 1 boost). */
  gamma(shape: number): number {
    if (shape <= 0) throw new RangeError("gamma shape must be > 0");
    if (shape < 1) return this.gamma(shape + 1) * (1 - this.next()) ** (1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - this.next();
      if (u < 1 - 0.0331 * x ** 4) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** A Beta(a, b) deviate in [0, 1]. */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    return x / (x + y);
  }

  /** A Dirichlet deviate: non-negative weights summing to 1. */
  dirichlet(alphas: readonly number[]): number[] {
    const g = alphas.map((a) => this.gamma(a));
    const sum = g.reduce((s, x) => s + x, 0);
    return sum > 0 ? g.map((x) => x / sum) : alphas.map(() => 1 / alphas.length);
  }

  /** A Poisson count with mean lambda (Knuth below 30, a rounded normal above). */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda >= 30) return Math.max(0, Math.round(this.normal(lambda, Math.sqrt(lambda))));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** Failures before the first success in trials of probability p: 0, 1, 2, … (mean (1-p)/p). */
  geometric(p: number): number {
    if (p >= 1) return 0;
    if (p <= 0) throw new RangeError("geometric p must be > 0");
    return Math.floor(Math.log(1 - this.next()) / Math.log(1 - p));
  }

  /**
   * A Zipf rank in 1..n with P(k) ∝ k^-s, by Hörmann's rejection-inversion: O(1) per draw and
   * no table, so it also works for n in the millions.
   */
  zipf(n: number, s: number): number {
    if (n < 1) throw new RangeError("zipf n must be ≥ 1");
    if (n === 1) return 1;
    const z = zipfConstants(n, s);
    for (;;) {
      const u = z.hIntegralN + this.next() * (z.hIntegralX1 - z.hIntegralN);
      const x = zipfHIntegralInverse(u, s);
      let k = Math.floor(x + 0.5);
      if (k < 1) k = 1;
      else if (k > n) k = n;
      if (k - x <= z.sBound || u >= zipfHIntegral(k + 0.5, s) - zipfH(k, s)) return k;
    }
  }

  /** One element, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty list");
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** An index drawn with probability proportional to its weight (linear scan; for short lists). */
  weightedIndex(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i] as number;
      if (w > 0) total += w; // NaN and negative weights count as 0
    }
    if (!(total > 0)) throw new RangeError("weightedIndex needs a positive weight");
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i] as number;
      if (w <= 0) continue;
      r -= w;
      if (r < 0) return i;
    }
    // Rounding can leave r at ~0: return the last positive weight.
    for (let i = weights.length - 1; i >= 0; i--) if ((weights[i] as number) > 0) return i;
    return weights.length - 1;
  }

  /** One element drawn with probability proportional to its weight. */
  weightedPick<T>(items: readonly T[], weights: ArrayLike<number>): T {
    if (items.length !== weights.length) throw new RangeError("items and weights differ in length");
    return items[this.weightedIndex(weights)] as T;
  }

  /** Fisher–Yates, in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** k distinct elements in random order (partial Fisher–Yates on a copy). */
  sample<T>(items: readonly T[], k: number): T[] {
    const copy = items.slice();
    const n = Math.min(k, copy.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.next() * (copy.length - i));
      const tmp = copy[i] as T;
      copy[i] = copy[j] as T;
      copy[j] = tmp;
    }
    return copy.slice(0, n);
  }

  /** `n` lowercase hex digits. */
  hex(n: number): string {
    let out = "";
    while (out.length < n) out += this.uint32().toString(16).padStart(8, "0");
    return out.slice(0, n);
  }
}

/** A generator for `seed` and the given stream keys, e.g. `createRng(42, "user", 17)`. */
export function createRng(seed: number, ...keys: readonly (string | number)[]): Rng {
  return new Rng(mixSeed(seed, ...keys));
}

/**
 * Repeated draws from a fixed discrete distribution: cumulative weights and a binary search,
 * O(log n) per draw. Used for item popularity, where the same weights are sampled millions of
 * times.
 */
export class WeightedSampler<T> {
  private readonly cumulative: Float64Array;
  readonly total: number;

  constructor(
    readonly items: readonly T[],
    weights: ArrayLike<number>,
  ) {
    if (items.length !== weights.length) throw new RangeError("items and weights differ in length");
    this.cumulative = new Float64Array(items.length);
    let sum = 0;
    for (let i = 0; i < items.length; i++) {
      const w = weights[i] as number;
      if (w > 0) sum += w;
      this.cumulative[i] = sum;
    }
    this.total = sum;
  }

  get size(): number {
    return this.items.length;
  }

  draw(rng: Rng): T {
    if (!(this.total > 0)) throw new RangeError("WeightedSampler has no positive weight");
    const r = rng.next() * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cumulative[mid] as number) > r) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo] as T;
  }
}

// --- Zipf helpers (Apache Commons RNG's RejectionInversionZipfSampler) ---

interface ZipfConstants {
  hIntegralX1: number;
  hIntegralN: number;
  sBound: number;
}

const zipfCache = new Map<string, ZipfConstants>();

function zipfConstants(n: number, s: number): ZipfConstants {
  const key = `${n}:${s}`;
  let z = zipfCache.get(key);
  if (z === undefined) {
    z = {
      hIntegralX1: zipfHIntegral(1.5, s) - 1,
      hIntegralN: zipfHIntegral(n + 0.5, s),
      sBound: 2 - zipfHIntegralInverse(zipfHIntegral(2.5, s) - zipfH(2, s), s),
    };
    if (zipfCache.size > 64) zipfCache.clear();
    zipfCache.set(key, z);
  }
  return z;
}

function zipfH(x: number, s: number): number {
  return Math.exp(-s * Math.log(x));
}

function zipfHIntegral(x: number, s: number): number {
  const logX = Math.log(x);
  return helper2((1 - s) * logX) * logX;
}

function zipfHIntegralInverse(x: number, s: number): number {
  let t = x * (1 - s);
  if (t < -1) t = -1;
  return Math.exp(helper1(t) * x);
}

/** log1p(x) / x, continuous at 0. */
function helper1(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - 0.25 * x));
}

/** expm1(x) / x, continuous at 0. */
function helper2(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + x * (1 / 3) * (1 + 0.25 * x));
}
