import { Readable } from "node:stream";
import type { ReadableStream as NodeWebStream } from "node:stream/web";
import { type AppLoadContext, createRequestHandler, type ServerBuild } from "@remix-run/node";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/**
 * The storefront's server adapter: hosts the Remix app inside the Fastify server that the
 * composition root builds (`cli/src/app.ts` registers it after every other route). Fastify is a
 * peer: the host brings its own instance, this file only uses its types. Every request no other
 * route claimed becomes a Fetch `Request` for Remix, and its `Response` is streamed back.
 * Bodies are passed through untouched (no parsing), so Remix's actions read form posts
 * themselves.
 */
export async function remixRoutes(
  app: FastifyInstance,
  options: { build: ServerBuild; mode: string; loadContext: (request: FastifyRequest) => AppLoadContext },
): Promise<void> {
  const handle = createRequestHandler(options.build, options.mode);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, _payload, done) => done(null));
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const response = await handle(toFetchRequest(request, reply), options.loadContext(request));
    reply.status(response.status);
    for (const [name, value] of response.headers) {
      if (name !== "set-cookie") reply.header(name, value);
    }
    const cookies = response.headers.getSetCookie();
    if (cookies.length > 0) reply.header("set-cookie", cookies);
    if (!response.body) return reply.send();
    return reply.send(Readable.fromWeb(response.body as unknown as NodeWebStream));
  };
  app.route({ method: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], url: "/*", handler });
  app.route({ method: ["GET", "HEAD", "POST"], url: "/", handler });
}

function toFetchRequest(request: FastifyRequest, reply: FastifyReply): Request {
  const origin = `${request.protocol}://${request.headers.host ?? "localhost"}`;
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const controller = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  const init: RequestInit & { duplex?: "half" } = { method: request.method, headers, signal: controller.signal };
  if (request.method !== "GET" && request.method !== "HEAD") {
    init.body = Readable.toWeb(request.raw) as unknown as ReadableStream;
    init.duplex = "half";
  }
  return new Request(new URL(request.url, origin), init);
}
