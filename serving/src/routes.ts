import {
  AudienceQuerySchema,
  describeIssues,
  IdSchema,
  RowsQuerySchema,
  type ViewerAudience,
} from "@marquee/contracts";
import { AppError } from "@marquee/runtime";
import type { FastifyInstance } from "fastify";
import { type AccessOptions, authorizeActor, effectiveAudience, identify } from "./access.ts";
import type { ServingApi } from "./recommender.ts";

function parseId(raw: unknown, what: string): string {
  const parsed = IdSchema.safeParse(raw);
  if (!parsed.success) throw new AppError("bad_request", `${what}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** `max_age_rating` and `region` from the query: whom a trusted caller ranks for. */
function parseAudience(query: unknown): ViewerAudience {
  const q = (query ?? {}) as Record<string, unknown>;
  const parsed = AudienceQuerySchema.safeParse({ max_age_rating: q.max_age_rating, region: q.region });
  if (!parsed.success) throw new AppError("bad_request", describeIssues(parsed.error));
  return {
    ...(parsed.data.max_age_rating ? { maxAgeRating: parsed.data.max_age_rating } : {}),
    ...(parsed.data.region ? { region: parsed.data.region } : {}),
  };
}

function parseLimit(query: unknown): number {
  const parsed = RowsQuerySchema.safeParse(query ?? {});
  if (!parsed.success) throw new AppError("bad_request", describeIssues(parsed.error));
  return parsed.data.limit;
}

/**
 * GET /v1/users/{id}/rows?limit=n&max_age_rating=PG&region=US → `{"user_id","rows":[{"id","title","items":[{"id","score"}],"reason","model_version"}]}`
 * GET /v1/items/{id}/similar?limit=n&user_id=… → `{"item_id","items":[…],"model_version"}`
 * The id is a signed-in user's id (or profile's) or an anonymous visitor's cookie id. An
 * account's rows, and similar titles ranked with its history, need that account's session
 * (cookie or `Authorization: Bearer <token>`) or the server key (`Authorization: Bearer <key>`
 * or `x-api-key`): 401 without credentials, 403 with another account's. `max_age_rating` and
 * `region` say whom to rank for; a signed-in profile's own limit always applies on top.
 */
export async function servingRoutes(
  app: FastifyInstance,
  options: { serving: ServingApi } & AccessOptions,
): Promise<void> {
  // A 401 says how to authenticate (RFC 9110): the session cookie or a bearer token.
  app.addHook("onSend", async (_request, reply, payload) => {
    if (reply.statusCode === 401) reply.header("www-authenticate", 'Bearer realm="marquee"');
    return payload;
  });
  app.get<{ Params: { id: string } }>("/v1/users/:id/rows", async (request, reply) => {
    const id = parseId(request.params.id, "user id");
    const limit = parseLimit({ limit: (request.query as { limit?: string }).limit });
    const asked = parseAudience(request.query);
    reply.header("cache-control", "private, no-store");
    const caller = await identify(request.headers, options);
    authorizeActor(caller, id, "rows");
    return options.serving.rows(id, { limit, audience: effectiveAudience(caller, asked) });
  });
  app.get<{ Params: { id: string }; Querystring: { user_id?: string } }>(
    "/v1/items/:id/similar",
    async (request, reply) => {
      const id = parseId(request.params.id, "item id");
      const limit = parseLimit({ limit: (request.query as { limit?: string }).limit });
      const userId = request.query.user_id === undefined ? undefined : parseId(request.query.user_id, "user_id");
      const asked = parseAudience(request.query);
      const caller = await identify(request.headers, options);
      if (userId) {
        authorizeActor(caller, userId, "similar titles");
        reply.header("cache-control", "private, no-store");
      }
      const audience = effectiveAudience(caller, asked);
      return options.serving.similar(id, { limit, audience, ...(userId ? { actorId: userId } : {}) });
    },
  );
}
