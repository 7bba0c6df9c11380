/**
 * `npm run train` — retrain now: the personal model (EASE, gated promotion) and the fast
 * models (popularity, item-to-item), against the store's ClickHouse, under the registry's
 * single-flight locks (a run already going elsewhere makes this one skip).
 *
 * `npm run train -- --schedule [--full-cron "0 3 * * *"] [--fast-cron "0 * * * *"]` keeps
 * running and retrains on those cron expressions (the scaled-mode trainer process).
 * `--device auto|wasm|webgpu|native` (default auto: the best backend present, falling back to
 * wasm) and `--budget-seconds N` (the model selection's time budget) apply to both.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createClickHouse, createLogger, loadConfig, ModelStore } from "@marquee/runtime";
import { refreshFastModels } from "../refresh.ts";
import { retrainPersonal } from "../retrain.ts";
import { DEFAULT_RETRAIN_CRON, RetrainScheduler } from "../scheduler.ts";
import { deviceArg, runMain, UsageError } from "./offline-tools.ts";

export function gitSha(): string | null {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      schedule: { type: "boolean", default: false },
      "full-cron": { type: "string", default: DEFAULT_RETRAIN_CRON.full },
      "fast-cron": { type: "string", default: DEFAULT_RETRAIN_CRON.fast },
      only: { type: "string" },
      device: { type: "string", default: "auto" },
      "budget-seconds": { type: "string" },
    },
  });
  const device = deviceArg(values.device);
  const budgetSeconds = values["budget-seconds"] === undefined ? undefined : Number(values["budget-seconds"]);
  if (budgetSeconds !== undefined && !(budgetSeconds > 0))
    throw new UsageError("--budget-seconds must be a positive number");
  const config = loadConfig();
  const logger = createLogger({ service: "marquee-trainer", level: config.LOG_LEVEL });
  const clickhouse = await createClickHouse(config);
  const store = new ModelStore(path.join(config.dataDir, "models"));
  const sha = gitSha();
  const scheduler = new RetrainScheduler(
    [
      {
        name: "retrain-personal",
        cron: values["full-cron"],
        run: () =>
          retrainPersonal({
            clickhouse: clickhouse.client,
            store,
            logger,
            gitSha: sha,
            device,
            ...(budgetSeconds ? { budgetSeconds } : {}),
          }),
      },
      {
        name: "refresh-fast-models",
        cron: values["fast-cron"],
        run: () => refreshFastModels({ clickhouse: clickhouse.client, store, logger, gitSha: sha }),
      },
    ],
    { lockDir: path.join(store.root, ".locks"), logger },
  );
  if (values.schedule) {
    scheduler.start();
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await scheduler.stop();
    await clickhouse.close();
    return;
  }
  try {
    for (const job of ["refresh-fast-models", "retrain-personal"]) {
      if (values.only && values.only !== job) continue;
      const outcome = await scheduler.runNow(job);
      process.stdout.write(`${JSON.stringify({ job, ...outcome })}\n`);
    }
  } finally {
    await clickhouse.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) runMain(main);
