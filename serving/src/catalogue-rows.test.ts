import { MODEL_NAMES, type RowsResponse, type SimilarResponse } from "@marquee/contracts";
import { OnlineFeatures } from "@marquee/feature-store";
import { createLogger, MemoryOnlineStore } from "@marquee/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishNeighbours, publishPopularity, tempModelStore } from "../test/models-fixture.ts";
import { ModelHub } from "./models.ts";
import { Recommender } from "./recommender.ts";
import { type CatalogTitle, TitleIndex } from "./titles.ts";

const { store, cleanup } = await tempModelStore();
afterAll(cleanup);
const silent = createLogger({ service: "test", level: "silent" });
const now = Date.now();

// The catalogue as the titles dimension has it; the models know all but what is added later.
const catalogue: CatalogTitle[] = [
  { id: "kid-a", title: "Paper Boats", genres: ["Animation"], year: 2019, age_rating: "G", published_at: now - 9e8 },
  { id: "kid-b", title: "Moon Kite", genres: ["Animation"], year: 2020, age_rating: "PG", published_at: now - 8e8 },
  { id: "kid-c", title: "Sock Puppets", genres: ["Animation"], year: 2018, age_rating: "G", published_at: now - 7e8 },
  { id: "kid-d", title: "Tin Robot", genres: ["Animation"], year: 2017, age_rating: "G", published_at: now - 6e8 },
  { id: "adult-x", title: "Blood Harvest", genres: ["Thriller"], year: 2021, age_rating: "R", published_at: now - 5e8 },
  {
    id: "adult-y",
    title: "Night Shift Killer",
    genres: ["Thriller"],
    year: 2022,
    age_rating: "NC-17",
    published_at: now - 4e8,
  },
  {
    id: "teen-z",
    title: "Quiet Hours",
    genres: ["Thriller"],
    year: 2023,
    age_rating: "PG-13",
    published_at: now - 3e8,
  },
  ...["kid-e", "kid-f", "kid-g", "kid-h"].map((id, i) => ({
    id,
    title: `Cartoon ${id}`,
    genres: ["Animation"],
    year: 2010,
    age_rating: "G",
    published_at: now - (10 + i) * 1e8,
  })),
];
const adultWords = ["adult-x", "adult-y", "teen-z", "Blood Harvest", "Night Shift Killer", "Quiet Hours"];
const modelItems = catalogue.map((t) => ({ id: t.id, title: t.title, genres: [...t.genres], year: t.year }));

let published: CatalogTitle[] = [...catalogue];
const titles = new TitleIndex(async () => published, silent);
let recommender: Recommender;
const online = new MemoryOnlineStore();

beforeAll(async () => {
  // Popularity: the adult titles are the most popular (they would fill every row unfiltered).
  await publishPopularity(store, modelItems, {
    popular: [0.5, 0.4, 0.3, 0.2, 1, 0.9, 0.8, 0.15, 0.14, 0.13, 0.12],
    trending: [0.5, 0.4, 0.3, 0.2, 1, 0.9, 0.8, 0.15, 0.14, 0.13, 0.12],
  });
  await publishNeighbours(store, MODEL_NAMES.itemToItem, modelItems, {
    "adult-x": [
      ["adult-y", 0.9],
      ["kid-a", 0.5],
      ["teen-z", 0.4],
      ["kid-b", 0.3],
      ["kid-g", 0.2],
      ["kid-h", 0.1],
    ],
    "kid-a": [
      ["kid-b", 0.8],
      ["kid-c", 0.7],
      ["adult-y", 0.6],
      ["kid-d", 0.5],
      ["kid-e", 0.4],
      ["kid-f", 0.3],
      ["kid-g", 0.2],
    ],
  });
  const hub = new ModelHub(store, silent);
  await hub.reload();
  await titles.refresh();
  recommender = new Recommender(hub, new OnlineFeatures(online, null), { titles });
  // The account's history: a kids' title earlier, an R title last (a parent's purchase).
  await online.append("u_family0000000000000", [
    { item_id: "kid-a", type: "play_complete", at: now - 5_000 },
    { item_id: "adult-x", type: "purchase", at: now - 1_000 },
  ]);
});

const everything = (r: RowsResponse | SimilarResponse) => JSON.stringify(r);
const row = (r: RowsResponse, id: string) => r.rows.find((x) => x.id === id);

