import { data } from "@remix-run/node";
import { sentence } from "./format";

/**
 * Commerce reports refusals as `AppError`s: a stable `code`, an HTTP `status` and a message
 * written to be shown. The storefront reads that shape without importing runtime code (an
 * HTTP-backed commerce client throws the same shape), so anything else stays a 500.
 */
export interface ShownError {
  code: string;
  status: number;
  message: string;
  details?: Record<string, unknown>;
}

export function appErrorOf(error: unknown): ShownError | null {
  if (!(error instanceof Error)) return null;
  const e = error as Error & { code?: unknown; status?: unknown; details?: unknown };
  if (typeof e.code !== "string" || typeof e.status !== "number") return null;
  // 5xx messages may carry internals: never shown.
  if (e.status >= 500) return null;
  return {
    code: e.code,
    status: e.status,
    message: e.message,
    ...(e.details && typeof e.details === "object" ? { details: e.details as Record<string, unknown> } : {}),
  };
}

/**
 * Runs a commerce call for an action: a refusal comes back as `{ error }` for the form to show
 * inline (with its status), anything else is rethrown for the error boundary and the log.
 */
export async function attempt<T>(
  fn: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: ShownError }> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    const shown = appErrorOf(err);
    if (!shown) throw err;
    return { ok: false, error: shown };
  }
}

/**
 * For loaders: a commerce refusal becomes an HTTP response with its status and message (for
 * the error boundary); anything else propagates as a 500.
 */
export async function orRespond<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const shown = appErrorOf(err);
    if (!shown) throw err;
    throw data(sentence(shown.message), { status: shown.status });
  }
}

/** The absolute base for URLs a payment provider sends the browser back to. */
export function publicBase(request: Request, configured: string | undefined): string {
  if (configured) return configured.replace(/\/+$/, "");
  const url = new URL(request.url);
  const proto = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim();
  return proto === "https" || proto === "http" ? `${proto}://${url.host}` : url.origin;
}
