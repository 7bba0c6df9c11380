import os from "node:os";
import type * as TfCore from "@tensorflow/tfjs-core";
import { registerMissingKernels } from "./tf-kernels.ts";

export type Tf = typeof TfCore;

export interface TfHandle {
  tf: Tf;
  /** The backend that runs the maths: tensorflow (native, GPU or CPU), wasm or cpu. */
  backend: string;
  /** What was tried and why it failed, for the logs. */
  tried: { candidate: string; error: string }[];
}

let chosen: Promise<TfHandle> | null = null;

/**
 * TensorFlow.js with the best backend this machine can run, chosen once per process, best
 * first: @tensorflow/tfjs-node-gpu → @tensorflow/tfjs-node → webgpu → wasm → cpu. The native
 * packages are optional (their install downloads libtensorflow): each is imported dynamically and a
 * failure just moves on. So is webgpu: @tensorflow/tfjs-backend-webgpu on Dawn's Node binding
 * (the `webgpu` package, Vulkan underneath), neither a dependency; it is tried only when `prefer`
 * is "native" or "webgpu". Kernels a backend lacks are registered before first use.
 * `prefer` skips the candidates before it: every caller passes "wasm" today; the GPU check
 * (training/gpu/bpr-gpu-check.ts) passes "webgpu". webgpu reads tensors back asynchronously only
 * (`data()`; `dataSync()` needs OffscreenCanvas, which Node lacks): BPR and the asynchronous
 * EASE fit (`invertSpdAsync`, `EaseModel.fitAsync`, `fitChosenModelAsync`) run on it, the
 * synchronous one (`invertSpd`, `fitChosenModel`) does not — see
 * docs/decisions/003-gpu-training-path.md.
 */
export type TfBackendPreference = "native" | "webgpu" | "wasm" | "cpu";

export function loadTf(options: { prefer?: TfBackendPreference } = {}): Promise<TfHandle> {
  chosen ??= choose(options.prefer ?? "native", defaultImporter);
  return chosen;
}

/**
 * What the CLIs and scheduled retraining take as `--device`: `auto` tries the best present
 * (native TensorFlow, then WebGPU, then wasm, then cpu); the others start from that backend and
 * fall back down the same order when it is missing (a missing package, no GPU adapter), and
 * the handle's `tried` says why.
 */
export const TRAINING_DEVICES = ["auto", "wasm", "webgpu", "native"] as const;
export type TrainingDevice = (typeof TRAINING_DEVICES)[number];

export function parseDevice(value: string | undefined): TrainingDevice {
  const v = value ?? "auto";
  if ((TRAINING_DEVICES as readonly string[]).includes(v)) return v as TrainingDevice;
  throw new Error(`--device must be one of ${TRAINING_DEVICES.join(", ")} (got ${JSON.stringify(v)})`);
}

export function preferenceFor(device: TrainingDevice): TfBackendPreference {
  return device === "auto" ? "native" : device;
}

/** The hardware a backend runs on, for model metadata and benchmark lines. */
export function deviceOf(handle: Pick<TfHandle, "backend">): string {
  const b = handle.backend;
  if (b.startsWith("webgpu")) return `gpu: ${b.slice("webgpu".length).replace(/^\s*\(|\)$/g, "") || "unknown adapter"}`;
  if (b.includes("tfjs-node-gpu")) return "gpu: cuda";
  return `cpu: ${os.cpus().length} cores`;
}

/**
 * TensorFlow.js for a `--device`, once per process like `loadTf` (tfjs has one global
 * backend). `importer` replaces dynamic import in tests (a backend made to be missing).
 */
export async function loadTfForDevice(
  device: TrainingDevice,
  importer?: (pkg: string) => Promise<unknown>,
): Promise<TfHandle & { device: string; requested: TrainingDevice }> {
  const handle = importer
    ? await choose(preferenceFor(device), importer)
    : await loadTf({ prefer: preferenceFor(device) });
  return { ...handle, device: deviceOf(handle), requested: device };
}

