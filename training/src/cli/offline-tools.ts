/**
 * What the offline tools (`train`, `models`, `eval`, `recommend:offline`) share: usage
 * errors, progress on stderr (stdout carries only their output) and the entry-point runner.
 */
import { MovieLensError } from "@marquee/seed";

/** Bad arguments or input the user can fix: reported without a stack, exit code 2. */
export class UsageError extends Error {}

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
