import { describeIssues, IdSchema, RowsQuerySchema } from "@marquee/contracts";
import { AppError } from "@marquee/runtime";
import type { FastifyInstance } from "fastify";
import { type AccessOptions, authorizeActor, identify } from "./access.ts";
import type { ServingApi } from "./recommender.ts";

function parseId(raw: unknown, what: string): string {
  const parsed = IdSchema.safeParse(raw);
  if (!parsed.success) throw new AppError("bad_request", `${what}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

function parseLimit(query: unknown): number {
  const parsed = RowsQuerySchema.safeParse(query ?? {});
  if (!parsed.success) throw new AppError("bad_request", describeIssues(parsed.error));
  return parsed.data.limit;
}

/**
 * GET /v1/users/{id}/rows?limit=n → `{"user_id","rows":[{"id","title","items":[{"id","score"}],"reason","model_version"}]}`
 * GET /v1/items/{id}/similar?limit=n&user_id=… → `{"item_id","items":[…],"model_version"}`
 * The id is a signed-in user's id (or profile's) or an anonymous visitor's cookie id. An
 * account's rows, and similar titles ranked with its history, need that account's session
 * (cookie or `Authorization: Bearer <token>`) or the server key (`Authorization: Bearer <key>`
 * or `x-api-key`): 401 without credentials, 403 with another account's.
 */
export async function servingRoutes(
  app: FastifyInstance,
  options: { serving: ServingApi } & AccessOptions,
): Promise<void> {
  app.get<{ Params: { id: string } }>("/v1/users/:id/rows", async (request, reply) => {
    const id = parseId(request.params.id, "user id");
    const limit = parseLimit(request.query);
    reply.header("cache-control", "private, no-store");
    const caller = await identify(request.headers, options);
    authorizeActor(caller, id, "rows");
    return options.serving.rows(id, { limit });
  });
  app.get<{ Params: { id: string }; Querystring: { user_id?: string } }>(
    "/v1/items/:id/similar",
    async (request, reply) => {
      const id = parseId(request.params.id, "item id");
      const limit = parseLimit({ limit: (request.query as { limit?: string }).limit });
      const userId = request.query.user_id === undefined ? undefined : parseId(request.query.user_id, "user_id");
      const caller = await identify(request.headers, options);
      if (userId) {
        authorizeActor(caller, userId, "similar titles");
        reply.header("cache-control", "private, no-store");
      }
      return options.serving.similar(id, { limit, ...(userId ? { actorId: userId } : {}) });
    },
  );
}
