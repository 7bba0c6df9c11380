import { createPostgres, httpErrorHandler, type PostgresHandle, sql } from "@marquee/runtime";
import { serviceSuite } from "@marquee/runtime/testing";
import Fastify, { type FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { authorizeCatalog } from "./access.ts";
import { ApiKeyCache, ApiKeys, SERVING_MIGRATIONS, SERVING_MIGRATIONS_TABLE } from "./api-keys.ts";
import { callerOf, clientAccess } from "./client-access.ts";
import { servingSchema } from "./schema.ts";

const databaseUrl = process.env.TEST_DATABASE_URL;
// Two replicas need both: the keys on one Postgres, the counters on one Redis.
const redisUrl = databaseUrl ? process.env.TEST_REDIS_URL : undefined;

serviceSuite("serving API keys across replicas (Redis counters, Postgres keys)", redisUrl, (url) => {
  const name = `marquee_serving_keys_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const prefix = `test:serving-rate:${name}:`;
  const admin = () => createPostgres({ DATABASE_URL: databaseUrl, dataDir: "" }, {});
  let pg: PostgresHandle<typeof servingSchema>;
  let keys: ApiKeys;
  const replicas: { app: FastifyInstance; cache: ApiKeyCache }[] = [];

  beforeAll(async () => {
    const a = await admin();
    await a.db.execute(sql.raw(`create database ${name}`));
    await a.close();
    const u = new URL(databaseUrl as string);
    u.pathname = `/${name}`;
    pg = await createPostgres({ DATABASE_URL: u.toString(), dataDir: "" }, servingSchema);
    await pg.migrate(SERVING_MIGRATIONS, { table: SERVING_MIGRATIONS_TABLE });
    keys = new ApiKeys(pg.db);
    for (let i = 0; i < 2; i++) {
      // Each replica its own connection and cache, as separate processes would have.
      const own = await createPostgres({ DATABASE_URL: u.toString(), dataDir: "" }, servingSchema);
      const cache = new ApiKeyCache(new ApiKeys(own.db), { refreshMs: 300 });
      await cache.start();
      const app = Fastify();
      app.setErrorHandler(httpErrorHandler);
      await app.register(async (scope) => {
        await scope.register(clientAccess, {
          keys: cache,
          redisUrl: url,
          redisPrefix: prefix,
          openRateLimitPerMinute: 3,
        });
        scope.get("/v1/popular", async (request) => {
          authorizeCatalog(await callerOf(request, { keys: cache }));
          return { ok: true };
        });
      });
      app.addHook("onClose", async () => {
        cache.stop();
        await own.close();
      });
      replicas.push({ app, cache });
    }
  });
  afterAll(async () => {
    for (const r of replicas) await r.app.close();
    await pg?.close();
    const redis = new Redis(url);
    const left = await redis.keys(`${prefix}*`);
    if (left.length > 0) await redis.del(...left);
    await redis.quit();
    const a = await admin();
    await a.db.execute(sql.raw(`drop database if exists ${name} with (force)`));
    await a.close();
  });

  const get = (replica: number, headers: Record<string, string>, remoteAddress = "127.0.0.1") =>
    (replicas[replica] as { app: FastifyInstance }).app.inject({ url: "/v1/popular", headers, remoteAddress });

  it("counts one key's requests on every replica together: 429 with Retry-After past its limit", async () => {
    const { api_key } = await keys.create({ name: "shared", scopes: ["catalog:read"], rateLimitPerMinute: 4 });
    const h = { "x-api-key": api_key };
    const answers = [];
    for (const replica of [0, 1, 0, 1]) answers.push((await get(replica, h)).statusCode);
    expect(answers).toEqual([200, 200, 200, 200]);
    for (const replica of [0, 1]) {
      const over = await get(replica, h);
      expect(over.statusCode).toBe(429);
      expect(Number(over.headers["retry-after"])).toBeGreaterThan(0);
      expect(over.json().error.code).toBe("rate_limited");
    }
  });

  it("counts keyless callers per address across replicas", async () => {
    const answers = [];
    for (const replica of [0, 1, 0, 1]) answers.push((await get(replica, {}, "203.0.113.9")).statusCode);
    expect(answers).toEqual([200, 200, 200, 429]);
  });

  it("a key revoked on the database is refused by every replica within its refresh", async () => {
    const { key, api_key } = await keys.create({ name: "to revoke", scopes: ["catalog:read"] });
    const h = { "x-api-key": api_key };
    expect((await get(0, h)).statusCode).toBe(200);
    expect((await get(1, h)).statusCode).toBe(200);
    await keys.revoke(key.id);
    const started = Date.now();
    for (const replica of [0, 1]) {
      while ((await get(replica, h)).statusCode !== 403) {
        if (Date.now() - started > 3_000) throw new Error(`replica ${replica} kept accepting a revoked key`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    expect(Date.now() - started).toBeLessThan(1_500);
    expect((await get(1, h)).json().error.message).toBe("this API key was revoked");
  });
});
