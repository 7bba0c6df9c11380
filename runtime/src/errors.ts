/**
 * The one error type. `code` is stable and machine-readable, `message` is safe to show to a
 * caller, `retriable` tells a consumer whether trying again can help. Internals go in `cause`
 * and never into a response body.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  config: 500,
  internal: 500,
  unavailable: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { retriable?: boolean; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.retriable = options.retriable ?? code === "unavailable";
    this.details = options.details;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "payload_too_large",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported_media_type",
  FST_ERR_CTP_EMPTY_JSON_BODY: "bad_request",
  FST_ERR_CTP_INVALID_JSON_BODY: "invalid_json",
  FST_ERR_VALIDATION: "bad_request",
};

/**
 * Map any thrown value to a status and a body safe to send. Client errors raised by the HTTP
 * framework (too large, bad JSON, wrong media type) keep their message; 5xx bodies never carry
 * internals.
 */
export function toErrorResponse(e: unknown): { status: number; body: { error: { code: string; message: string } } } {
  if (isAppError(e)) {
    const safe = e.status >= 500 ? (e.code === "unavailable" ? e.message : "internal error") : e.message;
    return { status: e.status, body: { error: { code: e.code, message: safe } } };
  }
  const fx = e as { code?: unknown; statusCode?: unknown; message?: unknown; name?: unknown };
  const mapped = typeof fx?.code === "string" ? FRAMEWORK_CODES[fx.code] : undefined;
  if (mapped) {
    return { status: ERROR_STATUS[mapped], body: { error: { code: mapped, message: String(fx.message) } } };
  }
  if (fx?.name === "SyntaxError" && fx.statusCode === 400) {
    return {
      status: 400,
      body: { error: { code: "invalid_json", message: `body is not valid JSON: ${String(fx.message)}` } },
    };
  }
  if (typeof fx?.statusCode === "number" && fx.statusCode >= 400 && fx.statusCode < 500) {
    return { status: fx.statusCode, body: { error: { code: "bad_request", message: String(fx.message) } } };
  }
  if (isInvalidText(e)) {
    return {
      status: 400,
      body: {
        error: { code: "bad_request", message: "text must not contain NUL (U+0000) characters or invalid UTF-8" },
      },
    };
  }
  return { status: 500, body: { error: { code: "internal", message: "internal error" } } };
}

/**
 * Postgres refused a value as text: 22021 (invalid byte sequence, e.g. a NUL byte in a
 * parameter) or 22P05 (untranslatable character, NUL in JSON). Caller input, not a server
 * fault; inputs are checked before they get here, so this is the backstop. Drizzle wraps the
 * driver's error, so the cause chain is searched.
 */
export function isInvalidText(e: unknown, depth = 0): boolean {
  if (typeof e !== "object" || e === null || depth > 5) return false;
  const code = (e as { code?: unknown }).code;
  if (code === "22021" || code === "22P05") return true;
  return isInvalidText((e as { cause?: unknown }).cause, depth + 1);
}

/**
 * An error as it may be logged: a failed query's bound values never reach a log. Drizzle's
 * query errors say `Failed query: <sql>\nparams: <values>` and carry `params`; Postgres's own
 * errors put row values in `detail` ("Key (email)=(ada@example.com) already exists"). Those
 * are e-mails, password hashes and tokens, so they are dropped here, through the cause chain;
 * the statement (with `$1` placeholders), the SQLSTATE code and the stack are kept.
 */
export function withoutQueryValues(e: unknown, depth = 0): unknown {
  if (!(e instanceof Error) || depth > 5) return e;
  const fields = e as Error & { params?: unknown; detail?: unknown; cause?: unknown; query?: unknown };
  const hasValues =
    fields.params !== undefined ||
    fields.detail !== undefined ||
    /\nparams: /.test(e.message) ||
    fields.cause instanceof Error;
  if (!hasValues) return e;
  const message = e.message.replace(/\nparams: [\s\S]*$/, "\nparams: [redacted]");
  const copy = new Error(message) as Error & Record<string, unknown>;
  copy.name = e.name;
  copy.stack = e.stack?.replace(e.message, message);
  for (const [k, v] of Object.entries(e)) if (k !== "params" && k !== "detail" && k !== "cause") copy[k] = v;
  if (fields.cause !== undefined) copy.cause = withoutQueryValues(fields.cause, depth + 1);
  return copy;
}
