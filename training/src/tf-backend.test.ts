import { describe, expect, it } from "vitest";
import { loadTfForDevice, parseDevice } from "./tf-backend.ts";

/** dynamic import, except for the packages a test makes missing. */
const without =
  (...missing: string[]) =>
  (pkg: string): Promise<unknown> =>
    missing.includes(pkg) ? Promise.reject(new Error(`Cannot find package '${pkg}'`)) : import(/* @vite-ignore */ pkg);

const NATIVE = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"];
const WEBGPU = ["webgpu", "@tensorflow/tfjs-backend-webgpu"];

describe("--device", () => {
  it("accepts auto, wasm, webgpu and native, and refuses anything else with the choices", () => {
    expect(parseDevice(undefined)).toBe("auto");
    for (const d of ["auto", "wasm", "webgpu", "native"]) expect(parseDevice(d)).toBe(d);
    expect(() => parseDevice("gpu")).toThrow(/--device must be one of auto, wasm, webgpu, native/);
  });

  it("webgpu without its packages falls back to wasm, saying why", async () => {
    const handle = await loadTfForDevice("webgpu", without(...NATIVE, ...WEBGPU));
    expect(handle.backend).toBe("wasm");
    expect(handle.requested).toBe("webgpu");
    expect(handle.device).toMatch(/^cpu: \d+ cores$/);
    expect(handle.tried.map((t) => t.candidate)).toEqual(["webgpu"]);
    expect(handle.tried[0]?.error).toContain("Cannot find package 'webgpu'");
    expect(handle.tf.add(handle.tf.scalar(2), handle.tf.scalar(3)).dataSync()[0]).toBe(5);
  });

  it("auto and native try native TensorFlow and WebGPU first, then run on wasm", async () => {
    for (const device of ["auto", "native"] as const) {
      const handle = await loadTfForDevice(device, without(...NATIVE, ...WEBGPU));
      expect(handle.backend).toBe("wasm");
      expect(handle.tried.map((t) => t.candidate)).toEqual([...NATIVE, "webgpu"]);
    }
  });

  it("with wasm missing too, cpu still runs", async () => {
    const handle = await loadTfForDevice("wasm", without("@tensorflow/tfjs-backend-wasm"));
    expect(handle.backend).toBe("cpu");
    expect(handle.tried.map((t) => t.candidate)).toEqual(["wasm"]);
    expect(handle.tf.add(handle.tf.scalar(2), handle.tf.scalar(3)).dataSync()[0]).toBe(5);
  });
});
