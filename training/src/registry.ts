import { appendFile, readFile } from "node:fs/promises";
import path from "node:path";
import type { ModelMeta, ModelStore } from "@marquee/runtime";
import type { CandidateResult } from "./selection.ts";

/** Why a version became (or did not become) current: one JSON line per decision. */
export interface PromotionDecision {
  at: string;
  name: string;
  candidate: string;
  current: string | null;
  promoted: boolean;
  kind: "gate" | "manual" | "rollback";
  metric: string;
  candidate_value: number | null;
  current_value: number | null;
  holdout: string | null;
  reason: string;
}

const DECISIONS = "decisions.jsonl";

/**
 * Make `candidate` current only if it is not worse than the current version on the same
 * holdout: both values must have been measured on the holdout named `holdout` (the caller
 * evaluates both). With no current version, the candidate must beat popularity on it.
 * Every decision, promoted or not, is appended to `<name>/decisions.jsonl`.
 */
export async function promoteIfNotWorse(
  store: ModelStore,
  input: {
    name: string;
    candidate: string;
    metric: string;
    candidateValue: number;
    currentValue: number | null;
    popularityValue: number;
    holdout: string;
    tolerance?: number;
  },
): Promise<PromotionDecision> {
  const current = await store.currentVersion(input.name);
  const tolerance = input.tolerance ?? 0;
  let promoted: boolean;
  let reason: string;
  if (current === null || input.currentValue === null) {
    promoted = input.candidateValue > input.popularityValue;
    reason = promoted
      ? `no comparable current version; beats popularity (${input.popularityValue})`
      : `no comparable current version and not better than popularity (${input.popularityValue})`;
  } else {
    promoted = input.candidateValue >= input.currentValue - tolerance;
    reason = promoted ? "not worse than current on the same holdout" : "worse than current on the same holdout";
  }
  const decision: PromotionDecision = {
    at: new Date().toISOString(),
    name: input.name,
    candidate: input.candidate,
    current,
    promoted,
    kind: "gate",
    metric: input.metric,
    candidate_value: input.candidateValue,
    current_value: input.currentValue,
    holdout: input.holdout,
    reason,
  };
  if (promoted) await store.setCurrent(input.name, input.candidate);
  await record(store, decision);
  return decision;
}

/** An operator's promotion: no gate, but recorded. */
export async function promoteManually(store: ModelStore, name: string, version: string): Promise<PromotionDecision> {
  const current = await store.currentVersion(name);
  await store.setCurrent(name, version);
  const decision: PromotionDecision = {
    at: new Date().toISOString(),
    name,
    candidate: version,
    current,
    promoted: true,
    kind: "manual",
    metric: "",
    candidate_value: null,
    current_value: null,
    holdout: null,
    reason: "promoted by an operator",
  };
  await record(store, decision);
  return decision;
}

/**
 * Point `current` back at the version that was current before it (from the decisions log;
 * failing that, the newest older version still stored). Throws when there is nothing to go
 * back to.
 */
export async function rollback(store: ModelStore, name: string): Promise<PromotionDecision> {
  const current = await store.currentVersion(name);
  if (current === null) throw new Error(`${name} has no current version`);
  const versions = new Set(await store.list(name));
  const history = (await decisions(store, name)).filter((d) => d.promoted && d.candidate === current);
  let target: string | null = null;
  for (let k = history.length - 1; k >= 0 && target === null; k--) {
    const previous = history[k]?.current ?? null;
    if (previous && previous !== current && versions.has(previous)) target = previous;
  }
  if (target === null) {
    const older = [...versions].filter((v) => v < current).sort();
    target = older.at(-1) ?? null;
  }
  if (target === null) throw new Error(`${name}: no earlier version to roll back to`);
  await store.setCurrent(name, target);
  const decision: PromotionDecision = {
    at: new Date().toISOString(),
    name,
    candidate: target,
    current,
    promoted: true,
    kind: "rollback",
    metric: "",
    candidate_value: null,
    current_value: null,
    holdout: null,
    reason: `rolled back from ${current}`,
  };
  await record(store, decision);
  return decision;
}

/** The promotion decisions (gate, manual, rollback) of a model, oldest first. */
export async function decisions(store: ModelStore, name: string): Promise<PromotionDecision[]> {
  return (await lines(store, name)).filter((d): d is PromotionDecision => d.kind !== "selection");
}

/**
 * Which model a retrain chose and why: every candidate's validation figure, hyper-parameters,
 * fit time and peak memory, and the winner. One line of `decisions.jsonl`, kind "selection",
 * written before the gate's line for the same version.
 */
export interface SelectionDecision {
  at: string;
  name: string;
  kind: "selection";
  /** The version the chosen model was stored as. */
  candidate: string;
  chosen: string;
  params: Record<string, unknown>;
  metric: "ndcg_at_10";
  validation: { split: string; users: number };
  candidates: CandidateResult[];
  backend: string;
  device: string;
  seconds: number;
  peak_rss_mb: number;
}

export async function recordSelection(
  store: ModelStore,
  decision: Omit<SelectionDecision, "at" | "kind">,
): Promise<SelectionDecision> {
  const line: SelectionDecision = { at: new Date().toISOString(), kind: "selection", ...decision };
  await appendFile(path.join(store.root, decision.name, DECISIONS), `${JSON.stringify(line)}\n`);
  return line;
}

export async function selections(store: ModelStore, name: string): Promise<SelectionDecision[]> {
  return (await lines(store, name)).filter((d): d is SelectionDecision => d.kind === "selection");
}

async function lines(store: ModelStore, name: string): Promise<(PromotionDecision | SelectionDecision)[]> {
  try {
    const text = await readFile(path.join(store.root, name, DECISIONS), "utf8");
    return text
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as PromotionDecision | SelectionDecision);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/** Every version of a model with its meta, oldest first, and which one is current. */
export async function listVersions(
  store: ModelStore,
  name: string,
): Promise<{ current: string | null; versions: ModelMeta[] }> {
  const current = await store.currentVersion(name);
  const versions = await Promise.all((await store.list(name)).map((v) => store.meta(name, v)));
  return { current, versions };
}

async function record(store: ModelStore, decision: PromotionDecision): Promise<void> {
  await appendFile(path.join(store.root, decision.name, DECISIONS), `${JSON.stringify(decision)}\n`);
}
