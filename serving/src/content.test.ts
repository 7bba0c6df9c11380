import { OnlineFeatures } from "@marquee/feature-store";
import {
  type ContentArtifact,
  contentFeatures,
  createLogger,
  MemoryOnlineStore,
  rankTopPicks,
  withColdTitles,
} from "@marquee/runtime";
import { describe, expect, it } from "vitest";
import { similarToNewTitle, withNewTitles } from "./content.ts";
import type { ItemToItemSnapshot, ModelHub } from "./models.ts";
import { Recommender } from "./recommender.ts";
import type { CatalogTitle } from "./titles.ts";
import { TitleIndex } from "./titles.ts";

const DIMS = 64;
const items = ["a", "b", "c"].map((id) => ({ id, title: id.toUpperCase(), genres: ["drama"], year: 2000 }));

/** a → b 0.5, c 0.2; b → a 0.5; c → a 0.2 (k = 2). */
function snapshot(): ItemToItemSnapshot {
  return {
    version: "p1",
    items,
    index: new Map(items.map((t, i) => [t.id, i])),
    k: 2,
    neighbors: Int32Array.from([1, 2, 0, -1, 0, -1]),
    similarity: Float32Array.from([0.5, 0.2, 0.5, 0, 0.2, 0]),
  };
}

/** Every feature of a drama points at a with weight 1 and at c with 0.5, at b with 0. */
function content(): ContentArtifact {
  const weights = new Float32Array(DIMS * items.length);
  const f = contentFeatures({ id: "x", genres: ["drama"] }, DIMS);
  for (const b of f.index) {
    weights[b * 3] = 1;
    weights[b * 3 + 2] = 0.5;
  }
  return {
    version: "c1",
    spec: { dims: DIMS, features: "hashed-metadata-v1", k: 2, blend_interactions: 1 },
    items,
    index: new Map(items.map((t, i) => [t.id, i])),
    weights,
  };
}

const drama = (id: string): CatalogTitle => ({
  id,
  title: `New ${id}`,
  genres: ["drama"],
  year: 2026,
  age_rating: "PG",
});
const row = (s: ItemToItemSnapshot, id: string) => {
  const i = s.index.get(id) as number;
  const out: [string, number][] = [];
  for (let r = 0; r < s.k; r++) {
    const j = s.neighbors[i * s.k + r] as number;
    if (j < 0) break;
    out.push([s.items[j]?.id as string, Math.round((s.similarity[i * s.k + r] as number) * 1e4) / 1e4]);
  }
  return out;
};

describe("titles published after the last training", () => {
  // A new drama's features: the bias (0.5), the genre (1) and two year buckets (0.5 each, no
  // weight in this model), L2-normalised: the drama features' share is 1.5 / √1.75.
  const s = Math.round((1.5 / Math.sqrt(1.75)) * 1e4) / 1e4;

  it("get a row of their content neighbours and a place in those neighbours' rows, without displacing any", () => {
    const base = snapshot();
    const catalogue = [drama("n"), ...items.map((t) => ({ ...t, age_rating: "PG" }))];
    const out = withNewTitles(base, content(), catalogue);
    expect(out.items.map((t) => t.id)).toEqual(["a", "b", "c", "n"]);
    expect(out.k).toBe(12);
    expect(row(out, "n")).toEqual([
      ["a", s],
      ["c", Math.round((s / 2) * 1e4) / 1e4],
    ]);
    expect(row(out, "a")).toEqual([
      ["n", s],
      ["b", 0.5],
      ["c", 0.2],
    ]);
    expect(row(out, "b")).toEqual([["a", 0.5]]);
    expect(row(out, "c")).toEqual([
      ["n", Math.round((s / 2) * 1e4) / 1e4],
      ["a", 0.2],
    ]);
    // Top picks for someone who watched c now lead with the new title.
    const picks = rankTopPicks(out, new Map([["c", 1]]), null, 3, (id) => id === "c");
    expect(picks.map((p) => p.id)).toEqual(["n", "a"]);
    // Memoised per (snapshot, content, catalogue); the stored snapshot is untouched.
    expect(withNewTitles(base, content(), catalogue)).not.toBe(out);
    const c = content();
    expect(withNewTitles(base, c, catalogue)).toBe(withNewTitles(base, c, catalogue));
    expect(base.k).toBe(2);
    expect(base.items).toHaveLength(3);
  });

  it("leaves the snapshot as it is without a content model or with nothing new", () => {
    const base = snapshot();
    expect(withNewTitles(base, null, [drama("n")])).toBe(base);
    expect(
      withNewTitles(
        base,
        content(),
        items.map((t) => ({ ...t, age_rating: "PG" })),
      ),
    ).toBe(base);
  });

  it("a row keeps its strongest new titles in its extra places", () => {
    const base = snapshot();
    const strong = { id: "strong", genres: ["drama"] };
    const weak = { id: "weak", genres: ["drama", "comedy", "war"] }; // more features: less weight on drama's
    const out = withColdTitles(base, content(), [weak, strong], (m) => ({ id: m.id, title: "", genres: [], year: 0 }), {
      slots: 1,
    });
    expect(out.k).toBe(3);
    expect(row(out, "a").map(([id]) => id)).toEqual(["strong", "b", "c"]);
  });

  it("More like this for a new title: its content neighbours, best first, minus what is skipped", () => {
    expect(similarToNewTitle(content(), drama("n"), 5)).toEqual([
      { id: "a", score: Math.round((1.5 / Math.sqrt(1.75)) * 1e5) / 1e5 },
      { id: "c", score: Math.round((0.75 / Math.sqrt(1.75)) * 1e5) / 1e5 },
    ]);
    expect(similarToNewTitle(content(), drama("n"), 5, (id) => id === "a").map((x) => x.id)).toEqual(["c"]);
  });
});

describe("a title published after the last training, in serving's answers", () => {
  it("is in More like this, in its neighbours' similar lists and in the Top picks of viewers of titles like it", async () => {
    const base = snapshot();
    const popularity = {
      version: "pop1",
      items,
      index: new Map(items.map((t, i) => [t.id, i])),
      popular: Float64Array.from([1, 0.5, 0.2]),
      byTrending: Int32Array.from([0, 1, 2]),
      byPopular: Int32Array.from([0, 1, 2]),
      byGenrePopular: new Map([["drama", Int32Array.from([0, 1, 2])]]),
      byGenreTrending: new Map([["drama", Int32Array.from([0, 1, 2])]]),
    };
    const hub = {
      current: { popularity, itemToItem: base, personal: base, content: content() },
      experiments: [],
      personalAt: () => base,
    } as unknown as ModelHub;
    const titles = new TitleIndex(
      async () => [drama("n"), ...items.map((t) => ({ ...t, age_rating: "PG" }))],
      createLogger({ service: "test", level: "silent" }),
    );
    await titles.refresh();
    const online = new MemoryOnlineStore();
    await online.append("a_fan", [{ item_id: "c", type: "play_complete", at: Date.now() }]);
    const recommender = new Recommender(hub, new OnlineFeatures(online, null), { titles });

    const similar = await recommender.similar("n", { limit: 5 });
    expect(similar.items.map((i) => i.id)).toEqual(["a", "c"]);
    expect(similar.model_version).toContain("+content:c1");
    expect((await recommender.similar("a", { limit: 5 })).items[0]?.id).toBe("n");
    const recs = await recommender.recommendations("a_fan", { k: 2 });
    expect(recs.items[0]).toMatchObject({ id: "n", reason: "Because you watched C" });
  });
});
