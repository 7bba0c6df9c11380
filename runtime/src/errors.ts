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

/** Map any thrown value to a status and a body safe to send: 5xx bodies never carry internals. */
export function toErrorResponse(e: unknown): { status: number; body: { error: { code: string; message: string } } } {
  if (isAppError(e)) {
    const safe = e.status >= 500 ? (e.code === "unavailable" ? e.message : "internal error") : e.message;
    return { status: e.status, body: { error: { code: e.code, message: safe } } };
  }
  return { status: 500, body: { error: { code: "internal", message: "internal error" } } };
}
