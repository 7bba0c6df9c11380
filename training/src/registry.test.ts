import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ModelStore } from "@marquee/runtime";
import { afterAll, describe, expect, it } from "vitest";
import { decisions, promoteIfNotWorse, promoteManually, rollback } from "./registry.ts";

const root = await mkdtemp(path.join(tmpdir(), "marquee-registry-"));
afterAll(() => rm(root, { recursive: true, force: true }));

const write = (store: ModelStore, ndcg: number) =>
  store.write(
    {
      name: "personal",
      data_until: null,
      metrics: { holdout_ndcg_at_10: ndcg },
      backend: "test",
      git_sha: null,
      params: {},
    },
    { "x.bin": new Uint8Array([1]) },
  );

describe("promotion and rollback", () => {
  it("promotes only a candidate not worse than current on the same holdout, recording every decision", async () => {
    const store = new ModelStore(root);
    const gate = (candidate: string, value: number, current: number | null) =>
      promoteIfNotWorse(store, {
        name: "personal",
        candidate,
        metric: "ndcg_at_10",
        candidateValue: value,
        currentValue: current,
        popularityValue: 0.1,
        holdout: "h1",
      });
    const a = await write(store, 0.3);
    expect((await gate(a.version, 0.05, null)).promoted).toBe(false); // not better than popularity
    expect(await store.currentVersion("personal")).toBeNull();
    expect((await gate(a.version, 0.3, null)).promoted).toBe(true);
    const b = await write(store, 0.25);
    expect((await gate(b.version, 0.25, 0.3)).promoted).toBe(false);
    expect(await store.currentVersion("personal")).toBe(a.version);
    const c = await write(store, 0.31);
    expect((await gate(c.version, 0.31, 0.3)).promoted).toBe(true);
    expect(await store.currentVersion("personal")).toBe(c.version);
    const log = await decisions(store, "personal");
    expect(log.map((d) => d.promoted)).toEqual([false, true, false, true]);
    expect(log[2]?.reason).toMatch(/worse than current/);

    // Rollback goes to the version current before c (a), not to the newest older one (b).
    const back = await rollback(store, "personal");
    expect(back.candidate).toBe(a.version);
    expect(await store.currentVersion("personal")).toBe(a.version);
    await promoteManually(store, "personal", b.version);
    expect(await store.currentVersion("personal")).toBe(b.version);
    expect((await decisions(store, "personal")).map((d) => d.kind).slice(-2)).toEqual(["rollback", "manual"]);
  });

  it("refuses to roll back with nothing earlier", async () => {
    const store = new ModelStore(path.join(root, "other"));
    await expect(rollback(store, "personal")).rejects.toThrow(/no current version/);
  });
});
