import { toErrorResponse } from "./errors.ts";
import type { Logger } from "./logger.ts";

interface ReplyLike {
  code(status: number): ReplyLike;
  send(body: unknown): unknown;
}

/**
 * The one place thrown errors become HTTP answers, for every Fastify app of Marquee:
 * `app.setErrorHandler(httpErrorHandler)`. 5xx are logged with their cause; 4xx are the
 * caller's problem and logged at debug.
 */
export function httpErrorHandler(error: unknown, request: { log: Logger }, reply: ReplyLike): unknown {
  const { status, body } = toErrorResponse(error);
  if (status >= 500) request.log.error({ err: error }, "request failed");
  else request.log.debug({ code: body.error.code, reason: body.error.message }, "request rejected");
  return reply.code(status).send(body);
}
