import { MODEL_NAMES } from "@marquee/contracts";
import { OnlineFeatures } from "@marquee/feature-store";
import { createLogger, httpErrorHandler, MemoryOnlineStore } from "@marquee/runtime";
import Ajv from "ajv";
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishNeighbours, publishPopularity, tempModelStore } from "../test/models-fixture.ts";
import { ModelHub } from "./models.ts";
import { Recommender } from "./recommender.ts";
import { servingRoutes } from "./routes.ts";
import { type CatalogTitle, TitleIndex } from "./titles.ts";

/**
 * The serving API against its own OpenAPI document: every route's answers (200s and every
 * error) must match the schema the document publishes for that status, and every filter
 * (unpublished, region, age, not interested, owned) holds on every endpoint.
 */
const { store, cleanup } = await tempModelStore();
const silent = createLogger({ service: "test", level: "silent" });
const apiKey = "c".repeat(40);
const viewer = "u_contractviewer00000001";

// Titles by what must keep them out: `ok*` may be shown to a PG viewer in US.
const catalogue: CatalogTitle[] = [
  { id: "seed", title: "Seed", genres: ["Drama"], year: 2001, age_rating: "PG" },
  { id: "ok1", title: "Okay One", genres: ["Drama"], year: 2002, age_rating: "G" },
  { id: "ok2", title: "Okay Two", genres: ["Drama"], year: 2003, age_rating: "PG" },
  { id: "ok3", title: "Okay Three", genres: ["Comedy"], year: 2004, age_rating: "PG" },
  { id: "adult", title: "Adult Only", genres: ["Drama"], year: 2005, age_rating: "R" },
  { id: "french", title: "Only In France", genres: ["Drama"], year: 2006, age_rating: "PG", regions: ["FR"] },
  { id: "nope", title: "Turned Down", genres: ["Drama"], year: 2007, age_rating: "PG" },
  { id: "mine", title: "Already Bought", genres: ["Drama"], year: 2008, age_rating: "PG" },
];
// "withdrawn" is in every model but no longer in the published catalogue.
const modelItems = [...catalogue, { id: "withdrawn", title: "Withdrawn", genres: ["Drama"], year: 2000 }].map(
  ({ id, title, genres, year }) => ({ id, title, genres: [...genres], year }),
);
const everyOther = (from: string) =>
  modelItems.filter((t) => t.id !== from).map((t, r) => [t.id, 0.9 - r * 0.05] as [string, number]);
const NEVER = ["adult", "french", "withdrawn", "nope"];

let app: FastifyInstance;
let doc: {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
};
const ajv = new Ajv({ strict: false, allErrors: true });

beforeAll(async () => {
  // "withdrawn" and "adult" are the most popular: popularity alone would show them first.
  const order = ["withdrawn", "adult", "french", "nope", "mine", "ok1", "ok2", "ok3", "seed"];
  const popular = modelItems.map((t) => 1 - order.indexOf(t.id) / order.length);
  await publishPopularity(store, modelItems, { popular, trending: popular });
  await publishNeighbours(store, MODEL_NAMES.itemToItem, modelItems, { seed: everyOther("seed") });
  await publishNeighbours(store, MODEL_NAMES.personal, modelItems, { seed: everyOther("seed") });
  const hub = new ModelHub(store, silent);
  await hub.reload();
  const titles = new TitleIndex(async () => catalogue, silent);
  await titles.refresh();
  const online = new MemoryOnlineStore();
  const now = Date.now();
  await online.append(viewer, [
    { item_id: "seed", type: "play_progress", at: now - 5000, value: 0.4 },
    { item_id: "mine", type: "purchase", at: now - 9000 },
    { item_id: "nope", type: "not_interested", at: now - 1000 },
  ]);
  app = Fastify();
  app.setErrorHandler(httpErrorHandler);
  await app.register(servingRoutes, {
    serving: new Recommender(hub, new OnlineFeatures(online, null), { titles }),
    apiKey,
  });
  doc = (await app.inject({ url: "/v1/openapi.json" })).json();
});
afterAll(async () => {
  await app?.close();
  await cleanup();
});

