import { writeFile } from "node:fs/promises";
import path from "node:path";
import { MODEL_NAMES } from "@marquee/contracts";
import { OnlineFeatures } from "@marquee/feature-store";
import { createLogger, MemoryOnlineStore } from "@marquee/runtime";
import { afterAll, describe, expect, it } from "vitest";
import { publishNeighbours, publishPopularity, tempModelStore } from "../test/models-fixture.ts";
import { assign, EXPERIMENTS_FILE, type Experiment, writeExperiments } from "./experiments.ts";
import { ModelHub } from "./models.ts";
import { Recommender } from "./recommender.ts";

const { store, cleanup } = await tempModelStore();
afterAll(cleanup);
const silent = createLogger({ service: "test", level: "silent" });
const items = ["a", "b", "c", "d"].map((id, i) => ({ id, title: `T${id}`, genres: ["Drama"], year: 2000 + i }));

describe("assignment", () => {
  const e: Experiment = {
    id: "ease-vs-new",
    variants: [
      { name: "control", model_version: null, weight: 50 },
      { name: "treatment", model_version: "v2", weight: 50 },
    ],
  };

  it("is deterministic per viewer and splits viewers by the weights", () => {
    expect(assign([e], "u_someone")).toEqual(assign([e], "u_someone"));
    const counts = { control: 0, treatment: 0 } as Record<string, number>;
    for (let i = 0; i < 4000; i++)
      counts[assign([e], `a_visitor${i}`).variant] = (counts[assign([e], `a_visitor${i}`).variant] ?? 0) + 1;
    expect(counts.control).toBeGreaterThan(1800);
    expect(counts.treatment).toBeGreaterThan(1800);
    const skewed = {
      ...e,
      variants: [
        { ...e.variants[0], weight: 90 },
        { ...e.variants[1], weight: 10 },
      ],
    } as Experiment;
    let treated = 0;
    for (let i = 0; i < 4000; i++) if (assign([skewed], `a_visitor${i}`).variant === "treatment") treated++;
    expect(treated).toBeGreaterThan(280);
    expect(treated).toBeLessThan(520);
  });

  it("assigns independently per experiment, and everyone to control without one", () => {
    const other = { ...e, id: "another" };
    let same = 0;
    for (let i = 0; i < 2000; i++) if (assign([e], `a_v${i}`).variant === assign([other], `a_v${i}`).variant) same++;
    expect(same).toBeGreaterThan(850);
    expect(same).toBeLessThan(1150);
    expect(assign([], "u_x")).toEqual({ experiment: null, variant: "control", modelVersion: null });
  });
});

describe("experiments in serving", () => {
  it("ranks each variant's viewers with its model version, says so in every row, and follows experiments.json without a restart", async () => {
    await publishPopularity(store, items);
    const v1 = await publishNeighbours(store, MODEL_NAMES.personal, items, { a: [["b", 0.9]] });
    const v2 = await publishNeighbours(store, MODEL_NAMES.personal, items, { a: [["c", 0.9]] });
    // v2 is current; the experiment keeps half the viewers on v1.
    const hub = new ModelHub(store, silent);
    await hub.reload();
    const online = new MemoryOnlineStore();
    const recommender = new Recommender(hub, new OnlineFeatures(online, null));
    const experiment: Experiment = {
      id: "personal-v1-vs-v2",
      variants: [
        { name: "old", model_version: v1, weight: 1 },
        { name: "new", model_version: null, weight: 1 },
      ],
    };
    await writeExperiments(store.root, { experiments: [experiment] });
    await hub.reload();
    expect(hub.experiments.map((x) => x.id)).toEqual(["personal-v1-vs-v2"]);

    const viewers = Array.from({ length: 40 }, (_, i) => `a_viewer${i}`);
    const seen = new Map<string, string>();
    for (const v of viewers) {
      await online.append(v, [{ item_id: "a", type: "play_complete", at: Date.now() }]);
      const r = await recommender.rows(v, { limit: 1 });
      const top = r.rows.find((x) => x.id === "top-picks");
      const variant = assign([experiment], v).variant;
      for (const row of r.rows) expect([row.experiment, row.variant]).toEqual(["personal-v1-vs-v2", variant]);
      expect(top?.items[0]?.id).toBe(variant === "old" ? "b" : "c");
      expect(top?.model_version).toContain(`personal:${variant === "old" ? v1 : v2}`);
      seen.set(variant, v);
    }
    expect([...seen.keys()].sort()).toEqual(["new", "old"]);

    // Stopped: everyone back on the current model, without a restart.
    await writeExperiments(store.root, { experiments: [] });
    await hub.reload();
    const back = await recommender.rows(seen.get("old") as string, { limit: 1 });
    expect(back.rows[0]).toMatchObject({ variant: "control", experiment: null });
    expect(back.rows.find((x) => x.id === "top-picks")?.items[0]?.id).toBe("c");

    // A broken file is refused; the experiments in force stay.
    await writeExperiments(store.root, { experiments: [experiment] });
    await hub.reload();
    await writeFile(path.join(store.root, EXPERIMENTS_FILE), "{not json");
    await hub.reload();
    expect(hub.experiments.map((x) => x.id)).toEqual(["personal-v1-vs-v2"]);
  });
});
