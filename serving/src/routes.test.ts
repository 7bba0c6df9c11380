import { MODEL_NAMES } from "@marquee/contracts";
import { OnlineFeatures } from "@marquee/feature-store";
import { createLogger, httpErrorHandler, MemoryOnlineStore } from "@marquee/runtime";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishNeighbours, publishPopularity, tempModelStore } from "../test/models-fixture.ts";
import type { ServingAuthenticator, ViewerGrant } from "./access.ts";
import { createServingClient } from "./client.ts";
import { ModelHub } from "./models.ts";
import { Recommender } from "./recommender.ts";
import { servingRoutes } from "./routes.ts";

const { store, cleanup } = await tempModelStore();
const items = ["t1", "t2", "t3"].map((id, i) => ({ id, title: `Title ${id}`, genres: ["Drama"], year: 2000 + i }));

// Two accounts with a session each, as commerce would answer for their tokens / cookies.
const alice = "u_aaaaaaaaaaaaaaaaaaaa";
const aliceKid = "p_kkkkkkkkkkkkkkkkkkkk";
const bob = "u_bbbbbbbbbbbbbbbbbbbb";
const sessions: Record<string, ViewerGrant> = {
  "alice-token-0123456789": { actorIds: [alice, aliceKid], audience: { maxAgeRating: null, region: "US" } },
  "bob-token-0123456789ab": { actorIds: [bob], audience: { maxAgeRating: null, region: "US" } },
};
const authenticate: ServingAuthenticator = async ({ bearer, cookie }) => {
  const token = bearer ?? /(?:^|;\s*)mq_session=([^;]+)/.exec(cookie ?? "")?.[1];
  return (token && sessions[token]) || null;
};
const apiKey = "k".repeat(40);

let app: FastifyInstance;
beforeAll(async () => {
  await publishPopularity(store, items);
  await publishNeighbours(store, MODEL_NAMES.itemToItem, items, { t1: [["t2", 0.5]] });
  const hub = new ModelHub(store, createLogger({ service: "test", level: "silent" }));
  await hub.reload();
  const online = new MemoryOnlineStore();
  await online.append(alice, [{ item_id: "t1", type: "play_complete", at: Date.now() }]);
  app = Fastify();
  app.setErrorHandler(httpErrorHandler);
  await app.register(servingRoutes, {
    serving: new Recommender(hub, new OnlineFeatures(online, null)),
    authenticate,
    apiKey,
  });
});
afterAll(async () => {
  await app?.close();
  await cleanup();
});

const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: "GET", url, headers });

describe("who may read rows", () => {
  it("refuses an account's rows without credentials (401), with a reason", async () => {
    const res = await get(`/v1/users/${alice}/rows`);
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toMatchObject({ code: "unauthorized", message: expect.stringMatching(/session/) });
    expect(res.headers["www-authenticate"]).toBe('Bearer realm="marquee"');
    // A profile of the account is protected the same way.
    expect((await get(`/v1/users/${aliceKid}/rows`)).statusCode).toBe(401);
  });

  it("serves an account's rows to its own session (cookie or bearer), for the account and its profiles", async () => {
    const byCookie = await get(`/v1/users/${alice}/rows`, { cookie: "mq_anon=a_x; mq_session=alice-token-0123456789" });
    expect(byCookie.statusCode).toBe(200);
    expect(byCookie.json().rows[0]).toMatchObject({
      id: "top-picks",
      reason: "Because you showed interest in Title t1",
    });
    const byBearer = await get(`/v1/users/${aliceKid}/rows`, { authorization: "Bearer alice-token-0123456789" });
    expect(byBearer.statusCode).toBe(200);
  });

  it("refuses another account's session (403)", async () => {
    const res = await get(`/v1/users/${alice}/rows`, { authorization: "Bearer bob-token-0123456789ab" });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toMatchObject({ code: "forbidden", message: expect.stringMatching(/another account/) });
  });

  it("serves anonymous ids to anyone, and any id to the server key", async () => {
    expect((await get("/v1/users/a_0123456789abcdefghij/rows")).statusCode).toBe(200);
    expect((await get(`/v1/users/${alice}/rows`, { authorization: `Bearer ${apiKey}` })).statusCode).toBe(200);
    expect((await get(`/v1/users/${alice}/rows`, { "x-api-key": apiKey })).statusCode).toBe(200);
  });

  it("refuses wrong credentials instead of ignoring them", async () => {
    const badKey = await get("/v1/users/a_0123456789abcdefghij/rows", { "x-api-key": "nope" });
    expect(badKey.statusCode).toBe(401);
    const badToken = await get("/v1/users/a_0123456789abcdefghij/rows", { authorization: "Bearer unknown-token" });
    expect(badToken.statusCode).toBe(401);
    expect(badToken.json().error.message).toMatch(/not a valid session/);
    const notBearer = await get(`/v1/users/${alice}/rows`, { authorization: "Basic YWxpY2U6cHc=" });
    expect(notBearer.statusCode).toBe(401);
    // A stale session cookie on an anonymous request proves nothing, and breaks nothing.
    const stale = await get("/v1/users/a_0123456789abcdefghij/rows", { cookie: "mq_session=expired-token-000000" });
    expect(stale.statusCode).toBe(200);
  });

  it("applies the same rule to similar titles ranked with an account's history", async () => {
    expect((await get(`/v1/items/t1/similar?user_id=${alice}`)).statusCode).toBe(401);
    expect(
      (await get(`/v1/items/t1/similar?user_id=${alice}`, { authorization: "Bearer bob-token-0123456789ab" }))
        .statusCode,
    ).toBe(403);
    const own = await get(`/v1/items/t1/similar?user_id=${alice}`, { authorization: "Bearer alice-token-0123456789" });
    expect(own.statusCode).toBe(200);
    expect((await get("/v1/items/t1/similar?user_id=a_0123456789abcdefghij")).statusCode).toBe(200);
    expect((await get("/v1/items/t1/similar")).statusCode).toBe(200);
  });
});

describe("the audience over HTTP, and the typed client", () => {
  it("refuses an unknown age rating or a malformed region with a reason", async () => {
    const bad = await get("/v1/users/a_0123456789abcdefghij/rows?max_age_rating=XXX");
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/max_age_rating/);
    expect((await get("/v1/items/t1/similar?region=usa")).statusCode).toBe(400);
  });

  it("reads an account's rows with the server key, and reports a refusal as unauthorized", async () => {
    const base = await app.listen({ host: "127.0.0.1", port: 0 });
    const trusted = createServingClient(base, { apiKey, timeoutMs: 5_000 });
    const r = await trusted.rows(alice, { limit: 2, audience: { maxAgeRating: "PG", region: "US" } });
    expect(r.user_id).toBe(alice);
    await expect(createServingClient(base, { timeoutMs: 5_000 }).rows(alice)).rejects.toMatchObject({
      code: "unauthorized",
    });
    const similar = await createServingClient(base, { timeoutMs: 5_000 }).similar("t1", { limit: 1 });
    expect(similar.item_id).toBe("t1");
  });
});
