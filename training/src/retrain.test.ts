import { describe, expect, it } from "vitest";
import { fromTriples, type Interactions } from "./dataset.ts";
import { timeCutSplit } from "./eval/split.ts";
import { computePersonal, pairsIn } from "./retrain.ts";
import { syntheticInteractions } from "./synthetic.ts";

const SNAPSHOT = Date.parse("2026-01-02T00:00:00.000Z");
const BEFORE = SNAPSHOT - 86_400_000;
const AFTER = SNAPSHOT + 3_600_000;

/** Every pair seen before the snapshot; for users 0..39, their first title seen again after it. */
function world(): { data: Interactions; rewatched: number } {
  const base = syntheticInteractions({ users: 300, items: 80, interactions: 6000, seed: 5 });
  const times = new Float64Array(base.items.length).fill(BEFORE);
  let rewatched = 0;
  for (let u = 0; u < 40; u++) {
    if ((base.indptr[u + 1] as number) > (base.indptr[u] as number)) {
      times[base.indptr[u] as number] = AFTER;
      rewatched++;
    }
  }
  return { data: { ...base, times }, rewatched };
}

describe("promotion holdout since the current snapshot", () => {
  it("timeCutSplit keeps pairs seen before the cut in training, whatever their latest time", () => {
    const times = [BEFORE, AFTER, AFTER, AFTER, BEFORE];
    const a = fromTriples(3, 4, [0, 0, 1, 2, 2], [0, 1, 2, 3, 0], null, times);
    const seen = fromTriples(3, 4, [0, 2, 1, 2], [0, 3, 3, 0], null, null);
    const rows = (d: Interactions) => [0, 1, 2].map((u) => [...d.items.subarray(d.indptr[u], d.indptr[u + 1])]);
    const plain = timeCutSplit(a, SNAPSHOT);
    expect([rows(plain.train), rows(plain.test)]).toEqual([
      [[0], [], [0]],
      [[1], [2], [3]],
    ]);
    const fixed = timeCutSplit(a, SNAPSHOT, seen);
    expect([rows(fixed.train), rows(fixed.test)]).toEqual([
      [[0], [], [0, 3]],
      [[1], [2], []],
    ]);
  });

  it("pairsIn maps an older matrix into the new index space by id", () => {
    const data = fromTriples(2, 3, [0, 1], [0, 2], null, null);
    const before = {
      users: ["bob", "gone", "ann"],
      items: ["z", "x", "y"],
      userIdx: Uint32Array.from([0, 1, 2]),
      itemIdx: Uint32Array.from([0, 1, 2]),
    };
    const seen = pairsIn(data, ["ann", "bob"], ["x", "y", "z"], before);
    expect([...seen.indptr]).toEqual([0, 1, 2]);
    expect([...seen.items]).toEqual([1, 2]); // ann–y, bob–z; "gone" is not in the new data
  });

  it("a pair seen before the snapshot is not a held-out positive", async () => {
    const { data, rewatched } = world();
    expect(rewatched).toBeGreaterThanOrEqual(20);
    const current = {
      version: "v-old",
      meta: {
        name: "personal",
        version: "v-old",
        created_at: new Date(SNAPSHOT).toISOString(),
        data_until: new Date(SNAPSHOT).toISOString(),
        metrics: {},
        backend: "test",
        git_sha: null,
        params: { lambda: 100, k: 10 },
      },
    };
    const input = {
      data,
      itemIds: Array.from({ length: data.nItems }, (_, i) => `t${i}`),
      items: Array.from({ length: data.nItems }, (_, i) => ({ id: `t${i}`, title: "", genres: [], year: 0 })),
      storeRoot: "/nonexistent-model-store", // the current version cannot be read: scored as null
      current,
      now: new Date(AFTER + 1000).toISOString(),
    };
    // Without the pairs known before the snapshot, the re-watches look like a fresh holdout…
    const leaky = await computePersonal({ ...input, seenBefore: null });
    expect(leaky.holdout).toBe(`since ${current.meta.data_until}`);
    // …but every one of them was seen before it: nothing fresh is left, so the random holdout is used.
    const seenBefore = fromTriples(
      data.nUsers,
      data.nItems,
      Array.from(data.items, (_, k) => {
        let u = 0;
        while ((data.indptr[u + 1] as number) <= k) u++;
        return u;
      }),
      data.items,
      null,
      null,
    );
    const fixed = await computePersonal({ ...input, seenBefore });
    expect(fixed.holdout.startsWith("random-75-25 seed 42")).toBe(true);
  }, 60_000);
});
