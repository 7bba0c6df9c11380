/**
 * `npm run bench:training -- --scale medium|large [--device auto|wasm|webgpu|native]`
 *
 * Synthetic data (seeded latent-factor generator with power-law popularity, no database):
 * medium ~10k titles × 50k users × ~1M interactions, large 20k titles × 100k users × 1M+
 * (the seeder's large world's shape); `--scale small` is the old 6k users × 4k titles × 1M.
 * Split per user 75/25 (seed 42). The personal model is chosen by the project's one selection
 * (selection.ts: every candidate the time budget affords, tuned and scored on a validation
 * split of the 75 %), refitted on the 75 %, blended with the content model for titles with few
 * interactions, and scored on the 25 % in its served form (serving's rankTopPicks). Every
 * candidate family's best configuration is refitted on the 75 % and scored the same way, and
 * implicit ALS (not servable as neighbour lists: a reference) beside them. Scores use a seeded
 * sample of 10,000 test users. `cold_ndcg_at_10`: a tenth of the titles removed from the data
 * entirely and placed by the content model alone (content-model.ts evaluateColdStart).
 *
 * One JSON line per candidate on stdout, the chosen one last; progress with ETAs on stderr.
 * `seconds` is the model's fit time on the 75 % (the chosen line: the whole selection, the
 * refit and the content model); `peak_rss_mb` the process's peak so far.
 */
import { parseArgs } from "node:util";
import {
  blendColdNeighbours,
  evaluateColdStart,
  evaluateRanking,
  evaluateServed,
  fitAls,
  fitContentModel,
  loadTfForDevice,
  mulberry32,
  parseDevice,
  peakRssMb,
  randomSplit,
  recipeFor,
  selectPersonalModel,
  syntheticInteractions,
} from "@marquee/training";

/** Progress on stderr: stdout carries only the JSON lines. */
function progress(msg: string, fields: Record<string, unknown> = {}): void {
  const extra = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === "number" ? Math.round(v * 1000) / 1000 : JSON.stringify(v)}`)
    .join(" ");
  process.stderr.write(`[${new Date().toISOString()}] ${msg}${extra ? ` ${extra}` : ""}\n`);
}

const SCALES = {
  tiny: { users: 3000, items: 2000, interactions: 100_000, budget: 30 },
  small: { users: 6000, items: 4000, interactions: 1_000_000, budget: 60 },
  medium: { users: 50_000, items: 10_000, interactions: 1_000_000, budget: 300 },
  large: { users: 100_000, items: 20_000, interactions: 1_100_000, budget: 600 },
} as const;

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      scale: { type: "string", default: "medium" },
      device: { type: "string", default: "auto" },
      "skip-als": { type: "boolean", default: false },
      "eval-users": { type: "string", default: "10000" },
    },
  });
  const scaleName = values.scale as keyof typeof SCALES;
  const scale = SCALES[scaleName];
  if (!scale) throw new Error(`--scale must be one of ${Object.keys(SCALES).join(", ")}`);
  const device = parseDevice(values.device);
  const generated = performance.now();
  const data = syntheticInteractions({
    users: scale.users,
    items: scale.items,
    interactions: scale.interactions,
    seed: 7,
  });
  const items = data.itemLabels.map((genres, i) => ({ id: `t${i}`, title: "", genres, year: 0 }));
  progress("synthetic data", {
    users: data.nUsers,
    items: data.nItems,
    interactions: data.items.length,
    seconds: (performance.now() - generated) / 1000,
  });
  const { train, test } = randomSplit(data, { seed: 42 });
  const handle = await loadTfForDevice(device);
  progress("tfjs backend", { backend: handle.backend, device: handle.device, tried: handle.tried });
  // A seeded sample of test users, the same for every line.
  const withTest: number[] = [];
  for (let u = 0; u < test.nUsers; u++)
    if ((test.indptr[u + 1] as number) > (test.indptr[u] as number)) withTest.push(u);
  const rng = mulberry32(5);
  const want = Math.min(withTest.length, Number(values["eval-users"]));
  for (let x = 0; x < want; x++) {
    const y = x + Math.floor(rng() * (withTest.length - x));
    [withTest[x], withTest[y]] = [withTest[y] as number, withTest[x] as number];
  }
  const users = Uint32Array.from(withTest.slice(0, want).sort((a, b) => a - b));
  const served = (lists: Parameters<typeof evaluateServed>[0]) =>
    evaluateServed(lists, items, train, test, users).ndcg_at_10;

  const cold = await evaluateColdStart(handle, train, items, items, { progress });
  progress("cold start", { ...cold });
  const common = { users: data.nUsers, items: data.nItems, interactions: data.items.length };
  const popLists = await recipeFor(handle, "popularity", {}, 200).fit(train);
  const pop = served(popLists);
  const line = (model: string, backend: string, seconds: number, ndcg: number, coldNdcg: number | null) =>
    process.stdout.write(
      `${JSON.stringify({
        scale: scaleName,
        model,
        backend,
        device: handle.device,
        ...common,
        seconds: Math.round(seconds * 100) / 100,
        peak_rss_mb: peakRssMb(),
        ndcg_at_10: ndcg,
        popularity_ndcg_at_10: pop,
        cold_ndcg_at_10: coldNdcg,
      })}\n`,
    );

  const started = performance.now();
  // The chosen model's time budget leaves a margin for the content model and the blend.
  const selection = await selectPersonalModel(handle, train, items, { budgetSeconds: scale.budget * 0.85, progress });
  const content = await fitContentModel(handle, train, items, items, {
    scaleTo: selection.chosen.neighbours,
    progress,
  });
  const chosenLists = blendColdNeighbours(selection.chosen.neighbours, train, content.artifact, items);
  const chosenSeconds = (performance.now() - started) / 1000;
  progress("chosen model, without the content blend", { ndcg_at_10: served(selection.chosen.neighbours) });

  // Each family's best configuration on validation, refitted on the 75 % (the chosen one's
  // own family is the chosen model: its line is the last).
  const families = new Map<string, (typeof selection.candidates)[number]>();
  for (const c of selection.candidates) {
    if (c.validation_ndcg_at_10 === null) continue;
    const best = families.get(c.model);
    if (!best || (c.validation_ndcg_at_10 as number) > (best.validation_ndcg_at_10 as number)) families.set(c.model, c);
  }
  for (const [model, c] of families) {
    if (model === selection.chosen.model) continue;
    const t = performance.now();
    const lists =
      model === "popularity" ? popLists : await recipeFor(handle, model, c.params, 200, progress).fit(train);
    const seconds = (performance.now() - t) / 1000;
    const backend = model.startsWith("ease") ? `typed-arrays + tfjs ${handle.backend}` : "typed-arrays";
    line(model, backend, seconds, served(lists), cold.cold_ndcg_at_10);
  }
  if (!values["skip-als"]) {
    const t = performance.now();
    const als = fitAls(train, { log: progress });
    const seconds = (performance.now() - t) / 1000;
    // ALS has no neighbour-list form serving could hold: its dense scores, for reference.
    line("als", "typed-arrays", seconds, evaluateRanking(als, train, test, { users }).ndcg_at_10, null);
  }
  line(selection.chosen.model, selection.chosen.backend, chosenSeconds, served(chosenLists), cold.cold_ndcg_at_10);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
