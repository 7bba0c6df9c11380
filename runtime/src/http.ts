import { toErrorResponse } from "./errors.ts";

interface RequestLike {
  log: { error(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

interface ReplyLike {
  code(status: number): ReplyLike;
  send(body: unknown): unknown;
}

/**
 * The one place thrown errors become HTTP answers, for every Fastify app of Marquee:
 * `app.setErrorHandler(httpErrorHandler)`. 5xx are logged with their cause; 4xx are the
 * caller's problem and logged at debug.
 */
export function httpErrorHandler(error: unknown, request: RequestLike, reply: ReplyLike): unknown {
  const { status, body } = toErrorResponse(error);
  if (status >= 500) request.log.error({ err: error }, "request failed");
  else request.log.debug({ code: body.error.code, reason: body.error.message }, "request rejected");
  return reply.code(status).send(body);
}