/** The response, checked against the document's schema for its path, method and status. */
async function call(
  method: "GET" | "POST",
  template: string,
  url: string,
  options: { body?: unknown; key?: boolean } = {},
): Promise<LightMyRequestResponse> {
  const res = await app.inject({
    method,
    url,
    ...(options.body !== undefined ? { payload: options.body as object } : {}),
    headers: options.key === false ? {} : { authorization: `Bearer ${apiKey}` },
  });
  const operation = doc.paths[template]?.[method.toLowerCase()];
  expect(operation, `${method} ${template} is documented`).toBeDefined();
  const schema = operation?.responses[String(res.statusCode)]?.content?.["application/json"]?.schema;
  expect(schema, `${method} ${template} documents status ${res.statusCode}`).toBeDefined();
  const validate = ajv.compile(schema as object);
  const ok = validate(res.json());
  expect(ok, `${method} ${url} → ${res.statusCode}: ${ajv.errorsText(validate.errors)}`).toBe(true);
  return res;
}

const kid = "max_age_rating=PG&region=US";
const idsOf = (items: { id: string }[]) => items.map((i) => i.id);

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 and documents every route with its errors", () => {
    expect((doc as unknown as { openapi: string }).openapi).toBe("3.1.0");
    for (const [p, method] of [
      ["/v1/users/{id}/rows", "get"],
      ["/v1/users/{id}/recommendations", "get"],
      ["/v1/items/{id}/similar", "get"],
      ["/v1/sessions/recommendations", "post"],
      ["/v1/popular", "get"],
    ] as const) {
      const responses = doc.paths[p]?.[method]?.responses ?? {};
      expect(Object.keys(responses).sort(), p).toEqual(["200", "400", "401", "403", "429", "503"]);
    }
  });
});

