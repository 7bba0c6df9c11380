import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createOnlineStore, MemoryOnlineStore, type OnlineStore } from "./online-store.ts";
import { RedisOnlineStore } from "./redis-online-store.ts";
import { serviceSuite } from "./testing.ts";

serviceSuite("Redis online store", process.env.TEST_REDIS_URL, (url) => {
  const prefix = `test:${Date.now().toString(36)}:${process.pid}:`;
  let redis: RedisOnlineStore;

  beforeAll(async () => {
    redis = new RedisOnlineStore(url, { capacity: 5, prefix, ttlSeconds: 600 });
    await redis.ping();
  });
  afterAll(async () => {
    await redis?.close();
    const admin = new Redis(url);
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  });

  const i = (at: number, item = `t${at}`, type = "click", value?: number) => ({
    item_id: item,
    type,
    at,
    ...(value === undefined ? {} : { value }),
  });

  it("behaves like the memory store: newest first, capped, duplicates stored once", async () => {
    const memory = new MemoryOnlineStore({ capacity: 5 });
    const writes = [
      [i(3), i(1), i(2)],
      [i(2), i(7, "t7", "rating", 4.5)], // t2 again: a replayed batch
      [i(5), i(4), i(6), i(0)],
    ];
    for (const stores of [memory, redis] as OnlineStore[]) {
      for (const w of writes) await stores.append("u1", w);
    }
    const fromRedis = await redis.recent("u1");
    expect(fromRedis).toEqual(await memory.recent("u1"));
    expect(fromRedis.map((r) => r.at)).toEqual([7, 6, 5, 4, 3]);
    expect(fromRedis[0]).toEqual({ item_id: "t7", type: "rating", at: 7, value: 4.5 });
    expect(await redis.recent("u1", 2)).toHaveLength(2);
    expect(await redis.recent("nobody")).toEqual([]);
  });

  it("keeps actors apart and handles many concurrent appends", async () => {
    await Promise.all(Array.from({ length: 200 }, (_, n) => redis.append(`a${n % 20}`, [i(n)])));
    for (let a = 0; a < 20; a++) {
      const recent = await redis.recent(`a${a}`);
      expect(recent).toHaveLength(5);
      expect(recent.every((r) => r.at % 20 === a)).toBe(true);
    }
  });

  it("is what createOnlineStore gives when REDIS_URL is set", async () => {
    const store = await createOnlineStore({ REDIS_URL: url });
    try {
      expect(store.kind).toBe("redis");
    } finally {
      await store.close();
    }
  });
});
