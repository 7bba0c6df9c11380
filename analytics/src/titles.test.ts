import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type ClickHouseHandle, createClickHouse, loadConfig } from "@marquee/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateClickHouse } from "./migrations.ts";
import { publishedCatalogue, publishedTitles, upsertTitleDimension } from "./titles.ts";

// chDB binds one data directory per process: this file opens exactly one.
describe("the titles dimension (chDB)", () => {
  let dir: string;
  let ch: ClickHouseHandle;
  const base = { title: "A Film", genres: ["Drama"], year: 2020, age_rating: "PG" };
  const stored = async (id: string) => {
    const rs = await ch.client.query({
      query: "SELECT status, toString(updated_at) AS v FROM titles WHERE id = {id:String} ORDER BY updated_at",
      query_params: { id },
      format: "JSONEachRow",
    });
    return rs.json<{ status: string; v: string }>();
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "marquee-titles-"));
    ch = await createClickHouse(loadConfig({ DATA_DIR: dir }));
    await migrateClickHouse(ch.client);
  });
  afterAll(async () => {
    await ch?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes a version once: the same version again (a replay) adds no row", async () => {
    const t = { id: "d1", ...base, status: "published", updated_at: "2026-02-01T10:00:00Z" };
    expect(await upsertTitleDimension(ch.client, [t])).toEqual({ written: 1, skipped: 0 });
    expect(await upsertTitleDimension(ch.client, [t])).toEqual({ written: 0, skipped: 1 });
    expect(await stored("d1")).toEqual([{ status: "published", v: "2026-02-01 10:00:00.000" }]);
  });

  it("keeps the latest version when an older one arrives late: a withdrawal is not undone", async () => {
    const at = (status: string, updated_at: string) => ({ id: "d2", ...base, status, updated_at });
    await upsertTitleDimension(ch.client, [at("published", "2026-02-01T10:00:00Z")]);
    await upsertTitleDimension(ch.client, [at("withdrawn", "2026-02-02T10:00:00Z")]);
    expect(await upsertTitleDimension(ch.client, [at("published", "2026-02-01T10:00:00Z")])).toEqual({
      written: 0,
      skipped: 1,
    });
    // Within one call too: the newest input per id is the one considered.
    await upsertTitleDimension(ch.client, [
      at("published", "2026-02-03T00:00:00Z"),
      at("withdrawn", "2026-02-02T12:00:00Z"),
    ]);
    expect((await stored("d2")).map((r) => r.status)).toEqual(["published", "withdrawn", "published"]);
    await upsertTitleDimension(ch.client, [at("withdrawn", "2026-02-04T00:00:00Z")]);
    expect((await publishedTitles(ch.client)).map((t) => t.id)).not.toContain("d2");
    expect((await publishedCatalogue(ch.client)).map((t) => t.id)).not.toContain("d2");
  });

  it("carries published_at over edits, and starts it again on a re-publication", async () => {
    const v = (status: string, updated_at: string, extra: Record<string, unknown> = {}) => ({
      id: "d3",
      ...base,
      status,
      updated_at,
      regions: ["GB", "IE"],
      ...extra,
    });
    await upsertTitleDimension(ch.client, [v("in_review", "2026-03-01T00:00:00Z")]);
    await upsertTitleDimension(ch.client, [v("published", "2026-03-02T00:00:00Z")]);
    await upsertTitleDimension(ch.client, [v("published", "2026-03-05T00:00:00Z", { title: "Renamed" })]);
    let d3 = (await publishedCatalogue(ch.client)).find((t) => t.id === "d3");
    expect(d3).toEqual({
      id: "d3",
      title: "Renamed",
      genres: ["Drama"],
      year: 2020,
      age_rating: "PG",
      status: "published",
      regions: ["GB", "IE"],
      published_at: "2026-03-02 00:00:00.000",
    });
    await upsertTitleDimension(ch.client, [v("withdrawn", "2026-03-06T00:00:00Z")]);
    await upsertTitleDimension(ch.client, [
      v("published", "2026-03-08T00:00:00Z", { published_at: "2026-03-07T00:00:00Z" }),
    ]);
    d3 = (await publishedCatalogue(ch.client)).find((t) => t.id === "d3");
    expect(d3?.published_at).toBe("2026-03-07 00:00:00.000");
  });

  it("lists the newest publications first; titles mirrored without a publication time last", async () => {
    await upsertTitleDimension(ch.client, [{ id: "d0", ...base, updated_at: "2026-01-01T00:00:00Z" }]);
    // Rows written before 0007 have no published_at: readers say null.
    await ch.client.insert({
      table: "titles",
      format: "JSONEachRow",
      values: [{ id: "d_old", ...base, status: "published", updated_at: "2026-01-01 00:00:00.000" }],
    });
    const ids = (await publishedCatalogue(ch.client)).map((t) => [t.id, t.published_at]);
    expect(ids).toEqual([
      ["d3", "2026-03-07 00:00:00.000"],
      ["d1", "2026-02-01 10:00:00.000"],
      ["d0", "2026-01-01 00:00:00.000"],
      ["d_old", null],
    ]);
  });
});
