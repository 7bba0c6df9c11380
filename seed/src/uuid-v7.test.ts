import { UuidV7Schema } from "@marquee/contracts";
import { describe, expect, it } from "vitest";
import { isoTime } from "./iso-time.ts";
import { Rng } from "./rng.ts";
import { uuidV7, uuidV7Time } from "./uuid-v7.ts";

describe("uuidV7", () => {
  it("formats a valid v7 UUID carrying the millisecond time", () => {
    const rng = new Rng(1);
    for (const ms of [0, 1, 1_700_000_000_123, 2 ** 48 - 1]) {
      const id = uuidV7(ms, rng);
      expect(UuidV7Schema.safeParse(id).success).toBe(true);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(uuidV7Time(id)).toBe(ms);
    }
    expect(() => uuidV7(-1, rng)).toThrow(RangeError);
    expect(() => uuidV7(2 ** 48, rng)).toThrow(RangeError);
  });

  it("sorts by time and is deterministic for a seed", () => {
    const a = uuidV7(1_700_000_000_000, new Rng(5));
    const b = uuidV7(1_700_000_000_001, new Rng(5));
    expect(a < b).toBe(true);
    expect(uuidV7(1_700_000_000_000, new Rng(5))).toBe(a);
    expect(uuidV7(1_700_000_000_000, new Rng(6))).not.toBe(a);
  });
});

describe("isoTime", () => {
  it("matches Date.toISOString", () => {
    const rng = new Rng(9);
    for (let i = 0; i < 2_000; i++) {
      const ms = Math.floor(rng.uniform(0, 4_102_444_800_000));
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
    expect(isoTime(86_399_999)).toBe("1970-01-01T23:59:59.999Z");
  });
});