describe("a kids' profile on an account whose history has an R title", () => {
  const kids = { maxAgeRating: "PG" };

  it("gets no title above its limit anywhere in its rows: items, headings, reasons", async () => {
    const r = await recommender.rows("u_family0000000000000", { limit: 2, audience: kids });
    const json = everything(r);
    for (const word of adultWords) expect(json).not.toContain(word);
    // "Because you watched" falls back to the latest title the profile may see.
    expect(row(r, "because-you-watched")?.title).toBe("Because you watched Paper Boats");
    expect(row(r, "top-picks")?.reason).toBe("Because you showed interest in Paper Boats");
    expect(row(r, "genre-animation")?.title).toBe("More Animation");
    expect(r.rows.map((x) => x.id)).toEqual([
      "top-picks",
      "because-you-watched",
      "trending",
      "new-releases",
      "genre-animation",
    ]);
    // The same without the audience's limit would have shown them (the R title is the most popular).
    expect(everything(await recommender.rows("u_family0000000000000", { limit: 2 }))).toContain("Blood Harvest");
  });

  it("gets no similar titles above its limit, and none at all for a title above it", async () => {
    const fromKid = await recommender.similar("kid-a", { audience: kids, actorId: "u_family0000000000000" });
    expect(fromKid.items.map((i) => i.id)).toEqual(["kid-b", "kid-c", "kid-d", "kid-e", "kid-f", "kid-g"]);
    const fromAdult = await recommender.similar("adult-x", { audience: kids });
    expect(fromAdult.items).toEqual([]);
  });

  it("while the unlimited profile of the same account still sees them", async () => {
    const r = await recommender.rows("u_family0000000000000", { limit: 2 });
    expect(row(r, "because-you-watched")?.title).toBe("Because you watched Blood Harvest");
    expect(everything(r)).toContain("adult-y");
  });
});

describe("rows follow the catalogue", () => {
  it("show a title just published in New releases, before any model knows it, newest first", async () => {
    published = [
      ...catalogue,
      { id: "fresh-1", title: "Brand New", genres: ["Animation"], year: 1999, age_rating: "G", published_at: now },
    ];
    await titles.refresh();
    const r = await recommender.rows("a_0123456789abcdefghij", { limit: 3 });
    // (The three newest before it are the most popular, already in Top picks.)
    expect(row(r, "top-picks")?.items.map((i) => i.id)).toEqual(["adult-x", "adult-y", "teen-z"]);
    expect(row(r, "new-releases")?.items.map((i) => i.id)).toEqual(["fresh-1", "kid-d", "kid-c"]);
    // Kids see it too (it is rated G), and none of the newer titles above their limit.
    const kids = await recommender.rows("a_0123456789abcdefghij", { limit: 3, audience: { maxAgeRating: "G" } });
    expect(row(kids, "new-releases")?.items.map((i) => i.id)[0]).toBe("fresh-1");
  });

  it("drop a withdrawn title from every row, model-ranked ones included, and from similar titles", async () => {
    const before = await recommender.rows("u_family0000000000000");
    expect(everything(before)).toContain("kid-b");
    published = published.filter((t) => t.id !== "kid-b");
    await titles.refresh();
    const after = await recommender.rows("u_family0000000000000");
    expect(everything(after)).not.toContain("kid-b");
    expect(everything(await recommender.similar("kid-a"))).not.toContain("kid-b");
    expect((await recommender.similar("kid-b")).items).toEqual([]);
  });

  it("give the genre's newest titles, unknown to the models, a place in the viewer's genre row", async () => {
    published = [
      ...catalogue,
      { id: "fresh-1", title: "Brand New", genres: ["Animation"], year: 1999, age_rating: "G", published_at: now },
      { id: "fresh-2", title: "Nearly New", genres: ["Animation"], year: 1999, age_rating: "G", published_at: now - 1 },
    ];
    await titles.refresh();
    const r = await recommender.rows("u_family0000000000000", { limit: 1, audience: { maxAgeRating: "PG" } });
    expect(row(r, "new-releases")?.items.map((i) => i.id)).toEqual(["fresh-1"]);
    expect(row(r, "genre-animation")?.items.map((i) => i.id)).toEqual(["fresh-2"]);
  });

  it("keep the last catalogue when a read fails", async () => {
    let fail = false;
    const flaky = new TitleIndex(async () => {
      if (fail) throw new Error("clickhouse down");
      return catalogue;
    }, silent);
    expect(flaky.ready).toBe(false);
    await flaky.refresh();
    fail = true;
    await flaky.refresh();
    expect(flaky.ready).toBe(true);
    expect(flaky.size).toBe(catalogue.length);
    expect(flaky.get("kid-a")?.title).toBe("Paper Boats");
  });
});
