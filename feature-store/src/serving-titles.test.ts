import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { migrateClickHouse, upsertTitleDimension } from "@marquee/analytics";
import { type ClickHouseHandle, createClickHouse, loadConfig } from "@marquee/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadServingTitles } from "./online.ts";

// chDB binds one data directory per process: this file opens exactly one.
describe("the published catalogue for serving (chDB)", () => {
  let dir: string;
  let ch: ClickHouseHandle;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "marquee-serving-titles-"));
    ch = await createClickHouse(loadConfig({ DATA_DIR: dir }));
    await migrateClickHouse(ch.client);
  });
  afterAll(async () => {
    await ch?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("lists published titles with their latest names and regions, and when they were first published; not withdrawn ones", async () => {
    const base = { genres: ["Drama"], year: 2001, age_rating: "PG" as const };
    await upsertTitleDimension(
      ch.client,
      [{ id: "t1", title: "Draft name", ...base, status: "draft" }],
      new Date("2026-01-01T00:00:00Z"),
    );
    await upsertTitleDimension(
      ch.client,
      [{ id: "t1", title: "First", ...base, status: "published" }],
      new Date("2026-01-02T00:00:00Z"),
    );
    await upsertTitleDimension(
      ch.client,
      [{ id: "t1", title: "Renamed", ...base, status: "published", regions: ["GB", "IE"] }],
      new Date("2026-01-05T00:00:00Z"),
    );
    await upsertTitleDimension(
      ch.client,
      [{ id: "t2", title: "Gone", ...base, status: "published" }],
      new Date("2026-01-02T00:00:00Z"),
    );
    await upsertTitleDimension(
      ch.client,
      [{ id: "t2", title: "Gone", ...base, status: "withdrawn" }],
      new Date("2026-01-03T00:00:00Z"),
    );
    const titles = await loadServingTitles(ch.client);
    expect(titles).toEqual([
      {
        id: "t1",
        title: "Renamed",
        genres: ["Drama"],
        year: 2001,
        age_rating: "PG",
        regions: ["GB", "IE"],
        published_at: "2026-01-02 00:00:00.000",
      },
    ]);
  });
});
