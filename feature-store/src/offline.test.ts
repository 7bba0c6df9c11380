import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { migrateClickHouse } from "@marquee/analytics";
import { type ClickHouseHandle, clickHouseTime, createClickHouse, loadConfig } from "@marquee/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadItemActivity, MAX_ACTOR_TITLE_WEIGHT } from "./offline.ts";

const NOW = Date.parse("2026-11-20T12:00:00.000Z");

const event = (actor: string, item: string, type: string, at: number, payload = "{}") => ({
  event_id: randomUUID(),
  type,
  occurred_at: clickHouseTime(at),
  received_at: clickHouseTime(at),
  user_id: actor,
  anonymous_id: "",
  actor_id: actor,
  session_id: "",
  item_id: item,
  device: "desktop",
  page: "",
  row_id: "",
  position: -1,
  model_version: "",
  variant: "",
  payload,
});

// chDB binds one data directory per process: this file opens exactly one.
describe("per-title popularity signals (chDB)", () => {
  let dir: string;
  let ch: ClickHouseHandle;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "marquee-offline-"));
    ch = await createClickHouse(loadConfig({ DATA_DIR: dir }));
    await migrateClickHouse(ch.client);
  });
  afterAll(async () => {
    await ch?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("one actor's thousand events do not outrank twenty viewers: each actor's say per title is capped", async () => {
    const values = [];
    // One visitor forging a thousand purchases of A within the last hour…
    for (let n = 0; n < 1000; n++) values.push(event("bot", "title-a", "purchase", NOW - 3_600_000 + n * 1000));
    // …against twenty real viewers who each clicked B once, an hour earlier.
    for (let n = 0; n < 20; n++) values.push(event(`viewer-${n}`, "title-b", "click", NOW - 7_200_000 + n * 1000));
    // A viewer who bought, played and finished C: every signal counts, up to the cap.
    values.push(event("fan", "title-c", "purchase", NOW - 60_000));
    values.push(event("fan", "title-c", "play_start", NOW - 50_000));
    values.push(event("fan", "title-c", "play_complete", NOW - 40_000));
    await ch.client.insert({ table: "events", format: "JSONEachRow", values });

    const activity = await loadItemActivity(ch.client, { until: new Date(NOW) });
    const by = new Map(activity.map((a) => [a.item_id, a]));
    const a = by.get("title-a");
    const b = by.get("title-b");
    const c = by.get("title-c");
    expect(a?.viewers).toBe(1);
    expect(b?.viewers).toBe(20);
    expect(a?.trending).toBeLessThanOrEqual(MAX_ACTOR_TITLE_WEIGHT);
    expect(a?.popular).toBeLessThanOrEqual(MAX_ACTOR_TITLE_WEIGHT);
    expect(b?.trending).toBeGreaterThan(a?.trending ?? Number.POSITIVE_INFINITY);
    expect(b?.popular).toBeGreaterThan(a?.popular ?? Number.POSITIVE_INFINITY);
    const trending = [...activity].sort((x, y) => y.trending - x.trending).map((x) => x.item_id);
    expect(trending[0]).toBe("title-b");
    // 5 + 2 + 3, barely decayed: a genuinely engaged viewer reaches the cap but no further.
    expect(c?.trending).toBeCloseTo(MAX_ACTOR_TITLE_WEIGHT, 1);
  });
});
