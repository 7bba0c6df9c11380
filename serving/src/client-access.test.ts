import { MODEL_NAMES } from "@marquee/contracts";
import { OnlineFeatures } from "@marquee/feature-store";
import {
  createLogger,
  createPostgres,
  httpErrorHandler,
  MemoryOnlineStore,
  type PostgresHandle,
} from "@marquee/runtime";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishNeighbours, publishPopularity, tempModelStore } from "../test/models-fixture.ts";
import { type AccessOptions, authorizeActor, authorizeCatalog, identify, type ServingAuthenticator } from "./access.ts";
import { ApiKeyCache, ApiKeys, SERVING_MIGRATIONS, SERVING_MIGRATIONS_TABLE } from "./api-keys.ts";
import { callerOf, clientAccess } from "./client-access.ts";
import { ModelHub } from "./models.ts";
import { Recommender } from "./recommender.ts";
import { servingRoutes } from "./routes.ts";
import { servingSchema } from "./schema.ts";

const { store, cleanup } = await tempModelStore();
const items = ["t1", "t2", "t3"].map((id, i) => ({ id, title: `Title ${id}`, genres: ["Drama"], year: 2000 + i }));
const alice = "u_aaaaaaaaaaaaaaaaaaaa";
const bob = "u_bbbbbbbbbbbbbbbbbbbb";
const visitor = "a_0123456789abcdefghij";
const authenticate: ServingAuthenticator = async ({ bearer }) =>
  bearer === "alice-session-token-000" ? { actorIds: [alice], audience: { maxAgeRating: "PG", region: "US" } } : null;
const serverKey = "s".repeat(40);
const partner = "https://partner.example";

let pg: PostgresHandle<typeof servingSchema>;
let keys: ApiKeys;
let cache: ApiKeyCache;
let app: FastifyInstance;
const made: Record<string, string> = {};

beforeAll(async () => {
  pg = await createPostgres({ DATABASE_URL: undefined, dataDir: "" }, servingSchema, { inMemory: true });
  await pg.migrate(SERVING_MIGRATIONS, { table: SERVING_MIGRATIONS_TABLE });
  keys = new ApiKeys(pg.db);
  const create = async (name: string, input: Record<string, unknown>) => {
    made[name] = (await keys.create({ name, ...input })).api_key;
  };
  await create("catalog", { scopes: ["catalog:read"], corsOrigins: [partner] });
  await create("users", { scopes: ["users:read"] });
  await create("both", { scopes: ["catalog:read", "users:read"] });
  await create("tiny", { scopes: ["catalog:read"], rateLimitPerMinute: 3 });
  await create("revoked", { scopes: ["catalog:read", "users:read"] });
  await keys.revoke(made.revoked as string);
  cache = new ApiKeyCache(keys, { refreshMs: 60_000 });
  await cache.start();

  await publishPopularity(store, items);
  await publishNeighbours(store, MODEL_NAMES.itemToItem, items, { t1: [["t2", 0.5]] });
  const hub = new ModelHub(store, createLogger({ service: "test", level: "silent" }));
  await hub.reload();
  const access: AccessOptions = { apiKey: serverKey, authenticate, keys: cache };
  app = Fastify();
  app.setErrorHandler(httpErrorHandler);
  // As the composition root mounts it: the plugin and the routes in one scope of their own.
  await app.register(async (scope) => {
    await scope.register(clientAccess, { ...access, keys: cache, openRateLimitPerMinute: 4 });
    await scope.register(servingRoutes, {
      serving: new Recommender(hub, new OnlineFeatures(new MemoryOnlineStore(), null)),
      ...access,
    });
    // What a catalog route does with the caller the plugin identified.
    scope.get("/v1/test/catalog", async (request) => {
      const caller = await callerOf(request, access);
      authorizeCatalog(caller, "popular titles");
      return { kind: caller.kind };
    });
    scope.get<{ Params: { id: string } }>("/v1/test/actor/:id", async (request) => {
      const caller = await callerOf(request, access);
      authorizeActor(caller, request.params.id);
      return { kind: caller.kind, audience: caller.kind === "client" ? caller.viewer?.audience : null };
    });
  });
  // Another app's route, outside serving's scope: untouched by its keys, CORS and limits.
  app.get("/elsewhere", async () => ({ ok: true }));
});
afterAll(async () => {
  cache?.stop();
  await app?.close();
  await pg?.close();
  await cleanup();
});

