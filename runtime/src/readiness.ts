/**
 * Readiness: can this process do its job now? Each dependency gets a small check, run
 * concurrently and each bounded by a timeout, so one hung dependency answers "not ready" in
 * bounded time instead of hanging the probe. Liveness (`/health`) is separate and checks
 * nothing: a process whose database is down is alive, and restarting it would not help.
 */

/** Resolves when the dependency works; throws (or never settles) when it does not. */
export type ReadinessCheck = () => Promise<unknown>;

export interface CheckResult {
  ok: boolean;
  /** How long the check took, milliseconds (the timeout when it timed out). */
  ms: number;
  /** Why it failed: a short message, credentials in URLs removed. */
  error?: string;
}

export interface ReadinessReport {
  status: "ok" | "unavailable";
  /** The checks that failed, in the order they were listed. */
  failed: string[];
  checks: Record<string, CheckResult>;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 2_000;

/** Error text safe to show an operator's probe: one line, bounded, no `user:password@`. */
function safeMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text
    .replace(/\/\/[^/\s:@]+:[^/\s@]+@/g, "//***@")
    .replace(/\s+/g, " ")
    .slice(0, 200);
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([Promise.resolve().then(check), timeout]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - started), error: safeMessage(err) };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkReadiness(
  checks: Record<string, ReadinessCheck>,
  options: { timeoutMs?: number } = {},
): Promise<ReadinessReport> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((n) => runCheck(checks[n] as ReadinessCheck, timeoutMs)));
  const report: Record<string, CheckResult> = {};
  names.forEach((n, i) => {
    report[n] = results[i] as CheckResult;
  });
  const failed = names.filter((n) => !report[n]?.ok);
  return { status: failed.length === 0 ? "ok" : "unavailable", failed, checks: report };
}
