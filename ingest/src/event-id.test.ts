import { UuidV7Schema } from "@marquee/contracts";
import { describe, expect, it } from "vitest";
import { newEventId } from "./event-id.ts";

describe("newEventId", () => {
  it("makes valid, unique UUIDv7s that sort in the order they were made", () => {
    const ids = Array.from({ length: 5_000 }, () => newEventId());
    for (const id of ids.slice(0, 50)) expect(UuidV7Schema.safeParse(id).success).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it("carries the time it was made", () => {
    const before = Date.now();
    const id = newEventId();
    const ms = Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now());
  });
});