const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: "GET", url, headers });
const key = (name: string) => ({ "x-api-key": made[name] as string });

describe("client API keys", () => {
  it("serves a key with the scope, by x-api-key or Authorization: Bearer", async () => {
    expect((await get(`/v1/users/${visitor}/rows`, key("catalog"))).statusCode).toBe(200);
    expect((await get(`/v1/users/${visitor}/rows`, { authorization: `Bearer ${made.catalog}` })).statusCode).toBe(200);
    expect((await get(`/v1/users/${alice}/rows`, key("users"))).statusCode).toBe(200);
    expect((await get("/v1/test/catalog", key("both"))).json()).toEqual({ kind: "client" });
  });

  it("refuses an unknown key (401) and a revoked one (403 'this API key was revoked')", async () => {
    const unknown = await get(`/v1/users/${visitor}/rows`, { "x-api-key": `mq_0123456789abcdef_${"x".repeat(43)}` });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().error).toMatchObject({ code: "unauthorized", message: expect.stringMatching(/not known/) });
    const garbage = await get(`/v1/users/${visitor}/rows`, { "x-api-key": "nope" });
    expect(garbage.statusCode).toBe(401);
    const revoked = await get(`/v1/users/${visitor}/rows`, key("revoked"));
    expect(revoked.statusCode).toBe(403);
    expect(revoked.json().error).toEqual({ code: "forbidden", message: "this API key was revoked" });
    const revokedBearer = await get("/v1/test/catalog", { authorization: `Bearer ${made.revoked}` });
    expect(revokedBearer.statusCode).toBe(403);
  });

  it("refuses a key lacking the scope, naming it (403)", async () => {
    const account = await get(`/v1/users/${alice}/rows`, key("catalog"));
    expect(account.statusCode).toBe(403);
    expect(account.json().error.message).toMatch(/lacks the scope users:read/);
    const similar = await get(`/v1/items/t1/similar?user_id=${bob}`, key("catalog"));
    expect(similar.statusCode).toBe(403);
    const catalog = await get("/v1/test/catalog", key("users"));
    expect(catalog.statusCode).toBe(403);
    expect(catalog.json().error.message).toMatch(/lacks the scope catalog:read/);
    const anonymousRows = await get(`/v1/test/actor/${visitor}`, key("users"));
    expect(anonymousRows.statusCode).toBe(403);
    expect(anonymousRows.json().error.message).toMatch(/catalog:read/);
  });

  it("lets an app's key read the signed-in viewer's own rows with the viewer's session, at the viewer's limit", async () => {
    const own = await get(`/v1/test/actor/${alice}`, {
      ...key("catalog"),
      authorization: "Bearer alice-session-token-000",
    });
    expect(own.statusCode).toBe(200);
    expect(own.json()).toEqual({ kind: "client", audience: { maxAgeRating: "PG", region: "US" } });
    const other = await get(`/v1/test/actor/${bob}`, {
      ...key("catalog"),
      authorization: "Bearer alice-session-token-000",
    });
    expect(other.statusCode).toBe(403);
    const badSession = await get(`/v1/test/actor/${alice}`, {
      ...key("catalog"),
      authorization: "Bearer expired-0000",
    });
    expect(badSession.statusCode).toBe(401);
  });

  it("keeps the server key trusted with everything, and unlimited", async () => {
    for (let i = 0; i < 8; i++)
      expect((await get(`/v1/users/${alice}/rows`, { "x-api-key": serverKey })).statusCode).toBe(200);
    expect((await get("/v1/test/catalog", { authorization: `Bearer ${serverKey}` })).statusCode).toBe(200);
  });
});

