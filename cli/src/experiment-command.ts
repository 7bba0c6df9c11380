import path from "node:path";
import { MODEL_NAMES } from "@marquee/contracts";
import { AppError, type Config, ModelStore } from "@marquee/runtime";
import { type Experiment, ExperimentSchema, readExperiments, writeExperiments } from "@marquee/serving";

export const EXPERIMENT_USAGE = `marquee experiment start ID --variant NAME=VERSION[:WEIGHT] --variant NAME=current[:WEIGHT]
  marquee experiment stop
  marquee experiment show`;

/**
 * `marquee experiment`: A/B tests of personal model versions, written to the registry's
 * experiments.json, which every serving replica re-reads within seconds (no restart). A
 * variant names a stored version of the personal model, or `current` (whatever is promoted).
 * Returns what to print.
 */
export async function experimentCommand(config: Config, args: readonly string[]): Promise<string> {
  const store = new ModelStore(config.MODEL_DIR ?? path.join(config.dataDir, "models"));
  const [verb, ...rest] = args;
  if (verb === "show") {
    const running = await readExperiments(store.root);
    return running.length === 0 ? "no experiment is running\n" : `${JSON.stringify(running, null, 2)}\n`;
  }
  if (verb === "stop") {
    await writeExperiments(store.root, { experiments: [] });
    return "experiment stopped: every viewer ranks with the current model\n";
  }
  if (verb !== "start") throw new AppError("bad_request", `usage:\n  ${EXPERIMENT_USAGE}`);
  const [id, ...flags] = rest;
  const variants: Experiment["variants"] = [];
  for (let i = 0; i < flags.length; i++) {
    if (flags[i] !== "--variant")
      throw new AppError("bad_request", `unexpected ${flags[i]}; usage:\n  ${EXPERIMENT_USAGE}`);
    const spec = flags[++i] ?? "";
    const m = /^([^=]+)=([^:]+)(?::(\d+(?:\.\d+)?))?$/.exec(spec);
    if (!m) throw new AppError("bad_request", `--variant ${spec}: expected NAME=VERSION[:WEIGHT]`);
    const [, name, version, weight] = m as unknown as [string, string, string, string | undefined];
    if (version !== "current") {
      if (!(await store.list(MODEL_NAMES.personal)).includes(version))
        throw new AppError("not_found", `no personal model version ${version} in ${store.root}`);
    }
    variants.push({ name, model_version: version === "current" ? null : version, weight: weight ? Number(weight) : 1 });
  }
  const parsed = ExperimentSchema.safeParse({ id, variants });
  if (!parsed.success)
    throw new AppError(
      "bad_request",
      parsed.error.issues.map((x) => `${x.path.join(".") || "experiment"}: ${x.message}`).join("; "),
    );
  await writeExperiments(store.root, { experiments: [parsed.data] });
  return `experiment ${parsed.data.id} started: ${parsed.data.variants.map((v) => `${v.name} (${v.model_version ?? "current"}, weight ${v.weight})`).join(", ")}\n`;
}
