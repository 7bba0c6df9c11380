import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { MODEL_NAMES } from "@marquee/contracts";
import { ModelStore, readNeighbourArtifact } from "@marquee/runtime";
import { afterAll, describe, expect, it } from "vitest";
import { type Interactions, mulberry32 } from "./dataset.ts";
import { evaluateRanking } from "./eval/metrics.ts";
import { timeCutSplit } from "./eval/split.ts";
import { promoteIfNotWorse } from "./registry.ts";
import { computePersonal, personalFiles } from "./retrain.ts";
import { fitChosenModelAsync } from "./select.ts";
import { neighbourFiles, recipeFor } from "./selection.ts";
import { historyPopularity, rankableNeighbours, servedScorer } from "./served-scorer.ts";
import { syntheticInteractions } from "./synthetic.ts";
import { loadTf } from "./tf-backend.ts";

const SNAPSHOT = Date.parse("2026-01-02T00:00:00.000Z");
const root = await mkdtemp(path.join(tmpdir(), "marquee-gate-"));
afterAll(() => rm(root, { recursive: true, force: true }));

/** A world where about a fifth of each viewer's titles are new since the snapshot: a fresh holdout. */
function world(): Interactions {
  const base = syntheticInteractions({ users: 400, items: 80, interactions: 8000, seed: 11 });
  const rng = mulberry32(3);
  const times = Float64Array.from(base.items, () => (rng() < 0.2 ? SNAPSHOT + 3_600_000 : SNAPSHOT - 86_400_000));
  return { ...base, times };
}

describe("the promotion gate judges the served form of both versions", () => {
  it("does not promote a candidate whose served files are worse; records the nDCG its files give, read back and ranked as serving ranks", async () => {
    const data = world();
    const items = Array.from({ length: data.nItems }, (_, i) => ({ id: `t${i}`, title: "", genres: [], year: 0 }));
    const itemIds = items.map((t) => t.id);
    const store = new ModelStore(root);
    const handle = await loadTf({ prefer: "wasm" });

    // The current version: EASE trained up to the snapshot, served with 20 neighbours a title.
    const before = timeCutSplit(data, SNAPSHOT).train;
    const old = await fitChosenModelAsync(handle, before, { allowAls: false, lambda: 100 });
    const currentMeta = await store.write(
      {
        name: MODEL_NAMES.personal,
        data_until: new Date(SNAPSHOT).toISOString(),
        backend: "test",
        git_sha: null,
        metrics: {},
        params: { algorithm: "ease", lambda: 100, k: 20 },
      },
      personalFiles(old, items, 20),
    );
    await store.setCurrent(MODEL_NAMES.personal, currentMeta.version);

    // The candidate keeps a single neighbour per title: its dense EASE is as good as ever, but
    // what would be stored and served is a much poorer model.
    const out = await computePersonal({
      data,
      seenBefore: before,
      itemIds,
      items,
      storeRoot: root,
      current: { version: currentMeta.version, meta: currentMeta },
      now: new Date(SNAPSHOT + 7_200_000).toISOString(),
      k: 1,
    });
    expect(out.holdout).toBe(`since ${currentMeta.data_until}`);
    const currentValue = out.currentValue as number;
    expect(currentValue).toBeGreaterThan(0);
    // The served candidate (one neighbour a title) is what the gate compares, and it is worse.
    expect(out.metrics.ndcg_at_10).toBeLessThan(currentValue);

    const candidate = await store.write(
      {
        name: MODEL_NAMES.personal,
        data_until: new Date(SNAPSHOT + 7_200_000).toISOString(),
        backend: out.backend,
        git_sha: null,
        metrics: { holdout_ndcg_at_10: out.metrics.ndcg_at_10 },
        params: { ...out.params, holdout: out.holdout },
      },
      out.files,
    );
    const decision = await promoteIfNotWorse(store, {
      name: MODEL_NAMES.personal,
      candidate: candidate.version,
      metric: "ndcg_at_10",
      candidateValue: out.metrics.ndcg_at_10,
      currentValue: out.currentValue,
      popularityValue: out.popularity.ndcg_at_10,
      holdout: out.holdout,
    });
    expect(decision.promoted).toBe(false);
    expect(await store.currentVersion(MODEL_NAMES.personal)).toBe(currentMeta.version);

    // The recorded figure is what the candidate's files give when read back from the registry
    // and ranked by serving's Top-picks ranking on the same holdout.
    const { train, test } = timeCutSplit(data, SNAPSHOT, before);
    const refit = await recipeFor(handle, String(out.params.algorithm), out.params, 1).fit(train);
    const holdoutVersion = await store.write(
      {
        name: MODEL_NAMES.personal,
        data_until: null,
        backend: "test",
        git_sha: null,
        metrics: {},
        params: { k: 1 },
      },
      neighbourFiles(refit, items),
    );
    const prior = historyPopularity(items, train);
    const servedFiles = await readNeighbourArtifact(store, MODEL_NAMES.personal, holdoutVersion.version);
    const fromFiles = evaluateRanking(servedScorer(rankableNeighbours(servedFiles), items, train, prior), train, test);
    expect(out.metrics.ndcg_at_10).toBe(fromFiles.ndcg_at_10);
    const current = await readNeighbourArtifact(store, MODEL_NAMES.personal, currentMeta.version);
    expect(currentValue).toBe(
      evaluateRanking(servedScorer(rankableNeighbours(current), items, train, prior), train, test).ndcg_at_10,
    );
  }, 120_000);
});
