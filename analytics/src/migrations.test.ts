import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type ClickHouseHandle, createClickHouse, loadConfig } from "@marquee/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS, migrateClickHouse } from "./migrations.ts";
import { actorRecentItems, eventTotals, titleDailyCounts } from "./queries.ts";

const row = (over: Record<string, unknown>) => ({
  event_id: "0190f1e2-0000-7000-8000-000000000001",
  type: "click",
  occurred_at: "2026-11-20 10:00:00.000",
  received_at: "2026-11-20 10:00:00.000",
  user_id: "u1",
  anonymous_id: "",
  actor_id: "u1",
  session_id: "",
  item_id: "t1",
  device: "desktop",
  page: "",
  row_id: "",
  position: -1,
  model_version: "",
  variant: "",
  payload: "{}",
  ...over,
});

// chDB binds one data directory per process: this file opens exactly one.
describe("ClickHouse migrations and views (chDB)", () => {
  let dir: string;
  let ch: ClickHouseHandle;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "marquee-analytics-"));
    ch = await createClickHouse(loadConfig({ DATA_DIR: dir }));
  });
  afterAll(async () => {
    await ch?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("applies every migration once, and again is a no-op", async () => {
    expect(await migrateClickHouse(ch.client)).toEqual(MIGRATIONS.map((m) => m.id));
    expect(await migrateClickHouse(ch.client)).toEqual([]);
  });

  it("keeps per-title daily counts and per-viewer recent items as events arrive", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const at = (h: number) => `${today} 0${h}:00:00.000`;
    await ch.client.insert({
      table: "events",
      format: "JSONEachRow",
      values: [
        row({ event_id: "0190f1e2-0000-7000-8000-000000000011", occurred_at: at(1) }),
        row({ event_id: "0190f1e2-0000-7000-8000-000000000012", occurred_at: at(2) }),
        row({ event_id: "0190f1e2-0000-7000-8000-000000000013", occurred_at: at(3), type: "impression" }),
        row({
          event_id: "0190f1e2-0000-7000-8000-000000000014",
          occurred_at: at(4),
          type: "rating",
          item_id: "t2",
          payload: '{"value":4.5}',
        }),
      ],
    });
    const counts = await titleDailyCounts(ch.client, "t1");
    expect(counts).toEqual([
      { day: today, type: "click", events: 2 },
      { day: today, type: "impression", events: 1 },
    ]);
    const recent = await actorRecentItems(ch.client, "u1");
    expect(recent.map((r) => [r.item_id, r.type, r.value])).toEqual([
      ["t2", "rating", 4.5],
      ["t1", "click", 0],
    ]);
    expect(recent[1]?.at).toBe(Date.parse(`${at(2).replace(" ", "T")}Z`));
  });

  it("stores a retried insert with the same deduplication token once", async () => {
    const before = await eventTotals(ch.client);
    const values = [row({ event_id: "0190f1e2-0000-7000-8000-000000000021", item_id: "t9" })];
    for (let i = 0; i < 2; i++) {
      // In the statement, not clickhouse_settings: chDB applies those with a session-wide SET.
      await ch.client.insert({
        table:
          "events SETTINGS insert_deduplication_token = 'events.v1-0-100-100', deduplicate_blocks_in_dependent_materialized_views = 1",
        format: "JSONEachRow",
        values,
      });
    }
    const after = await eventTotals(ch.client);
    expect(after.rows - before.rows).toBe(1);
    const counts = await titleDailyCounts(ch.client, "t9", { days: 3650 });
    expect(counts.reduce((s, c) => s + c.events, 0)).toBe(1);
  });

  it("event_ids holds every stored id: the events an existing store had, and each new one", async () => {
    const ids = async () => {
      const rs = await ch.client.query({
        query: "SELECT event_id FROM event_ids FINAL ORDER BY event_id",
        format: "JSONEachRow",
      });
      return (await rs.json<{ event_id: string }>()).map((r) => r.event_id);
    };
    // A store from before 0006: migrations up to 0005, events in it, then migrate.
    const old = `${ch.database}_before_0006`;
    await ch.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${old}` });
    await ch.client.command({ query: `USE ${old}` });
    try {
      await ch.client.command({
        query:
          "CREATE TABLE schema_migrations (id String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = ReplacingMergeTree ORDER BY id",
      });
      const before = MIGRATIONS.filter((m) => m.id < "0006");
      for (const m of before) for (const statement of m.statements) await ch.client.command({ query: statement });
      await ch.client.insert({
        table: "schema_migrations",
        values: before.map((m) => ({ id: m.id })),
        format: "JSONEachRow",
      });
      await ch.client.insert({
        table: "events",
        format: "JSONEachRow",
        values: [
          row({ event_id: "0190f1e2-0000-7000-8000-0000000000a1" }),
          row({ event_id: "0190F1E2-0000-7000-8000-0000000000A2" }),
        ],
      });
      expect(await migrateClickHouse(ch.client)).toContain("0006_event_ids");
      expect(await ids()).toEqual(["0190f1e2-0000-7000-8000-0000000000a1", "0190f1e2-0000-7000-8000-0000000000a2"]);
      await ch.client.insert({
        table: "events",
        format: "JSONEachRow",
        values: [row({ event_id: "0190f1e2-0000-7000-8000-0000000000a3" })],
      });
      expect(await ids()).toHaveLength(3);
      // A rerun (a crash before the bookkeeping row, say) adds nothing.
      for (const statement of MIGRATIONS.find((m) => m.id === "0006_event_ids")?.statements ?? []) {
        await ch.client.command({ query: statement });
      }
      expect(await ids()).toHaveLength(3);
    } finally {
      await ch.client.command({ query: `USE ${ch.database}` });
      await ch.client.command({ query: `DROP DATABASE IF EXISTS ${old}` });
    }
  });
});
