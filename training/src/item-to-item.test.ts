import type { InteractionMatrix } from "@marquee/feature-store";
import { describe, expect, it } from "vitest";
import { fitItemToItem } from "./item-to-item.ts";
import { fitPopularity } from "./popularity.ts";

const catalogue = ["a", "b", "c", "d", "e"].map((id) => ({
  id,
  title: id.toUpperCase(),
  genres: ["Drama"],
  year: 2000,
}));

function matrix(rows: [string, string, number][]): InteractionMatrix {
  rows.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const users: string[] = [];
  const items = catalogue.map((t) => t.id);
  const userIdx: number[] = [];
  for (const [u] of rows) {
    if (users[users.length - 1] !== u) users.push(u);
    userIdx.push(users.length - 1);
  }
  return {
    users,
    items,
    userIdx: Uint32Array.from(userIdx),
    itemIdx: Uint32Array.from(rows.map((r) => items.indexOf(r[1]))),
    weight: Float32Array.from(rows.map((r) => r[2])),
    lastAt: new Float64Array(rows.length),
    until: new Date(),
  };
}

describe("item-to-item", () => {
  const m = matrix([
    ["u1", "a", 3],
    ["u1", "b", 3],
    ["u2", "a", 2],
    ["u2", "b", 1],
    ["u3", "a", 1],
    ["u3", "c", 1],
    ["u4", "c", 2],
    ["u4", "d", 2],
    ["u5", "d", 1],
    ["u5", "a", -5], // turned down: must not link d and a
    ["u6", "e", 4], // a lone title co-occurs with nothing
  ]);
  const model = fitItemToItem(catalogue, m, { k: 3, shrink: 0, maxPerUser: 10 });
  const neighbours = (id: string) => {
    const i = catalogue.findIndex((t) => t.id === id);
    return Array.from(model.neighbors.slice(i * 3, i * 3 + 3))
      .filter((j) => j >= 0)
      .map((j) => catalogue[j]?.id);
  };

  it("ranks the titles watched by the same viewers first", () => {
    expect(neighbours("a")).toEqual(["b", "c"]);
    expect(neighbours("b")).toEqual(["a"]);
    expect(neighbours("c")).toEqual(["d", "a"]);
  });

  it("ignores negative interest and titles nobody shares", () => {
    expect(neighbours("d")).toEqual(["c"]);
    expect(neighbours("e")).toEqual([]);
  });

  it("gives cosine similarities in (0, 1], descending", () => {
    const a = Array.from(model.similarity.slice(0, 2));
    expect(a[0]).toBeGreaterThan(a[1] as number);
    for (const s of a) {
      expect(s).toBeGreaterThan(0);
      expect(s).toBeLessThanOrEqual(1 + 1e-6);
    }
  });

  it("caps each viewer to their strongest titles", () => {
    const capped = fitItemToItem(catalogue, m, { k: 3, shrink: 0, maxPerUser: 1 });
    expect(Array.from(capped.neighbors).every((j) => j === -1)).toBe(true);
  });
});

describe("popularity", () => {
  it("normalises to the top title and keeps inactive catalogue titles at zero", () => {
    const model = fitPopularity(catalogue, [
      { item_id: "b", trending: 10, popular: 4, viewers: 3 },
      { item_id: "c", trending: 5, popular: 8, viewers: 2 },
      { item_id: "zzz", trending: 100, popular: 100, viewers: 9 }, // not in the catalogue
    ]);
    expect(model.scores.trending).toEqual([0, 1, 0.5, 0, 0]);
    expect(model.scores.popular).toEqual([0, 0.5, 1, 0, 0]);
  });
});
