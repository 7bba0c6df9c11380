import { randomUUID } from "node:crypto";
import { serviceSuite } from "@marquee/runtime/testing";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryStreamSessions, RedisStreamSessions, type StreamSessions } from "./stream-sessions.ts";

const TTL = 90_000;

/** The concurrent-stream rules, the same in memory (embedded) and in Redis (several origins). */
function streamRules(open: () => StreamSessions) {
  const sessions = open();
  afterAll(() => sessions.close());
  const user = () => `u-${randomUUID()}`;
  const claim = (
    userId: string,
    streamId: string,
    now: number,
    over: { ent?: string; rental?: boolean; deviceId?: string } = {},
  ) =>
    sessions.claim(
      { userId, streamId, entitlementId: over.ent ?? "e1", rental: over.rental ?? false, deviceId: over.deviceId },
      3,
      TTL,
      now,
    );

  it("three streams per account, a fourth refused; accounts do not share the limit", async () => {
    const u = user();
    const t = 1_000_000;
    expect(await claim(u, "s1", t)).toBe("ok");
    expect(await claim(u, "s2", t)).toBe("ok");
    expect(await claim(u, "s3", t)).toBe("ok");
    expect(await claim(u, "s4", t)).toBe("account_limit");
    // Renewing a stream that holds a slot is always fine.
    expect(await claim(u, "s2", t + 1000)).toBe("ok");
    expect(await claim(user(), "s1", t)).toBe("ok");
  });

  it("a stream silent past its TTL loses its slot, and coming back queues like a new one", async () => {
    const u = user();
    const t = 2_000_000;
    for (const s of ["a", "b", "c"]) expect(await claim(u, s, t)).toBe("ok");
    expect(await claim(u, "a", t + 60_000)).toBe("ok");
    expect(await claim(u, "b", t + 60_000)).toBe("ok");
    expect(await claim(u, "d", t + TTL + 1)).toBe("ok"); // c went quiet
    expect(await claim(u, "c", t + TTL + 2)).toBe("account_limit");
    await sessions.release(u, "d");
    expect(await claim(u, "c", t + TTL + 3)).toBe("ok");
  });

  it("a rental plays on one device at a time; the same device replaces its own stream", async () => {
    const u = user();
    const t = 3_000_000;
    expect(await claim(u, "r1", t, { ent: "rent-1", rental: true, deviceId: "tv" })).toBe("ok");
    expect(await claim(u, "r2", t, { ent: "rent-1", rental: true, deviceId: "phone" })).toBe("rental_elsewhere");
    // The TV reloads: its new Play takes over from its old stream.
    expect(await claim(u, "r3", t + 5, { ent: "rent-1", rental: true, deviceId: "tv" })).toBe("ok");
    expect(await claim(u, "r1", t + 6, { ent: "rent-1", rental: true })).toBe("rental_elsewhere");
    // Another title (another entitlement) plays alongside.
    expect(await claim(u, "o1", t + 7, { ent: "own-2" })).toBe("ok");
  });

  it("two Plays at once cannot both take the last slot", async () => {
    const u = user();
    const t = 4_000_000;
    await claim(u, "x1", t);
    await claim(u, "x2", t);
    const outcomes = await Promise.all(["y1", "y2", "y3", "y4"].map((s) => claim(u, s, t)));
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(1);
  });
}

describe("stream sessions in memory", () => streamRules(() => new MemoryStreamSessions()));

serviceSuite("redis", process.env.TEST_REDIS_URL, (url) => {
  streamRules(() => new RedisStreamSessions(url, `marquee:test:streams:${randomUUID()}:`));
});
