/**
 * `npm run eval -- --ratings FILE --format ml-100k|ml-1m|csv [--protocol random|temporal] [--bpr]
 *   [--device auto|wasm|webgpu|native] [--budget-seconds 300]`
 *
 * Protocol (a), Microsoft Recommenders': per-user random 75/25 split (seed 42), full ranking
 * over all items, the user's training items excluded, k = 10. Protocol (b), temporal: each
 * user's latest 25 % held out. The model is chosen by selection.ts (every candidate the
 * budget affords, hyper-parameters included, on a validation split carved out of the training
 * part, never the test part) and scored in its served form. Prints one JSON object with the
 * chosen model's metrics, every candidate's validation figures, and popularity's beside them.
 */
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { evaluateRanking } from "../eval/metrics.ts";
import { randomSplit, temporalSplit } from "../eval/split.ts";
import { fitBpr } from "../models/bpr.ts";
import { PopularityScorer } from "../models/popularity-scorer.ts";
import { evaluateServed, selectPersonalModel } from "../selection.ts";
import { loadTfForDevice } from "../tf-backend.ts";
import { deviceArg, progress, runMain, UsageError } from "./offline-tools.ts";
import { parseFormat, readRatingsFile } from "./ratings-file.ts";

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ratings: { type: "string" },
      format: { type: "string" },
      protocol: { type: "string", default: "random" },
      seed: { type: "string", default: "42" },
      device: { type: "string", default: "auto" },
      "budget-seconds": { type: "string", default: "300" },
      bpr: { type: "boolean", default: false },
      "bpr-seconds": { type: "string", default: "60" },
    },
  });
  if (!values.ratings) throw new UsageError("--ratings FILE is required");
  const format = parseFormat(values.format);
  const protocol = values.protocol;
  if (protocol !== "random" && protocol !== "temporal") throw new UsageError("--protocol must be random or temporal");
  const seed = Number(values.seed);
  const device = deviceArg(values.device);
  const budgetSeconds = Number(values["budget-seconds"]);
  if (!(budgetSeconds > 0)) throw new UsageError("--budget-seconds must be a positive number");
  const started = performance.now();
  const file = await readRatingsFile(values.ratings, format);
  const { train, test } =
    protocol === "random" ? randomSplit(file.data, { ratio: 0.75, seed }) : temporalSplit(file.data, { ratio: 0.75 });
  progress("split", { protocol, train: train.items.length, test: test.items.length });
  const handle = await loadTfForDevice(device);
  progress("tfjs backend", { backend: handle.backend, device: handle.device, tried: handle.tried });
  const items = file.itemIds.map((id) => ({ id: String(id), title: "", genres: [] as string[], year: 0 }));
  const fitStarted = performance.now();
  const selection = await selectPersonalModel(handle, train, items, { seed, budgetSeconds, progress });
  const fitSeconds = (performance.now() - fitStarted) / 1000;
  // The served form (the neighbour lists serving would hold, ranked by its Top picks).
  const metrics = evaluateServed(selection.chosen.neighbours, items, train, test);
  const popularity = evaluateRanking(new PopularityScorer(train), train, test);
  // --bpr: the TensorFlow.js model on the same split, for comparison (not the chosen model).
  let bpr: Record<string, unknown> | null = null;
  if (values.bpr) {
    const bprStarted = performance.now();
    const model = await fitBpr(handle, train, { maxSeconds: Number(values["bpr-seconds"]), log: progress });
    bpr = {
      backend: model.backend,
      params: model.params,
      fit_seconds: Math.round((performance.now() - bprStarted) / 10) / 100,
      metrics: evaluateRanking(model, train, test),
    };
  }
  process.stdout.write(
    `${JSON.stringify({
      ratings: values.ratings,
      format,
      protocol:
        protocol === "random" ? "random-75-25-per-user (Microsoft Recommenders)" : "temporal-latest-25-per-user",
      seed,
      k: 10,
      users: file.data.nUsers,
      items: file.data.nItems,
      interactions: file.data.items.length,
      model: selection.chosen.model,
      backend: selection.chosen.backend,
      device: handle.device,
      params: selection.chosen.params,
      validation: selection.validation,
      candidates: selection.candidates,
      fit_seconds: Math.round(fitSeconds * 1000) / 1000,
      peak_rss_mb: selection.peak_rss_mb,
      metrics,
      popularity,
      ...(bpr ? { bpr } : {}),
      seconds: Math.round((performance.now() - started) / 10) / 100,
    })}\n`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) runMain(main);
