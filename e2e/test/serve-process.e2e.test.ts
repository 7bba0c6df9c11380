import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { migrateClickHouse, upsertTitleDimension } from "@marquee/analytics";
import { MODEL_NAMES } from "@marquee/contracts";
import { createClickHouse, freePort, loadConfig, ModelStore } from "@marquee/runtime";
import { publishNeighbours, publishPopularity } from "@marquee/serving/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * `marquee serve`, the scoring API as its own process, as an operator runs it: a data folder
 * with a model registry and the catalogue's dimension, no training code, nothing else running.
 */
const REPO = fileURLToPath(new URL("../..", import.meta.url));
const ids = ["t0", "t1", "t2", "t3", "t4", "t5"];
const items = ids.map((id, i) => ({ id, title: `Title ${id}`, genres: [i % 2 ? "Comedy" : "Drama"], year: 2000 + i }));

const SERVER_KEY = "serve-process-test-key-0123456789abcdef";
let dir: string;
let base: string;
let child: ChildProcess;
let store: ModelStore;
let output = "";
let firstPop: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "marquee-serve-"));
  store = new ModelStore(path.join(dir, "models"));
  firstPop = await publishPopularity(store, items);
  await publishNeighbours(store, MODEL_NAMES.itemToItem, items, {
    t0: [
      ["t2", 0.9],
      ["t4", 0.5],
    ],
  });
  // The published catalogue, as the catalogue loader writes it (chDB in the data folder; closed
  // before the server opens it).
  const clickhouse = await createClickHouse(loadConfig({ DATA_DIR: dir }));
  await migrateClickHouse(clickhouse.client);
  await upsertTitleDimension(
    clickhouse.client,
    items.map((t) => ({ ...t, age_rating: "PG", status: "published", published_at: Date.now() })),
  );
  await clickhouse.close();

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, ["--import", "tsx", path.join(REPO, "cli/src/main.ts"), "serve"], {
    cwd: REPO,
    env: {
      NODE_ENV: "test",
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      DATA_DIR: dir,
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_LEVEL: "warn",
      SERVING_API_KEY: SERVER_KEY,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const deadline = Date.now() + 90_000;
  for (;;) {
    const ready = await fetch(`${base}/ready`).catch(() => null);
    if (ready?.status === 200) break;
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`marquee serve did not get ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}, 120_000);

afterAll(async () => {
  child?.kill("SIGTERM");
  await new Promise((r) => (child?.exitCode !== null ? r(null) : child.once("exit", r)));
  await rm(dir, { recursive: true, force: true });
});

const get = async (p: string) => {
  const res = await fetch(`${base}${p}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe("marquee serve", () => {
  it("answers every API route from its own process, documented by its OpenAPI document", async () => {
    const doc = await get("/v1/openapi.json");
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe("3.1.0");
    expect(Object.keys(doc.body.paths as object).sort()).toEqual([
      "/v1/items/{id}/similar",
      "/v1/popular",
      "/v1/sessions/recommendations",
      "/v1/users/{id}/recommendations",
      "/v1/users/{id}/rows",
    ]);
    const rows = await get("/v1/users/a_serveprocess/rows?limit=3");
    expect(rows.status).toBe(200);
    const first = (rows.body.rows as { id: string; model_version: string; items: unknown[] }[])[0];
    expect(first?.id).toBe("top-picks");
    expect(first?.model_version).toContain(`pop:${firstPop}`);
    expect((await get("/v1/items/t0/similar?k=2")).body.items).toEqual([
      { id: "t2", score: 0.9, reason: "Viewers who watched Title t0 also watched this" },
      { id: "t4", score: 0.5, reason: "Viewers who watched Title t0 also watched this" },
    ]);
    const session = await fetch(`${base}/v1/sessions/recommendations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ item_ids: ["t0"], k: 2 }),
    });
    expect(((await session.json()) as { items: { id: string }[] }).items.map((i) => i.id)).toEqual(["t2", "t4"]);
    const bad = await get("/v1/popular?window=month");
    expect(bad.status).toBe(400);
    expect((bad.body.error as { message: string }).message).toMatch(/window/);
    // An account's rows need its credentials.
    expect((await get("/v1/users/u_0190f2c4a3b07c4e8d5f6a7b8c9d0e1f/rows")).status).toBe(401);
  });

  it("swaps in a promoted model under load without one failed request, and says so on /metrics", async () => {
    let failures = 0;
    let requests = 0;
    let stop = false;
    const seen = new Set<string>();
    const load = async () => {
      while (!stop) {
        // As a backend would: the server key is not rate-limited like anonymous visitors.
        const res = await fetch(`${base}/v1/users/a_loadtester/rows?limit=3`, {
          headers: { authorization: `Bearer ${SERVER_KEY}` },
        }).catch(() => null);
        requests++;
        if (res?.status !== 200) failures++;
        else {
          const body = (await res.json()) as { rows: { model_version: string }[] };
          seen.add(body.rows[0]?.model_version ?? "");
        }
      }
    };
    const clients = Array.from({ length: 8 }, load);
    await new Promise((r) => setTimeout(r, 300));
    const next = await publishPopularity(store, [...items].reverse());
    const deadline = Date.now() + 20_000;
    while (![...seen].some((v) => v.includes(`pop:${next}`)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(clients);
    expect(failures).toBe(0);
    expect(requests).toBeGreaterThan(50);
    expect([...seen].some((v) => v.includes(`pop:${firstPop}`))).toBe(true);
    expect([...seen].some((v) => v.includes(`pop:${next}`))).toBe(true);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      /marquee_serving_requests_total\{route="\/v1\/users\/:id\/rows",method="GET",status="200"\} \d+/,
    );
    expect(metrics).toContain('marquee_serving_request_duration_seconds_bucket{le="0.01",route="/v1/users/:id/rows"');
    expect(metrics).toContain(`marquee_serving_model_info{model="popularity",version="${next}"} 1`);
    expect(metrics).not.toContain(`marquee_serving_model_info{model="popularity",version="${firstPop}"}`);
  }, 40_000);
});
