import { coldNeighbours } from "@marquee/runtime";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { beforeAll, describe, expect, it } from "vitest";
import { blendColdNeighbours, evaluateColdStart, fitContentModel } from "./content-model.ts";
import { itemDegrees } from "./dataset.ts";
import { fitGraphNeighbours, type NeighbourLists } from "./models/graph.ts";
import { syntheticInteractions } from "./synthetic.ts";

const handle = { tf, backend: "cpu", tried: [] };
beforeAll(async () => {
  await tf.setBackend("cpu");
});

// Genres that say something about taste: each title's two strongest latent dimensions.
const data = syntheticInteractions({ users: 2000, items: 800, interactions: 60_000, seed: 3 });
const items = data.itemLabels.map((genres, i) => ({ id: `t${i}`, title: `Title ${i}`, genres, year: 2000 + (i % 20) }));

describe("the content model", () => {
  it("ranks titles held out of training entirely far better than at random", async () => {
    const result = await evaluateColdStart(handle, data, items, items, { share: 0.1, seed: 11 });
    expect(result.cold_items).toBeGreaterThan(50);
    expect(result.users).toBeGreaterThan(500);
    expect(result.random_ndcg_at_10).toBeGreaterThan(0);
    expect(result.cold_ndcg_at_10).toBeGreaterThan(2 * result.random_ndcg_at_10);
  }, 60_000);

  it("gives a never-watched title neighbours that share its genres", async () => {
    const fit = await fitContentModel(handle, data, items, items);
    const fresh = { id: "new", title: "Brand new", genres: items[0]?.genres ?? [], year: 2024 };
    const near = coldNeighbours(fit.artifact, fresh, 10);
    expect(near).toHaveLength(10);
    for (let r = 1; r < near.length; r++) expect(near[r - 1]?.weight).toBeGreaterThanOrEqual(near[r]?.weight ?? 0);
    const byId = new Map(items.map((t) => [t.id, t]));
    const sharing = near.filter((n) => byId.get(n.id)?.genres.some((g) => fresh.genres.includes(g))).length;
    expect(sharing).toBeGreaterThanOrEqual(8);
  }, 60_000);

  it("blends titles with few interactions and leaves well-known ones alone", async () => {
    const graph = fitGraphNeighbours(data, [{ kind: "rp3b", alpha: 1, beta: 0.3 }], 50)[0] as NeighbourLists;
    const fit = await fitContentModel(handle, data, items, items, { scaleTo: graph });
    const blended = blendColdNeighbours(graph, data, fit.artifact, items);
    const deg = itemDegrees(data);
    const row = (l: NeighbourLists, i: number) => Array.from(l.neighbors.subarray(i * l.k, i * l.k + l.k));
    // Below 20 × blend_interactions a title's rows take in the content model's.
    const rare = [...deg.keys()].filter((i) => (deg[i] as number) > 0 && (deg[i] as number) < 20);
    const known = [...deg.keys()].filter((i) => (deg[i] as number) >= 100);
    expect(rare.length).toBeGreaterThan(0);
    expect(rare.some((i) => row(blended, i).join() !== row(graph, i).join())).toBe(true);
    // A well-known title keeps its own neighbours in its own row.
    for (const i of known.slice(0, 20)) expect(row(blended, i)).toEqual(row(graph, i));
  }, 60_000);
});