const ORDER = ["native", "webgpu", "wasm", "cpu"] as const;

/** wasm by a static specifier (bundlers include it); the optional packages by computed ones. */
const defaultImporter = (pkg: string): Promise<unknown> =>
  pkg === "@tensorflow/tfjs-backend-wasm" ? import("@tensorflow/tfjs-backend-wasm") : import(/* @vite-ignore */ pkg);

/** The first line of an error, for `tried`. */
function firstLine(err: unknown): string {
  return err instanceof Error ? (err.message.split("\n")[0] as string) : String(err);
}

async function choose(prefer: TfBackendPreference, importer: (pkg: string) => Promise<unknown>): Promise<TfHandle> {
  const tried: TfHandle["tried"] = [];
  const order = ORDER.slice(ORDER.indexOf(prefer));
  if (order.includes("native")) {
    for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
      try {
        // Computed specifier: neither package is a dependency, so neither the type checker
        // nor a bundler should look for it.
        const mod = (await importer(pkg)) as Tf;
        await mod.ready();
        registerMissingKernels(mod);
        return { tf: mod, backend: `tensorflow (${pkg})`, tried };
      } catch (err) {
        tried.push({ candidate: pkg, error: firstLine(err) });
      }
    }
  }
  const tf = (await import("@tensorflow/tfjs-core")) as Tf;
  if (order.includes("webgpu")) {
    try {
      const device = await initWebGpu(importer);
      if (await tf.setBackend("webgpu")) {
        await tf.ready();
        registerMissingKernels(tf);
        return { tf, backend: `webgpu (${device})`, tried };
      }
      tried.push({ candidate: "webgpu", error: "setBackend returned false" });
    } catch (err) {
      tried.push({ candidate: "webgpu", error: firstLine(err) });
    }
  }
  if (order.includes("wasm")) {
    try {
      await importer("@tensorflow/tfjs-backend-wasm");
      if (await tf.setBackend("wasm")) {
        await tf.ready();
        registerMissingKernels(tf);
        return { tf, backend: "wasm", tried };
      }
      tried.push({ candidate: "wasm", error: "setBackend returned false" });
    } catch (err) {
      tried.push({ candidate: "wasm", error: err instanceof Error ? err.message : String(err) });
    }
  }
  await import("@tensorflow/tfjs-backend-cpu");
  await tf.setBackend("cpu");
  await tf.ready();
  return { tf, backend: "cpu", tried };
}

/**
 * Make WebGPU visible to @tensorflow/tfjs-backend-webgpu, which registers its backend at import
 * only if `navigator.gpu` exists then: Dawn's `create()` becomes `navigator.gpu` and its GPU*
 * constants (GPUBufferUsage...) globals. Fails, leaving the globals alone, when either package
 * is missing or Dawn finds no adapter (no Vulkan loader or driver). Returns the adapter's name.
 */
async function initWebGpu(importer: (pkg: string) => Promise<unknown>): Promise<string> {
  // Computed specifiers, as for the native packages: neither is a dependency.
  const dawnPkg = "webgpu";
  const backendPkg = "@tensorflow/tfjs-backend-webgpu";
  const dawn = (await importer(dawnPkg)) as {
    create(flags: string[]): { requestAdapter(o?: object): Promise<WebGpuAdapter | null> };
    globals: Record<string, unknown>;
  };
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) throw new Error("Dawn found no WebGPU adapter (is a Vulkan loader and driver installed?)");
  const g = globalThis as { navigator?: object };
  for (const [name, value] of Object.entries(dawn.globals))
    if (!(name in globalThis)) Reflect.set(globalThis, name, value);
  if (g.navigator) Object.defineProperty(g.navigator, "gpu", { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true, writable: true });
  await importer(backendPkg);
  const info = adapter.info ?? {};
  return [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ") || "unknown adapter";
}

interface WebGpuAdapter {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}
