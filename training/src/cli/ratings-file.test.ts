import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readRatingsFile } from "./ratings-file.ts";

const dir = await mkdtemp(path.join(tmpdir(), "marquee-ratings-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("offline ratings files", () => {
  it("reads every rating as an interaction, keeping the file's ids", async () => {
    const file = path.join(dir, "u.data");
    await writeFile(file, "7\t100\t5\t881250949\n7\t200\t1\t881250950\n9\t100\t3\t881250951\n");
    const r = await readRatingsFile(file, "ml-100k");
    expect(r.userIds).toEqual([7, 9]);
    expect(r.itemIds).toEqual([100, 200]);
    expect([...r.data.indptr]).toEqual([0, 2, 3]);
    expect(r.data.times[0]).toBe(881250949000);
  });

  it("names the file and line of bad input", async () => {
    const file = path.join(dir, "ratings.dat");
    await writeFile(file, "1::1193::5::978300760\n1::661::3::978302109\n1::oops::4::978301968\n");
    await expect(readRatingsFile(file, "ml-1m")).rejects.toThrow("ratings.dat:3: movie id 'oops'");
    const csv = path.join(dir, "ratings.csv");
    await writeFile(csv, "user,movie\n");
    await expect(readRatingsFile(csv, "csv")).rejects.toThrow(/ratings.csv:1: expected the header/);
    await writeFile(file, "");
    await expect(readRatingsFile(file, "ml-1m")).rejects.toThrow(/no ratings/);
  });
});
