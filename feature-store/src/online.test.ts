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

describe("buildProfile: ownership and Continue watching", () => {
  const now = Date.UTC(2026, 11, 3, 12);
  const h = 3_600_000;
  it("owns purchases and live rentals, not refunded or lapsed ones", () => {
    const p = buildProfile(
      [
        { item_id: "bought", type: "purchase", at: now - 100 * h },
        { item_id: "rented", type: "rental_start", at: now - 2 * h },
        { item_id: "lapsed", type: "rental_start", at: now - 49 * h },
        { item_id: "refunded", type: "purchase", at: now - 5 * h },
        { item_id: "refunded", type: "refund", at: now - 4 * h },
        { item_id: "clicked", type: "click", at: now - h },
      ],
      now,
    );
    expect([...p.owned].sort()).toEqual(["bought", "rented"]);
  });

  it("lists films started and not finished, latest first, by their latest progress", () => {
    const p = buildProfile(
      [
        { item_id: "half", type: "play_progress", at: now - 3 * h, value: 0.5 },
        { item_id: "recent", type: "play_progress", at: now - h, value: 0.2 },
        { item_id: "barely", type: "play_progress", at: now - h, value: 0.01 },
        { item_id: "credits", type: "play_progress", at: now - h, value: 0.97 },
        { item_id: "done", type: "play_progress", at: now - 5 * h, value: 0.6 },
        { item_id: "done", type: "play_complete", at: now - 4 * h, value: 1 },
        // Watched again after finishing: back in progress.
        { item_id: "again", type: "play_complete", at: now - 9 * h, value: 1 },
        { item_id: "again", type: "play_progress", at: now - 2 * h, value: 0.3 },
        // A progress event without the film's length says nothing about how far.
        { item_id: "unknown", type: "play_progress", at: now - h },
      ],
      now,
    );
    expect(p.inProgress.map((x) => [x.id, x.fraction])).toEqual([
      ["recent", 0.2],
      ["again", 0.3],
      ["half", 0.5],
    ]);
  });
});
