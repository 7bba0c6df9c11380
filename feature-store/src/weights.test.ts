import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { EVENT_TYPES } from "@marquee/contracts";
import { type ClickHouseHandle, createClickHouse, loadConfig } from "@marquee/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENT_WEIGHTS, interactionWeight, WEIGHTED_TYPES, weightSql } from "./weights.ts";

/**
 * Training reads weights through `weightSql()` in ClickHouse; serving through
 * `interactionWeight()` in TypeScript. Both renderings are evaluated here, over every event
 * type and every rating, and must give the same number.
 */
// chDB binds one data directory per process: this file opens exactly one.
describe("interaction weights: the TypeScript and SQL renderings agree (chDB)", () => {
  let dir: string;
  let ch: ClickHouseHandle;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "marquee-weights-"));
    ch = await createClickHouse(loadConfig({ DATA_DIR: dir }));
  });
  afterAll(async () => {
    await ch?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const inSql = async (type: string, payload: string): Promise<number> => {
    const rs = await ch.client.query({
      query: `SELECT toFloat64(${weightSql()}) AS w FROM (SELECT {type:String} AS type, {payload:String} AS payload)`,
      query_params: { type, payload },
      format: "JSONEachRow",
    });
    const [row] = await rs.json<{ w: number }>();
    return Number(row?.w);
  };

  it("gives every event type (and an unknown one) the same weight", async () => {
    const types = [...new Set([...EVENT_TYPES, ...WEIGHTED_TYPES, "not_a_type"])];
    const got: Record<string, [number, number]> = {};
    for (const type of types) {
      const payload = type === "rating" ? '{"value":4}' : "{}";
      got[type] = [await inSql(type, payload), interactionWeight(type, type === "rating" ? 4 : undefined)];
    }
    for (const [type, [sql, ts]] of Object.entries(got)) expect(sql, type).toBeCloseTo(ts, 9);
    // Exposure carries nothing; every weighted type is in the table the SQL is rendered from.
    expect(got.impression).toEqual([0, 0]);
    expect(got.page_view).toEqual([0, 0]);
    for (const type of WEIGHTED_TYPES) expect(type in EVENT_WEIGHTS).toBe(true);
  });

  it("gives every rating, and a rating without a value, the same weight", async () => {
    for (let value = 0.5; value <= 5; value += 0.5) {
      expect(await inSql("rating", JSON.stringify({ value })), `rating ${value}`).toBeCloseTo(
        interactionWeight("rating", value),
        9,
      );
    }
    expect(await inSql("rating", "{}")).toBeCloseTo(interactionWeight("rating"), 9);
  });
});
