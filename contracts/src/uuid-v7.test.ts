import { describe, expect, it } from "vitest";
import { UuidV7Schema } from "./ids.ts";
import { formatUuidV7, newUuidV7, type Uint32Source, uuidV7At, uuidV7Time } from "./uuid-v7.ts";

const SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A seeded xorshift32: deterministic words, like the seed's Rng. */
function seeded(seed: number): Uint32Source {
  let x = seed >>> 0 || 1;
  return {
    uint32() {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    },
  };
}

describe("uuidV7At", () => {
  it("formats a valid v7 UUID carrying the millisecond time", () => {
    const random = seeded(1);
    for (const ms of [0, 1, 1_700_000_000_123, 2 ** 48 - 1]) {
      const id = uuidV7At(ms, random);
      expect(UuidV7Schema.safeParse(id).success).toBe(true);
      expect(id).toMatch(SHAPE);
      expect(uuidV7Time(id)).toBe(ms);
    }
    expect(() => uuidV7At(-1, random)).toThrow(RangeError);
    expect(() => uuidV7At(2 ** 48, random)).toThrow(RangeError);
    expect(UuidV7Schema.safeParse(uuidV7At(Date.now())).success).toBe(true);
  });

  it("sorts by time and is deterministic for a seeded source", () => {
    const a = uuidV7At(1_700_000_000_000, seeded(5));
    const b = uuidV7At(1_700_000_000_001, seeded(5));
    expect(a < b).toBe(true);
    expect(uuidV7At(1_700_000_000_000, seeded(5))).toBe(a);
    expect(uuidV7At(1_700_000_000_000, seeded(6))).not.toBe(a);
  });

  it("lays the random words out as rand_a (12 bits) and rand_b (30 + 32 bits)", () => {
    // The seeded world's ids depend on this layout: changing it changes every seeded event id.
    expect(formatUuidV7(1_700_000_000_123, 0xffff_fabc, 0xc123_4567, 0x89ab_cdef)).toBe(
      "018bcfe5-687b-7abc-8123-456789abcdef",
    );
    expect(formatUuidV7(0, 0, 0, 0)).toBe("00000000-0000-7000-8000-000000000000");
  });
});

describe("newUuidV7", () => {
  it("makes valid, unique UUIDv7s that sort in the order they were made", () => {
    // Thousands of ids fall in one millisecond: the counter, not the clock, orders them.
    const ids = Array.from({ length: 20_000 }, () => newUuidV7());
    for (const id of ids.slice(0, 50)) expect(id).toMatch(SHAPE);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it("carries the time it was made", () => {
    const before = Date.now();
    const id = newUuidV7();
    expect(uuidV7Time(id)).toBeGreaterThanOrEqual(before);
    expect(uuidV7Time(id)).toBeLessThanOrEqual(Date.now());
  });
});
