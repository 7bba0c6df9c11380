import { describe, expect, it } from "vitest";
import { isoTime } from "./iso-time.ts";
import { Rng } from "./rng.ts";

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
