/**
 * `npm run recommend:offline -- --train FILE --format ml-100k|ml-1m|csv --k 10 --out FILE
 *   [--device auto|wasm|webgpu|native] [--budget-seconds 300]`
 *
 * Trains the model Marquee would pick on a MovieLens-format ratings file (every rating is an
 * interaction; selection.ts: chosen on a validation split of the file, then refitted on all
 * of it), ranks as serving ranks Top picks (rankTopPicks, popularity top-up) and writes the top k for every user in the file as `user<TAB>item<TAB>rank`
 * lines: ids as in the file, rank from 1, the user's own training items never included.
 */
import { createWriteStream } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { topK } from "../eval/metrics.ts";
import { rankable, selectPersonalModel } from "../selection.ts";
import { historyPopularity, servedScorer } from "../served-scorer.ts";
import { loadTfForDevice } from "../tf-backend.ts";
import { deviceArg, progress, runMain, UsageError } from "./offline-tools.ts";
import { parseFormat, readRatingsFile } from "./ratings-file.ts";

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      train: { type: "string" },
      format: { type: "string" },
      k: { type: "string", default: "10" },
      out: { type: "string" },
      device: { type: "string", default: "auto" },
      "budget-seconds": { type: "string", default: "300" },
    },
  });
  if (!values.train) throw new UsageError("--train FILE is required");
  if (!values.out) throw new UsageError("--out FILE is required");
  const format = parseFormat(values.format);
  const k = Number(values.k);
  if (!Number.isInteger(k) || k < 1 || k > 1000) throw new UsageError("--k must be an integer from 1 to 1000");
  const device = deviceArg(values.device);
  const budgetSeconds = Number(values["budget-seconds"]);
  if (!(budgetSeconds > 0)) throw new UsageError("--budget-seconds must be a positive number");
  const started = performance.now();
  const file = await readRatingsFile(values.train, format);
  progress("read ratings", {
    users: file.data.nUsers,
    items: file.data.nItems,
    interactions: file.data.items.length,
    seconds: (performance.now() - started) / 1000,
  });
  const handle = await loadTfForDevice(device);
  progress("tfjs backend", { backend: handle.backend, device: handle.device, tried: handle.tried });
  const items = file.itemIds.map((id) => ({ id: String(id), title: "", genres: [] as string[], year: 0 }));
  const selection = await selectPersonalModel(handle, file.data, items, { budgetSeconds, progress });
  progress("model fitted", {
    model: selection.chosen.model,
    params: selection.chosen.params,
    candidates: selection.candidates,
    peak_rss_mb: selection.peak_rss_mb,
    seconds: (performance.now() - started) / 1000,
  });
  const model = servedScorer(
    rankable(selection.chosen.neighbours, items),
    items,
    file.data,
    historyPopularity(items, file.data),
    k,
  );

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
