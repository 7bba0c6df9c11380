import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";

/**
 * A/B experiments on the personal model: each experiment splits viewers into variants, each
 * variant ranking Top picks (and the personal parts of every endpoint) with one model version
 * (null: the registry's current one). Configured in `experiments.json` at the model registry's
 * root, which every replica re-reads every few seconds, so an experiment starts or stops
 * without a restart; `marquee experiment` writes it.
 *
 * Assignment is deterministic: sha256(experiment id + ":" + viewer id) picks a point in the
 * variants' weights, so a viewer sees the same variant on every replica, every request, and
 * across restarts, and the variants' viewers are independent of other experiments'.
 */
export const ExperimentVariantSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "a variant name is 1-32 lower-case letters, digits, '_' or '-'"),
  /** The personal model version this variant ranks with; null: the current one. */
  model_version: z.string().min(1).max(100).nullable(),
  weight: z.number().positive().max(1000),
});

export const ExperimentSchema = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "an experiment id is 1-64 letters, digits, '_', '.' or '-'"),
    variants: z.array(ExperimentVariantSchema).min(1).max(10),
  })
  .refine((e) => new Set(e.variants.map((v) => v.name)).size === e.variants.length, "variant names must differ");

export const ExperimentsFileSchema = z.object({
  /** At most one experiment runs at a time on the personal model: each viewer has one variant. */
  experiments: z.array(ExperimentSchema).max(1),
});
export type Experiment = z.infer<typeof ExperimentSchema>;
export type ExperimentsFile = z.infer<typeof ExperimentsFileSchema>;

export interface Assignment {
  experiment: string | null;
  variant: string;
  /** The personal model version to rank with; null: the current one. */
  modelVersion: string | null;
}

export const CONTROL: Assignment = { experiment: null, variant: "control", modelVersion: null };

export const EXPERIMENTS_FILE = "experiments.json";

/** A point in [0, 1) from the experiment and the viewer: the same on every replica. */
function bucket(experimentId: string, actorId: string): number {
  const h = createHash("sha256").update(`${experimentId}:${actorId}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

export function assign(experiments: readonly Experiment[], actorId: string): Assignment {
  const e = experiments[0];
  if (!e) return CONTROL;
  const total = e.variants.reduce((s, v) => s + v.weight, 0);
  const at = bucket(e.id, actorId) * total;
  let acc = 0;
  for (const v of e.variants) {
    acc += v.weight;
    if (at < acc) return { experiment: e.id, variant: v.name, modelVersion: v.model_version };
  }
  const last = e.variants[e.variants.length - 1] as Experiment["variants"][number];
  return { experiment: e.id, variant: last.name, modelVersion: last.model_version };
}

/** Reads `experiments.json` under the registry root; a missing file is "no experiment". */
export async function readExperiments(root: string): Promise<Experiment[]> {
  let text: string;
  try {
    text = await readFile(path.join(root, EXPERIMENTS_FILE), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const parsed = ExperimentsFileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${EXPERIMENTS_FILE}: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
  return parsed.data.experiments;
}

/** Writes the file whole (temporary name, then rename), so a replica never reads half of it. */
export async function writeExperiments(root: string, file: ExperimentsFile): Promise<void> {
  const checked = ExperimentsFileSchema.parse(file);
  const target = path.join(root, EXPERIMENTS_FILE);
  const tmp = `${target}.${process.pid}.tmp`;
  await mkdir(root, { recursive: true });
  await writeFile(tmp, `${JSON.stringify(checked, null, 2)}\n`);
  await rename(tmp, target);
}
