/**
 * What the offline tools (`train`, `models`, `eval`, `recommend:offline`) share: usage
 * errors, progress on stderr (stdout carries only their output) and the entry-point runner.
 */
import { MovieLensError } from "@marquee/seed";
import { parseDevice } from "../tf-backend.ts";

/** Bad arguments or input the user can fix: reported without a stack, exit code 2. */
export class UsageError extends Error {}

/** `--device`, parsed; a value that names no device is the user's to fix (exit 2, the choices listed). */
export function deviceArg(value: string | undefined): ReturnType<typeof parseDevice> {
  try {
    return parseDevice(value);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** stderr progress for the offline tools: stdout carries only their output. */
export function progress(msg: string, fields: Record<string, unknown> = {}): void {
  const extra = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === "number" ? Math.round(v * 1000) / 1000 : JSON.stringify(v)}`)
    .join(" ");
  process.stderr.write(`[${new Date().toISOString()}] ${msg}${extra ? ` ${extra}` : ""}\n`);
}

/** Runs an entry script's main with the offline tools' error handling (usage/input errors: exit 2). */
export function runMain(main: (argv: string[]) => Promise<void>): void {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      if (err instanceof MovieLensError || err instanceof UsageError) {
        process.stderr.write(`error: ${err.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`error: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
