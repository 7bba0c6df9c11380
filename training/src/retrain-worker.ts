import { parentPort, workerData } from "node:worker_threads";
import { computePersonal, type PersonalInput } from "./retrain.ts";

// The personal model's fit, off the serving process's event loop (see retrainPersonal).
const port = parentPort;
if (port) {
  const out = await computePersonal(workerData as PersonalInput, (step, fields) =>
    port.postMessage({ type: "progress", step, fields }),
  );
  const transfer = Object.values(out.files).flatMap((f) => (typeof f === "string" ? [] : [f.buffer as ArrayBuffer]));
  port.postMessage({ type: "done", out }, transfer);
}
