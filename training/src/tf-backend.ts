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
  chosen ??= choose(options.prefer ?? "native");
  return chosen;
}

const ORDER = ["native", "webgpu", "wasm", "cpu"] as const;

/** The first line of an error, for `tried`. */
function firstLine(err: unknown): string {
  return err instanceof Error ? (err.message.split("\n")[0] as string) : String(err);
}

async function choose(prefer: TfBackendPreference): Promise<TfHandle> {
  const tried: TfHandle["tried"] = [];
  const order = ORDER.slice(ORDER.indexOf(prefer));
  if (order.includes("native")) {
    for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
      try {
        // Computed specifier: neither package is a dependency, so neither the type checker
        // nor a bundler should look for it.
        const mod = (await import(/* @vite-ignore */ pkg)) as Tf;
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
      const device = await initWebGpu();
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
      await import("@tensorflow/tfjs-backend-wasm");
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
async function initWebGpu(): Promise<string> {
  // Computed specifiers, as for the native packages: neither is a dependency.
  const dawnPkg = "webgpu";
  const backendPkg = "@tensorflow/tfjs-backend-webgpu";
  const dawn = (await import(/* @vite-ignore */ dawnPkg)) as {
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
  await import(/* @vite-ignore */ backendPkg);
  const info = adapter.info ?? {};
  return [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ") || "unknown adapter";
}

interface WebGpuAdapter {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}
