import { describe, expect, it } from "vitest";
import { buildProfile } from "./online.ts";

describe("buildProfile", () => {
  it("lists the titles of interest latest first, and anchors on the latest not turned down", () => {
    const now = Date.UTC(2026, 0, 10);
    const p = buildProfile(
      [
        { item_id: "old", type: "purchase", at: now - 9_000 },
        { item_id: "mid", type: "play_start", at: now - 5_000 },
        { item_id: "new", type: "click", at: now - 1_000 },
        { item_id: "mid", type: "play_complete", at: now - 500 },
        { item_id: "nope", type: "click", at: now - 100 },
        { item_id: "nope", type: "not_interested", at: now - 50 },
      ],
      now,
    );
    expect(p.recentPositives).toEqual(["mid", "new", "old"]);
    expect(p.anchor).toBe(null); // the latest positive, "nope", was turned down right after
    expect(p.negatives).toEqual(new Set(["nope"]));
    expect(buildProfile([{ item_id: "a", type: "click", at: now }], now).anchor).toBe("a");
  });
});
