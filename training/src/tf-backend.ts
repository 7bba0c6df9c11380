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
 * first: @tensorflow/tfjs-node-gpu → @tensorflow/tfjs-node → wasm → cpu. The native packages
 * are optional (their install downloads libtensorflow): each is imported dynamically and a
 * failure just moves on. Kernels a backend lacks are registered before first use.
 * `MARQUEE_TF_BACKEND=wasm|cpu` (read by the caller and passed as `prefer`) skips the rest.
 */
export function loadTf(options: { prefer?: "native" | "wasm" | "cpu" } = {}): Promise<TfHandle> {
  chosen ??= choose(options.prefer ?? "native");
  return chosen;
}

async function choose(prefer: "native" | "wasm" | "cpu"): Promise<TfHandle> {
  const tried: TfHandle["tried"] = [];
  const order = (["native", "wasm", "cpu"] as const).slice(["native", "wasm", "cpu"].indexOf(prefer));
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
        tried.push({
          candidate: pkg,
          error: err instanceof Error ? (err.message.split("\n")[0] as string) : String(err),
        });
      }
    }
  }
  const tf = (await import("@tensorflow/tfjs-core")) as Tf;
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
