/**
 * `npm run recommend:offline -- --train FILE --format ml-100k|ml-1m|csv --k 10 --out FILE`
 *
 * Trains the model Marquee would pick on a MovieLens-format ratings file (every rating is an
 * interaction) and writes the top k for every user in the file as `user<TAB>item<TAB>rank`
 * lines: ids as in the file, rank from 1, the user's own training items never included.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { basename } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { MovieLensError, type MovieLensFormat, parseMovieLensRatingLine } from "@marquee/seed";
import { fitChosenModel, fromTriples, type Interactions, loadTf, topK } from "@marquee/training";

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

export class UsageError extends Error {}

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

/** stderr progress for the offline tools: stdout carries only their output. */
export function progress(msg: string, fields: Record<string, unknown> = {}): void {
  const extra = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === "number" ? Math.round(v * 1000) / 1000 : JSON.stringify(v)}`)
    .join(" ");
  process.stderr.write(`[${new Date().toISOString()}] ${msg}${extra ? ` ${extra}` : ""}\n`);
}

/** Runs an entry script's main with the offline tools' error handling (usage/input errors: exit 2). */
export function runMain(main: (argv: string[]) => Promise<void>): void {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      if (err instanceof MovieLensError || err instanceof UsageError) {
        process.stderr.write(`error: ${err.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`error: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      train: { type: "string" },
      format: { type: "string" },
      k: { type: "string", default: "10" },
      out: { type: "string" },
      lambda: { type: "string" },
    },
  });
  if (!values.train) throw new UsageError("--train FILE is required");
  if (!values.out) throw new UsageError("--out FILE is required");
  const format = parseFormat(values.format);
  const k = Number(values.k);
  if (!Number.isInteger(k) || k < 1 || k > 1000) throw new UsageError("--k must be an integer from 1 to 1000");
  const started = performance.now();
  const file = await readRatingsFile(values.train, format);
  progress("read ratings", {
    users: file.data.nUsers,
    items: file.data.nItems,
    interactions: file.data.items.length,
    seconds: (performance.now() - started) / 1000,
  });
  const handle = await loadTf({ prefer: "wasm" });
  progress("tfjs backend", { backend: handle.backend });
  const model = fitChosenModel(handle, file.data, {
    ...(values.lambda ? { lambda: Number(values.lambda) } : {}),
    log: progress,
  });
  progress("model fitted", { model: model.name, params: model.params, seconds: (performance.now() - started) / 1000 });

  const out = createWriteStream(values.out);
  const { data, userIds, itemIds } = file;
  const scores = new Float32Array(data.nItems);
  const top = new Int32Array(k);
  let chunk = "";
  for (let u = 0; u < data.nUsers; u++) {
    model.scoreUser(u, scores);
    for (let p = data.indptr[u] as number; p < (data.indptr[u + 1] as number); p++)
      scores[data.items[p] as number] = Number.NEGATIVE_INFINITY;
    topK(scores, k, top);
    for (let r = 0; r < k; r++) {
      const i = top[r] as number;
      if (i < 0) break;
      chunk += `${userIds[u]}\t${itemIds[i]}\t${r + 1}\n`;
    }
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
      chunk = "";
    }
  }
  out.write(chunk);
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  progress("recommendations written", {
    out: values.out,
    users: data.nUsers,
    k,
    seconds: (performance.now() - started) / 1000,
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) runMain(main);