describe("every endpoint, every filter, matching the document", () => {
  it("rows: nothing unpublished, out of region, above the age limit or turned down; owned only to resume", async () => {
    const res = await call("GET", "/v1/users/{id}/rows", `/v1/users/${viewer}/rows?${kid}`);
    expect(res.statusCode).toBe(200);
    const rows = res.json().rows as { id: string; items: { id: string; reason?: string; progress?: number }[] }[];
    const all = rows.flatMap((r) => idsOf(r.items));
    for (const id of NEVER) expect(all).not.toContain(id);
    expect(all).not.toContain("mine");
    expect(new Set(all).size).toBe(all.length);
    expect(rows[0]).toMatchObject({
      id: "continue-watching",
      items: [{ id: "seed", progress: 0.4, reason: "40% watched" }],
    });
    const picks = rows.find((r) => r.id === "top-picks")?.items ?? [];
    expect(picks.length).toBeGreaterThan(0);
    for (const i of picks) expect(i.reason).toBe("Because you watched Seed");
  });

  it("recommendations: the same filters, exclude_owned and genre on request", async () => {
    const url = (q: string) => `/v1/users/${viewer}/recommendations?${kid}${q}`;
    const plain = await call("GET", "/v1/users/{id}/recommendations", url("&k=20"));
    expect(plain.statusCode).toBe(200);
    const ids = idsOf(plain.json().items);
    for (const id of [...NEVER, "seed"]) expect(ids).not.toContain(id);
    // What the viewer bought is in their history, so never offered again in a personal list.
    expect(ids).not.toContain("mine");
    const owned = await call("GET", "/v1/users/{id}/recommendations", url("&exclude_owned=true"));
    expect(idsOf(owned.json().items)).toEqual(ids);
    const comedy = await call("GET", "/v1/users/{id}/recommendations", url("&genre=Comedy"));
    expect(idsOf(comedy.json().items)).toEqual(["ok3"]);
  });

  it("similar: the same filters, for a viewer also what they turned down and (asked) own", async () => {
    const res = await call(
      "GET",
      "/v1/items/{id}/similar",
      `/v1/items/seed/similar?${kid}&user_id=${viewer}&exclude_owned=1`,
    );
    expect(res.statusCode).toBe(200);
    const ids = idsOf(res.json().items);
    expect(ids).toEqual(["ok1", "ok2", "ok3"]);
    // Without the viewer: turned down and owned titles are anyone's to see.
    const open = await call("GET", "/v1/items/{id}/similar", `/v1/items/seed/similar?${kid}`, { key: false });
    expect(idsOf(open.json().items)).toEqual(["ok1", "ok2", "ok3", "nope", "mine"]);
    // A title the audience may not see is answered as unknown.
    const hidden = await call("GET", "/v1/items/{id}/similar", `/v1/items/adult/similar?${kid}`);
    expect(hidden.json().items).toEqual([]);
  });

  it("session recommendations: an anonymous visitor's views, with what they turned down left out", async () => {
    const res = await call("POST", "/v1/sessions/recommendations", "/v1/sessions/recommendations", {
      body: { item_ids: ["seed"], not_interested_ids: ["ok1"], max_age_rating: "PG", region: "US" },
      key: false,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(idsOf(body.items)).toEqual(["ok2", "ok3", "nope", "mine"]);
    expect(body.items[0].reason).toBe("Because you looked at Seed");
    expect(body).toMatchObject({ variant: "control", experiment: null });
  });

  it("popular: by window and genre, within the audience", async () => {
    const week = await call("GET", "/v1/popular", `/v1/popular?${kid}`, { key: false });
    expect(week.statusCode).toBe(200);
    expect(idsOf(week.json().items)).toEqual(["nope", "mine", "ok1", "ok2", "ok3", "seed"]);
    expect(week.json().items[0].reason).toBe("Popular in Drama this week");
    const day = await call("GET", "/v1/popular", `/v1/popular?${kid}&window=day&genre=Comedy`, { key: false });
    expect(day.json()).toMatchObject({
      window: "day",
      genre: "Comedy",
      items: [{ id: "ok3", reason: "Popular in Comedy today" }],
    });
  });

  it("answers bad parameters with 400 and a reason, in the documented error shape", async () => {
    for (const [template, url] of [
      ["/v1/users/{id}/rows", "/v1/users/a_x/rows?limit=0"],
      ["/v1/users/{id}/rows", "/v1/users/a_x/rows?region=usa"],
      ["/v1/users/{id}/recommendations", "/v1/users/a_x/recommendations?k=101"],
      ["/v1/users/{id}/recommendations", "/v1/users/a_x/recommendations?exclude_owned=maybe"],
      ["/v1/items/{id}/similar", "/v1/items/seed/similar?max_age_rating=XXX"],
      ["/v1/popular", "/v1/popular?window=year"],
      ["/v1/users/{id}/rows", "/v1/users/bad%20id/rows"],
    ] as const) {
      const res = await call("GET", template, url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code, url).toBe("bad_request");
      expect(res.json().error.message.length, url).toBeGreaterThan(5);
    }
    for (const [body, word] of [
      [{}, /item_ids/],
      [{ item_ids: [{ id: "seed" }] }, /item_ids/],
      [{ item_ids: ["seed"], k: 0 }, /k/],
      [{ item_ids: Array.from({ length: 101 }, (_, i) => `t${i}`) }, /item_ids/],
    ] as const) {
      const res = await call("POST", "/v1/sessions/recommendations", "/v1/sessions/recommendations", { body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.message).toMatch(word);
    }
  });

  it("answers an account's data without credentials 401 and with a wrong key 401, documented", async () => {
    const res = await call("GET", "/v1/users/{id}/recommendations", `/v1/users/${viewer}/recommendations`, {
      key: false,
    });
    expect(res.statusCode).toBe(401);
    const wrong = await app.inject({ url: `/v1/users/${viewer}/rows`, headers: { "x-api-key": "nope" } });
    expect(wrong.statusCode).toBe(401);
  });

  it("says 503 (retry) on every route while no model is loaded", async () => {
    const { store: empty, cleanup: done } = await tempModelStore();
    const cold = Fastify();
    cold.setErrorHandler(httpErrorHandler);
    await cold.register(servingRoutes, {
      serving: new Recommender(new ModelHub(empty, silent), new OnlineFeatures(new MemoryOnlineStore(), null)),
    });
    try {
      for (const [method, url] of [
        ["GET", "/v1/users/a_x/rows"],
        ["GET", "/v1/users/a_x/recommendations"],
        ["GET", "/v1/items/seed/similar"],
        ["POST", "/v1/sessions/recommendations"],
        ["GET", "/v1/popular"],
      ] as const) {
        const res = await cold.inject({ method, url, ...(method === "POST" ? { payload: { item_ids: [] } } : {}) });
        expect(res.statusCode, url).toBe(503);
        expect(res.json().error.code).toBe("unavailable");
      }
    } finally {
      await cold.close();
      await done();
    }
  });
});
