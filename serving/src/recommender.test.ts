import { MODEL_NAMES, type RowsResponse } from "@marquee/contracts";
import { OnlineFeatures } from "@marquee/feature-store";
import { createLogger, MemoryOnlineStore } from "@marquee/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishNeighbours, publishPopularity, tempModelStore } from "../test/models-fixture.ts";
import { ModelHub } from "./models.ts";
import { Recommender } from "./recommender.ts";

const { store, cleanup } = await tempModelStore();
afterAll(cleanup);

// Twelve titles, most popular first: Drama d0..d5, Comedy c0..c5.
const ids = ["d0", "c0", "d1", "c1", "d2", "c2", "d3", "c3", "d4", "c4", "d5", "c5"];
const items = ids.map((id, i) => ({
  id,
  title: `Title ${id}`,
  genres: [id.startsWith("d") ? "Drama" : "Comedy"],
  year: 2000 + i,
}));

let online: MemoryOnlineStore;
let recommender: Recommender;
const now = Date.now();

beforeAll(async () => {
  await publishPopularity(store, items);
  await publishNeighbours(store, MODEL_NAMES.itemToItem, items, {
    d3: [
      ["d4", 0.9],
      ["d0", 0.8],
      ["d5", 0.7],
      ["c5", 0.2],
      ["d1", 0.15],
      ["d2", 0.1],
    ],
    d4: [
      ["d3", 0.9],
      ["d5", 0.6],
    ],
  });
  const hub = new ModelHub(store, createLogger({ service: "test", level: "silent" }));
  await hub.reload();
  online = new MemoryOnlineStore();
  recommender = new Recommender(hub, new OnlineFeatures(online, null));
});

const rowIds = (r: RowsResponse) => r.rows.map((x) => x.id);
const itemsOf = (r: RowsResponse, id: string) => r.rows.find((x) => x.id === id)?.items.map((i) => i.id) ?? [];

describe("Recommender rows", () => {
  it("gives a new visitor popular top picks and the popular genres' rows, without repeating a title", async () => {
    const r = await recommender.rows("a_newcomer", { limit: 4 });
    expect(itemsOf(r, "top-picks")).toEqual(["d0", "c0", "d1", "c1"]);
    expect(r.rows[0]?.items.every((i) => i.reason === "Popular on Marquee this week")).toBe(true);
    // The catalogue's two genres, each from its most popular titles Top picks did not take;
    // that leaves this 12-title catalogue nothing for Trending (a real one has plenty).
    expect(rowIds(r)).toEqual(["top-picks", "genre-comedy", "genre-drama"]);
    expect(itemsOf(r, "genre-comedy")).toEqual(["c2", "c3", "c4", "c5"]);
    expect(itemsOf(r, "genre-drama")).toEqual(["d2", "d3", "d4", "d5"]);
    expect(r.rows.find((x) => x.id === "genre-drama")?.items[0]?.reason).toBe("Popular in Drama");
    for (const row of r.rows) expect([row.variant, row.experiment]).toEqual(["control", null]);
  });

  it("orders a viewer's rows top picks, because you watched, trending, genre; no title twice; nothing seen", async () => {
    await online.append("a_dramafan", [
      { item_id: "d3", type: "play_complete", at: now - 1000 },
      { item_id: "d4", type: "purchase", at: now - 5000 },
      { item_id: "c0", type: "not_interested", at: now - 2000 },
    ]);
    const r = await recommender.rows("a_dramafan", { limit: 2 });
    expect(rowIds(r)).toEqual(["top-picks", "because-you-watched", "trending", "genre-drama"]);
    const all = r.rows.flatMap((row) => row.items.map((i) => i.id));
    expect(new Set(all).size).toBe(all.length);
    // Watched (d3), bought (d4) and turned down (c0) titles are offered in no row.
    for (const id of ["d3", "d4", "c0"]) expect(all).not.toContain(id);
    // Top picks: d3's and d4's neighbours weighted by interest, strongest first.
    expect(itemsOf(r, "top-picks")).toEqual(["d5", "d0"]);
    // Because you watched d3 (the latest): its neighbours that top picks did not already take.
    expect(itemsOf(r, "because-you-watched")).toEqual(["c5", "d1"]);
    expect(itemsOf(r, "genre-drama")).toEqual(["d2"]);
    expect(itemsOf(r, "trending")).toEqual(["c1", "c2"]);
    expect(r.rows.find((x) => x.id === "because-you-watched")?.title).toBe("Because you watched Title d3");
    // Each pick names the history title that contributed most to it.
    expect(r.rows[0]?.items.map((i) => i.reason)).toEqual([
      "Because you watched Title d4",
      "Because you watched Title d3",
    ]);
    expect(r.rows.find((x) => x.id === "trending")?.items[0]?.reason).toBe("Trending in Comedy");
    for (const id of itemsOf(r, "genre-drama")) expect(id.startsWith("d")).toBe(true);
  });

  it("rejects a limit outside 1..100 as bad input", async () => {
    await expect(recommender.rows("a_newcomer", { limit: 0 })).rejects.toMatchObject({ code: "bad_request" });
    await expect(recommender.rows("a_newcomer", { limit: 101 })).rejects.toMatchObject({ code: "bad_request" });
  });
});

describe("Recommender similar", () => {
  it("lists a title's neighbours, without the title itself or what the viewer turned down", async () => {
    await online.append("a_picky", [{ item_id: "d0", type: "not_interested", at: now }]);
    const r = await recommender.similar("d3", { actorId: "a_picky" });
    expect(r.items.map((i) => i.id)).toEqual(["d4", "d5", "c5", "d1", "d2"]);
  });
});
