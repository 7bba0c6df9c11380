/**
 * MovieLens-format ratings files (`u.data`, `ratings.dat`, `ratings.csv`) as training data:
 * every rating is an interaction. Lines are parsed by the MovieLens importer's own parser, so
 * the store's seeding and the offline tools accept exactly the same files.
 */
import { createReadStream } from "node:fs";
import { basename } from "node:path";
import { createInterface } from "node:readline";
import { MovieLensError, type MovieLensFormat, parseMovieLensRatingLine } from "@marquee/seed";
import { fromTriples, type Interactions } from "../dataset.ts";
import { UsageError } from "./offline-tools.ts";

export interface RatingsFile {
  data: Interactions;
  /** Raw ids as in the file, by index. */
  userIds: number[];
  itemIds: number[];
  lines: number;
}

const FORMATS: readonly MovieLensFormat[] = ["ml-100k", "ml-1m", "csv"];

export function parseFormat(value: string | undefined): MovieLensFormat {
  if (!value || !FORMATS.includes(value as MovieLensFormat))
    throw new UsageError(`--format must be one of ${FORMATS.join(", ")}${value ? `, not ${value}` : ""}`);
  return value as MovieLensFormat;
}

/**
 * Stream a ratings file into CSR rows, in typed arrays (ml-25m's 25M lines stay a few hundred
 * MB). Throws MovieLensError (`file:line: reason`) at the first bad line.
 */
export async function readRatingsFile(path: string, format: MovieLensFormat): Promise<RatingsFile> {
  const file = basename(path);
  const userIndex = new Map<number, number>();
  const itemIndex = new Map<number, number>();
  const userIds: number[] = [];
  const itemIds: number[] = [];
  let cap = 1 << 20;
  let us = new Uint32Array(cap);
  let is = new Uint32Array(cap);
  let ts = new Float64Array(cap);
  let n = 0;
  let line = 0;
  const input = createReadStream(path, { encoding: "latin1" });
  const reader = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const text of reader) {
      line++;
      const r = parseMovieLensRatingLine(text, line, format, file);
      if (r === undefined) continue;
      let u = userIndex.get(r.userId);
      if (u === undefined) {
        u = userIds.push(r.userId) - 1;
        userIndex.set(r.userId, u);
      }
      let i = itemIndex.get(r.movieId);
      if (i === undefined) {
        i = itemIds.push(r.movieId) - 1;
        itemIndex.set(r.movieId, i);
      }
      if (n === cap) {
        cap *= 2;
        const grow = <T extends Uint32Array | Float64Array>(a: T, make: (k: number) => T) => {
          const b = make(cap);
          b.set(a);
          return b;
        };
        us = grow(us, (k) => new Uint32Array(k));
        is = grow(is, (k) => new Uint32Array(k));
        ts = grow(ts, (k) => new Float64Array(k));
      }
      us[n] = u;
      is[n] = i;
      ts[n] = r.timestamp * 1000;
      n++;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new UsageError(`${path}: no such file`);
    throw err;
  } finally {
    reader.close();
    input.destroy();
  }
  if (format === "csv" && line === 0)
    throw new MovieLensError(file, 1, "expected the header 'userId,movieId,rating,timestamp'");
  if (n === 0) throw new MovieLensError(file, Math.max(1, line), "no ratings in the file");
  const data = fromTriples(
    userIds.length,
    itemIds.length,
    us.subarray(0, n),
    is.subarray(0, n),
    null,
    ts.subarray(0, n),
  );
  return { data, userIds, itemIds, lines: line };
}
