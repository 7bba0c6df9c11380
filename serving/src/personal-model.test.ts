import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ITEM_TO_ITEM_FILES, MODEL_NAMES, PERSONAL_FILES, POPULARITY_FILES } from "@marquee/contracts";
import { OnlineFeatures } from "@marquee/feature-store";
import { createLogger, MemoryOnlineStore, ModelStore } from "@marquee/runtime";
import { afterAll, describe, expect, it } from "vitest";
import { ModelHub } from "./models.ts";
import { Recommender } from "./recommender.ts";

const root = await mkdtemp(path.join(tmpdir(), "marquee-serving-"));
afterAll(() => rm(root, { recursive: true, force: true }));

const items = ["a", "b", "c", "d"].map((id, i) => ({ id, title: id.toUpperCase(), genres: ["Drama"], year: 2000 + i }));
const bytes = (a: Int32Array | Float32Array) => new Uint8Array(a.buffer);

async function publish(store: ModelStore, name: string, files: Record<string, string | Uint8Array>, k?: number) {
  const meta = await store.write(
    { name, data_until: null, metrics: {}, backend: "test", git_sha: null, params: k ? { k } : {} },
    files,
  );
  await store.setCurrent(name, meta.version);
  return meta.version;
}

describe("serving with a personal model", () => {
  it("ranks Top picks with the personal model's weights (file layout from contracts)", async () => {
    const store = new ModelStore(root);
    await publish(store, MODEL_NAMES.popularity, {
      [POPULARITY_FILES.items]: JSON.stringify(items),
      [POPULARITY_FILES.scores]: JSON.stringify({ trending: [1, 0.9, 0.8, 0.7], popular: [1, 0.9, 0.8, 0.7] }),
    });
    // item-to-item says a → b; the personal model says a → d (then c).
    await publish(
      store,
      MODEL_NAMES.itemToItem,
      {
        [ITEM_TO_ITEM_FILES.items]: JSON.stringify(items),
        [ITEM_TO_ITEM_FILES.neighbors]: bytes(Int32Array.from([1, -1, 0, -1, -1, -1, -1, -1])),
        [ITEM_TO_ITEM_FILES.similarity]: bytes(Float32Array.from([0.9, 0, 0.9, 0, 0, 0, 0, 0])),
      },
      2,
    );
    const hub = new ModelHub(store, createLogger({ service: "test", level: "silent" }));
    await hub.reload();
    const online = new MemoryOnlineStore();
    await online.append("viewer", [{ item_id: "a", type: "play_complete", at: Date.now() }]);
    const recommender = new Recommender(hub, new OnlineFeatures(online, null));
    const before = await recommender.rows("viewer", { limit: 2 });
    expect(before.rows[0]?.items[0]?.id).toBe("b");

    const version = await publish(
      store,
      MODEL_NAMES.personal,
      {
        [PERSONAL_FILES.items]: JSON.stringify(items),
        [PERSONAL_FILES.neighbors]: bytes(Int32Array.from([3, 2, -1, -1, -1, -1, -1, -1])),
        [PERSONAL_FILES.weights]: bytes(Float32Array.from([0.5, 0.2, 0, 0, 0, 0, 0, 0])),
      },
      2,
    );
    await hub.reload();
    const after = await recommender.rows("viewer", { limit: 2 });
    const top = after.rows.find((r) => r.id === "top-picks");
    expect(top?.items.map((i) => i.id)).toEqual(["d", "c"]);
    expect(top?.model_version).toContain(`personal:${version}`);
  });
});
