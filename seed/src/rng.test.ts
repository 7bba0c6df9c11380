import { describe, expect, it } from "vitest";
import { createRng, mixSeed, Rng, WeightedSampler } from "./rng.ts";

const draws = (rng: Rng, n: number, f: (r: Rng) => number): number[] => Array.from({ length: n }, () => f(rng));
const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

describe("Rng", () => {
  it("is deterministic per seed and stream, and differs across them", () => {
    const a = draws(createRng(7, "x"), 20, (r) => r.uint32());
    expect(draws(createRng(7, "x"), 20, (r) => r.uint32())).toEqual(a);
    expect(draws(createRng(8, "x"), 20, (r) => r.uint32())).not.toEqual(a);
    expect(draws(createRng(7, "y"), 20, (r) => r.uint32())).not.toEqual(a);
    expect(mixSeed(1, "user", 2)).not.toBe(mixSeed(1, "user", 3));
  });

  it("keeps uniform, int and chance in range with the right means", () => {
    const rng = new Rng(1);
    const u = draws(rng, 20_000, (r) => r.next());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(mean(u)).toBeCloseTo(0.5, 1);
    const ints = draws(rng, 20_000, (r) => r.int(3, 7));
    expect(new Set(ints)).toEqual(new Set([3, 4, 5, 6, 7]));
    expect(mean(draws(rng, 20_000, (r) => (r.chance(0.2) ? 1 : 0)))).toBeCloseTo(0.2, 1);
    expect(() => rng.int(5, 4)).toThrow(RangeError);
  });

  it("draws normal, Poisson, geometric and gamma deviates with the expected moments", () => {
    const rng = new Rng(2);
    const n = draws(rng, 20_000, (r) => r.normal(10, 2));
    expect(mean(n)).toBeCloseTo(10, 0);
    const sd = Math.sqrt(mean(n.map((x) => (x - 10) ** 2)));
    expect(sd).toBeGreaterThan(1.9);
    expect(sd).toBeLessThan(2.1);
    expect(mean(draws(rng, 20_000, (r) => r.poisson(3)))).toBeCloseTo(3, 1);
    expect(Math.abs(mean(draws(rng, 5_000, (r) => r.poisson(80))) - 80)).toBeLessThan(1);
    expect(mean(draws(rng, 20_000, (r) => r.geometric(0.25)))).toBeCloseTo(3, 0);
    expect(mean(draws(rng, 20_000, (r) => r.gamma(0.5)))).toBeCloseTo(0.5, 1);
    const d = rng.dirichlet([5, 0.1, 0.1, 1]);
    expect(d.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 10);
  });

  it("samples Zipf ranks with P(k) ∝ k^-s", () => {
    const rng = new Rng(3);
    const counts = new Map<number, number>();
    const N = 100_000;
    for (let i = 0; i < N; i++) {
      const k = rng.zipf(1000, 1);
      expect(k).toBeGreaterThanOrEqual(1);
      expect(k).toBeLessThanOrEqual(1000);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    // H(1000) ≈ 7.485: rank 1 has ~13.4 %, rank 2 half of that.
    expect((counts.get(1) ?? 0) / N).toBeCloseTo(1 / 7.485, 2);
    expect((counts.get(1) ?? 0) / (counts.get(2) ?? 1)).toBeGreaterThan(1.8);
    expect((counts.get(1) ?? 0) / (counts.get(2) ?? 1)).toBeLessThan(2.2);
  });

  it("picks by weight, shuffles into a permutation, samples without replacement", () => {
    const rng = new Rng(4);
    const picks = draws(rng, 10_000, (r) => r.weightedIndex([1, 0, 3]));
    expect(picks.includes(1)).toBe(false);
    expect(mean(picks.map((i) => (i === 2 ? 1 : 0)))).toBeCloseTo(0.75, 1);
    expect(() => rng.weightedIndex([0, 0])).toThrow(RangeError);
    const xs = Array.from({ length: 50 }, (_, i) => i);
    expect(rng.shuffle(xs.slice()).sort((a, b) => a - b)).toEqual(xs);
    const s = rng.sample(xs, 10);
    expect(new Set(s).size).toBe(10);
    const sampler = new WeightedSampler(["a", "b", "c"], [0, 1, 9]);
    const got = Array.from({ length: 5_000 }, () => sampler.draw(rng));
    expect(got.includes("a")).toBe(false);
    expect(got.filter((x) => x === "c").length / got.length).toBeCloseTo(0.9, 1);
    expect(rng.hex(20)).toMatch(/^[0-9a-f]{20}$/);
  });
});
