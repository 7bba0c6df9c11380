import { MODEL_NAMES } from "@marquee/contracts";
import { createLogger } from "@marquee/runtime";
import { afterAll, describe, expect, it } from "vitest";
import {
  publishBrokenPopularity,
  publishNeighbours,
  publishPopularity,
  tempModelStore,
} from "../test/models-fixture.ts";
import { ModelHub } from "./models.ts";

const { store, cleanup } = await tempModelStore();
afterAll(cleanup);

const items = ["a", "b", "c"].map((id, i) => ({ id, title: id.toUpperCase(), genres: ["Drama"], year: 2000 + i }));
const silent = createLogger({ service: "test", level: "silent" });

describe("ModelHub", () => {
  it("loads every model's current version, and keeps the previous one when a new version is broken", async () => {
    const hub = new ModelHub(store, silent);
    await hub.reload();
    expect(hub.ready()).toBe(false);
    expect(hub.versions()).toEqual({ popularity: null, "item-to-item": null, personal: null, content: null });

    const pop = await publishPopularity(store, items);
    const i2i = await publishNeighbours(store, MODEL_NAMES.itemToItem, items, { a: [["b", 0.5]] });
    await hub.reload();
    expect(hub.ready()).toBe(true);
    expect(hub.versions()).toEqual({ popularity: pop, "item-to-item": i2i, personal: null, content: null });
    expect(hub.current.itemToItem?.neighbors[0]).toBe(1);

    await publishBrokenPopularity(store, items);
    await hub.reload();
    expect(hub.current.popularity?.version).toBe(pop);

    const personal = await publishNeighbours(store, MODEL_NAMES.personal, items, { b: [["c", 0.9]] });
    await hub.reload();
    expect(hub.versions()).toMatchObject({ popularity: pop, personal });
    expect(hub.current.personal?.similarity[1]).toBeCloseTo(0.9); // b's first (k = 1) weight
  });

  it("shares one pass over the registry between concurrent reloads", async () => {
    const hub = new ModelHub(store, silent);
    const a = hub.reload();
    const b = hub.reload();
    expect(a).toBe(b);
    await a;
    // popularity's current version is the broken one: a fresh hub has none and is not ready.
    expect(hub.ready()).toBe(false);
    expect(hub.current.itemToItem).not.toBeNull();
  });
});