describe("per-key rate limits", () => {
  it("answers 429 with Retry-After and the JSON error once a key's minute is spent, other keys unaffected", async () => {
    for (let i = 0; i < 3; i++) expect((await get("/v1/test/catalog", key("tiny"))).statusCode).toBe(200);
    const over = await get("/v1/popular", key("tiny"));
    expect(over.statusCode).toBe(429);
    expect(Number(over.headers["retry-after"])).toBeGreaterThan(0);
    expect(Number(over.headers["retry-after"])).toBeLessThanOrEqual(60);
    expect(over.json()).toEqual({
      error: { code: "rate_limited", message: expect.stringMatching(/at most 3 a minute for this API key/) },
    });
    expect((await get("/v1/test/catalog", key("both"))).statusCode).toBe(200);
  });

  it("limits callers without a key per address", async () => {
    const from = (ip: string) => app.inject({ method: "GET", url: `/v1/users/${visitor}/rows`, remoteAddress: ip });
    for (let i = 0; i < 4; i++) expect((await from("198.51.100.7")).statusCode).toBe(200);
    const over = await from("198.51.100.7");
    expect(over.statusCode).toBe(429);
    expect(over.json().error.message).toMatch(/from one address/);
    expect(over.headers["retry-after"]).toBeDefined();
    expect((await from("198.51.100.8")).statusCode).toBe(200);
    // Routes outside serving's scope are not counted or limited by it.
    for (let i = 0; i < 6; i++)
      expect((await app.inject({ url: "/elsewhere", remoteAddress: "198.51.100.7" })).statusCode).toBe(200);
  });

  it("lets requests through, promptly, while the rate-limit Redis is away", async () => {
    const away = Fastify();
    away.setErrorHandler(httpErrorHandler);
    await away.register(async (scope) => {
      // Nothing listens on port 1: every counter update fails.
      await scope.register(clientAccess, { keys: cache, redisUrl: "redis://127.0.0.1:1", openRateLimitPerMinute: 1 });
      scope.get("/v1/test", async () => ({ ok: true }));
    });
    try {
      const started = performance.now();
      for (let i = 0; i < 3; i++) expect((await away.inject({ url: "/v1/test" })).statusCode).toBe(200);
      expect(performance.now() - started).toBeLessThan(2_000);
    } finally {
      await away.close();
    }
  });
});

describe("CORS per key", () => {
  it("sends CORS headers for an origin the key lists, and refuses (403) one it does not", async () => {
    const allowed = await get("/v1/test/catalog", { ...key("catalog"), origin: partner });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.headers["access-control-allow-origin"]).toBe(partner);
    expect(allowed.headers.vary).toMatch(/origin/i);
    const refused = await get("/v1/test/catalog", { ...key("catalog"), origin: "https://evil.example" });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.message).toMatch(/may not be used from pages of https:\/\/evil\.example/);
    expect(refused.headers["access-control-allow-origin"]).toBeUndefined();
    // A key with no origins is for servers: any browser origin is refused.
    const serverOnly = await get("/v1/test/catalog", { ...key("both"), origin: partner });
    expect(serverOnly.statusCode).toBe(403);
  });

  it("answers preflights for origins some active key allows, on every route, and refuses others", async () => {
    const preflight = (url: string, origin: string) =>
      app.inject({
        method: "OPTIONS",
        url,
        headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "x-api-key" },
      });
    for (const url of [`/v1/users/${visitor}/rows`, "/v1/popular", "/v1/sessions/recommendations"]) {
      const ok = await preflight(url, partner);
      expect(ok.statusCode, url).toBe(204);
      expect(ok.headers["access-control-allow-origin"]).toBe(partner);
      expect(ok.headers["access-control-allow-headers"]).toMatch(/x-api-key/);
      expect(ok.headers["access-control-allow-methods"]).toMatch(/GET/);
    }
    const evil = await preflight("/v1/popular", "https://evil.example");
    expect(evil.statusCode).toBe(403);
    expect(evil.headers["access-control-allow-origin"]).toBeUndefined();
    // Outside serving's scope there is no preflight route of serving's.
    expect((await preflight("/elsewhere", partner)).statusCode).toBe(404);
  });
});

describe("callers without a key", () => {
  it("are refused (401, saying how) only where credentials are required", async () => {
    await expect(identify({}, { keys: cache, requireCredentials: true })).rejects.toMatchObject({
      code: "unauthorized",
      message: expect.stringMatching(/needs an API key: send `x-api-key: mq_…`/),
    });
    expect(await identify({}, { keys: cache })).toEqual({ kind: "anonymous" });
    // A viewer's session is a credential too.
    const viewer = await identify(
      { authorization: "Bearer alice-session-token-000" },
      { keys: cache, authenticate, requireCredentials: true },
    );
    expect(viewer.kind).toBe("viewer");
    // Without a key store, a client key cannot be checked: it is unknown, not ignored.
    await expect(identify({ "x-api-key": made.catalog }, {})).rejects.toMatchObject({ code: "unauthorized" });
  });
});
