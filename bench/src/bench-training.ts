/**
 * `npm run bench:training`: MovieLens-1M-sized synthetic data (1M interactions, 6k users,
 * 4k titles, seeded latent-factor generator, no database), split per user 75/25 (seed 42),
 * each model trained on the 75 % and ranked over all titles for every user. One JSON line
 * per model; the chosen model's line last. `seconds` is the model's training time.
 * Options: --users, --items, --interactions, --skip-tfjs, --skip-als, --bpr-seconds.
 */
import { parseArgs } from "node:util";
import {
  evaluateRanking,
  fitAls,
  fitBpr,
  fitChosenModel,
  itemFeaturesFromLabels,
  loadTf,
  PopularityScorer,
  randomSplit,
  syntheticInteractions,
} from "@marquee/training";

/** Progress on stderr: stdout carries only the JSON lines. */
function progress(msg: string, fields: Record<string, unknown> = {}): void {
  const extra = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === "number" ? Math.round(v * 1000) / 1000 : JSON.stringify(v)}`)
    .join(" ");
  process.stderr.write(`[${new Date().toISOString()}] ${msg}${extra ? ` ${extra}` : ""}\n`);
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      users: { type: "string", default: "6000" },
      items: { type: "string", default: "4000" },
      interactions: { type: "string", default: "1000000" },
      "skip-tfjs": { type: "boolean", default: false },
      "skip-als": { type: "boolean", default: false },
      "bpr-seconds": { type: "string", default: "25" },
    },
  });
  const generated = performance.now();
  const data = syntheticInteractions({
    users: Number(values.users),
    items: Number(values.items),
    interactions: Number(values.interactions),
    seed: 7,
  });
  progress("synthetic data", {
    users: data.nUsers,
    items: data.nItems,
    interactions: data.items.length,
    seconds: (performance.now() - generated) / 1000,
  });
  const { train, test } = randomSplit(data, { seed: 42 });
  const handle = await loadTf({ prefer: "wasm" });
  progress("tfjs backend", { backend: handle.backend, tried: handle.tried });
  const common = { interactions: data.items.length, users: data.nUsers, items: data.nItems };
  const line = (model: string, backend: string, seconds: number, ndcg: number, pop: number) =>
    process.stdout.write(
      `${JSON.stringify({
        model,
        backend,
        ...common,
        seconds: Math.round(seconds * 100) / 100,
        ndcg_at_10: ndcg,
        popularity_ndcg_at_10: pop,
      })}\n`,
    );

  let t = performance.now();
  const popularity = new PopularityScorer(train);
  const popSeconds = (performance.now() - t) / 1000;
  const pop = evaluateRanking(popularity, train, test).ndcg_at_10;
  line("popularity", "typed-arrays", popSeconds, pop, pop);

  if (!values["skip-tfjs"]) {
    t = performance.now();
    const bpr = await fitBpr(handle, train, {
      maxSeconds: Number(values["bpr-seconds"]),
      features: itemFeaturesFromLabels(data.itemLabels),
      log: progress,
    });
    const bprSeconds = (performance.now() - t) / 1000;
    line("bpr-tfjs", handle.backend, bprSeconds, evaluateRanking(bpr, train, test).ndcg_at_10, pop);
  }

  if (!values["skip-als"]) {
    t = performance.now();
    const als = fitAls(train, { log: progress });
    const alsSeconds = (performance.now() - t) / 1000;
    line("als", "typed-arrays", alsSeconds, evaluateRanking(als, train, test).ndcg_at_10, pop);
  }

  t = performance.now();
  // No λ search here: the benchmark times one production fit (the nightly job tunes only
  // when the catalogue is small enough to afford it).
  const chosen = fitChosenModel(handle, train, { tune: false, log: progress });
  const seconds = (performance.now() - t) / 1000;
  const evalStarted = performance.now();
  const metrics = evaluateRanking(chosen, train, test);
  progress("chosen model evaluated", { ...metrics, eval_seconds: (performance.now() - evalStarted) / 1000 });
  line(chosen.name, chosen.backend, seconds, metrics.ndcg_at_10, pop);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
