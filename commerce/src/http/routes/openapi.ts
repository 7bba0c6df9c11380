import { openApiDocument } from "../openapi.ts";
import type { RouteContext } from "../route-context.ts";

/** The OpenAPI document, generated from the routes registered before it. */
export function openApiRoutes({ app, api, base, cookie }: RouteContext): void {
  api.route(app, {
    method: "GET",
    path: "/openapi.json",
    operationId: "openApi",
    summary: "This document",
    tag: "meta",
    auth: "none",
    response: { description: "OpenAPI 3.1" },
    handler: async ({ reply }) => {
      reply.header("cache-control", "public, max-age=300");
      return openApiDocument(api.specs, { prefix: api.prefix, serverUrl: base(), cookieName: cookie.name });
    },
  });
}
