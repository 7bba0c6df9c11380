import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createMarquee, type Marquee } from "@marquee/cli";
import { MODEL_NAMES } from "@marquee/contracts";
import { createLogger, loadConfig, ModelStore } from "@marquee/runtime";
import { decisions, retrainPersonal } from "@marquee/training";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The nightly retrain against a real embedded store (chDB, seeded tiny world): the personal
 * model is trained, stored with its metadata, promoted through the gate, served as Top picks;
 * a second run is gated against it on the same holdout, and every decision is recorded.
 */
describe("personal model retraining, end to end", () => {
  let marquee: Marquee;
  let dataDir: string;
  const logger = createLogger({ service: "training-e2e", level: "warn" });

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "marquee-train-e2e-"));
    const config = loadConfig({
      DATA_DIR: dataDir,
      SEED_SCALE: "tiny",
      SEED_MEDIA: "false",
      MODEL_REFRESH_SECONDS: "0",
      PORT: "0",
    });
    marquee = await createMarquee(config, { logger, storefront: false });
  });

  afterAll(async () => {
    await marquee?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("trains, stores, promotes and serves the personal model; a retrain is gated", async () => {
    const store = new ModelStore(path.join(dataDir, "models"));
    const first = await retrainPersonal({ clickhouse: marquee.clickhouse.client, store, logger, gitSha: "abc123" });
    expect(first.decision?.promoted).toBe(true);
    const meta = first.version;
    expect(meta?.backend).toMatch(/wasm|cpu|tensorflow/);
    expect(meta?.git_sha).toBe("abc123");
    expect(meta?.data_until).toBeTruthy();
    expect(meta?.metrics.holdout_ndcg_at_10).toBeGreaterThan(meta?.metrics.popularity_ndcg_at_10 ?? 1);
    // The gate's figure is the one stored: the served (pruned) form's, with the dense one beside it.
    expect(first.decision?.candidate_value).toBe(meta?.metrics.holdout_ndcg_at_10);
    expect(meta?.metrics.holdout_dense_ndcg_at_10).toBeGreaterThan(0);
    expect(meta?.params.k).toBe(200);
    expect(await store.currentVersion(MODEL_NAMES.personal)).toBe(meta?.version);

    await marquee.models.reload();
    const viewer = "viewer-e2e-personal";
    const rows = (await marquee.app.inject({ url: `/v1/users/${viewer}/rows` })).json() as {
      rows: { id: string; model_version: string }[];
    };
    expect(rows.rows.find((r) => r.id === "top-picks")?.model_version).toContain(`personal:${meta?.version}`);

    const second = await retrainPersonal({ clickhouse: marquee.clickhouse.client, store, logger });
    expect(second.decision?.current).toBe(meta?.version);
    expect(second.decision?.current_value).not.toBeNull();
    const log = await decisions(store, MODEL_NAMES.personal);
    expect(log).toHaveLength(2);
    expect(log[1]?.holdout).toBe(second.decision?.holdout);
  });
});
