import swagger from "@fastify/swagger";
import {
  AudienceQuerySchema,
  describeIssues,
  ErrorBodySchema,
  IdSchema,
  PopularQuerySchema,
  PopularResponseSchema,
  RecommendationsQuerySchema,
  RecommendationsResponseSchema,
  RowsQuerySchema,
  RowsResponseSchema,
  SessionRecommendationsBodySchema,
  SessionRecommendationsResponseSchema,
  SimilarQuerySchema,
  SimilarResponseSchema,
  type ViewerAudience,
} from "@marquee/contracts";
import { AppError } from "@marquee/runtime";
import type { FastifyInstance, FastifySchema } from "fastify";
import { z } from "zod";
import { type AccessOptions, authorizeActor, authorizeCatalog, effectiveAudience } from "./access.ts";
import { callerOf } from "./client-access.ts";
import type { ServingApi } from "./recommender.ts";

/** The API's version, in the document and the paths (`/v1/…`). */
export const SERVING_API_VERSION = "1.0.0";

/**
 * A zod schema as JSON Schema (draft-07, which Fastify's validator speaks and OpenAPI 3.1
 * accepts): requests as sent (`input`: "20", not 20, for a query's k), responses as produced.
 */
function json(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, {
    target: "draft-7",
    io,
    unrepresentable: "any",
  }) as Record<string, unknown>;
  return rest;
}

const error = (description: string) => ({ description, ...json(ErrorBodySchema, "output") });
const ERRORS = {
  400: error("A parameter is missing or out of range; the message says which"),
  401: error("An account's data without credentials, or credentials that are not valid"),
  403: error("Credentials that may not read this account's data, or lack the scope"),
  429: error("Too many requests for this key or address; see Retry-After"),
  503: error("Models are still loading; retry shortly"),
};
const userParams = json(
  z.object({ id: IdSchema.describe("an account's or profile's id, or an anonymous visitor's") }),
  "input",
);
const itemParams = json(z.object({ id: IdSchema.describe("a title's id") }), "input");

const ROUTE_SCHEMAS = {
  rows: {
    summary: "The home page's rows for a viewer",
    description:
      "Continue watching, Top picks for you, Because you watched X (for the latest titles), Trending now, New releases and genre rows; no title in two rows; each item with a reason, each row with its model version and experiment variant. A viewer the models have never seen gets popular and genre rows.",
    tags: ["rows"],
    params: userParams,
    querystring: json(RowsQuerySchema.extend(AudienceQuerySchema.shape), "input"),
    response: { 200: json(RowsResponseSchema, "output"), ...ERRORS },
  },
  recommendations: {
    summary: "A viewer's personal ranking over the whole catalogue",
    tags: ["recommendations"],
    params: userParams,
    querystring: json(RecommendationsQuerySchema, "input"),
    response: { 200: json(RecommendationsResponseSchema, "output"), ...ERRORS },
  },
  similar: {
    summary: "Titles like this one (More like this)",
    description: "With user_id, titles the viewer turned down are left out (and, with exclude_owned, titles they own).",
    tags: ["items"],
    params: itemParams,
    querystring: json(
      SimilarQuerySchema.extend({ exclude_owned: RecommendationsQuerySchema.shape.exclude_owned }),
      "input",
    ),
    response: { 200: json(SimilarResponseSchema, "output"), ...ERRORS },
  },
  session: {
    summary: "Recommendations for an anonymous session",
    description: "From the titles viewed in this session (oldest first): no account and no stored history needed.",
    tags: ["recommendations"],
    body: json(SessionRecommendationsBodySchema, "input"),
    response: { 200: json(SessionRecommendationsResponseSchema, "output"), ...ERRORS },
  },
  popular: {
    summary: "Popular titles, optionally in one genre",
    description:
      "window=day ranks by short-term popularity (3-day half-life, most weight on the last day or two); window=week by longer-term popularity.",
    tags: ["popular"],
    querystring: json(PopularQuerySchema, "input"),
    response: { 200: json(PopularResponseSchema, "output"), ...ERRORS },
  },
} satisfies Record<string, FastifySchema & Record<string, unknown>>;

/** The validated request in zod's terms (defaults, transforms); a failure is the caller's 400. */
function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new AppError("bad_request", describeIssues(parsed.error));
  return parsed.data;
}

/** The audience a query asks for (already validated), as serving takes it. */
function audienceOf(q: { max_age_rating?: string | undefined; region?: string | undefined }): ViewerAudience {
  return {
    ...(q.max_age_rating ? { maxAgeRating: q.max_age_rating } : {}),
    ...(q.region ? { region: q.region } : {}),
  };
}

/**
 * The serving API, v1, with its OpenAPI 3.1 document at `GET /v1/openapi.json` (generated from
 * these route schemas, which also validate every request: a bad parameter is a 400 naming it):
 *  - GET  /v1/users/{id}/rows?limit=&max_age_rating=&region=
 *  - GET  /v1/users/{id}/recommendations?k=&genre=&exclude_owned=
 *  - GET  /v1/items/{id}/similar?k=&user_id=&exclude_owned=
 *  - POST /v1/sessions/recommendations  {item_ids, k, exclude_item_ids, not_interested_ids, genre}
 *  - GET  /v1/popular?genre=&window=day|week&k=
 * The id is a signed-in user's id (or profile's) or an anonymous visitor's cookie id. An
 * account's data needs that account's session (cookie or `Authorization: Bearer <token>`) or
 * the server key: 401 without credentials, 403 with another account's. `max_age_rating` and
 * `region` say whom to rank for; a signed-in profile's own limit always applies on top.
 */
export async function servingRoutes(
  app: FastifyInstance,
  options: { serving: ServingApi } & AccessOptions,
): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Marquee serving API",
        version: SERVING_API_VERSION,
        description:
          'Personalised rows and rankings for the Marquee store and other clients (apps, TVs, partner sites). Errors are `{"error":{"code","message"}}`.',
      },
      components: {
        securitySchemes: {
          session: { type: "http", scheme: "bearer", description: "a commerce session token, or the session cookie" },
          apiKey: { type: "apiKey", in: "header", name: "x-api-key" },
        },
      },
      security: [{}, { session: [] }, { apiKey: [] }],
    },
  });
  // A 401 says how to authenticate (RFC 9110): the session cookie or a bearer token.
  app.addHook("onSend", async (_request, reply, payload) => {
    if (reply.statusCode === 401) reply.header("www-authenticate", 'Bearer realm="marquee"');
    return payload;
  });

  app.get("/v1/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  app.get<{ Params: { id: string } }>("/v1/users/:id/rows", { schema: ROUTE_SCHEMAS.rows }, async (request, reply) => {
    const id = request.params.id;
    const q = parse(RowsQuerySchema.extend(AudienceQuerySchema.shape), request.query);
    reply.header("cache-control", "private, no-store");
    const caller = await callerOf(request, options);
    authorizeActor(caller, id, "rows");
    return options.serving.rows(id, { limit: q.limit, audience: effectiveAudience(caller, audienceOf(q)) });
  });

  app.get<{ Params: { id: string } }>(
    "/v1/users/:id/recommendations",
    { schema: ROUTE_SCHEMAS.recommendations },
    async (request, reply) => {
      const id = request.params.id;
      const q = parse(RecommendationsQuerySchema, request.query);
      reply.header("cache-control", "private, no-store");
      const caller = await callerOf(request, options);
      authorizeActor(caller, id, "recommendations");
      return options.serving.recommendations(id, {
        k: q.k,
        ...(q.genre ? { genre: q.genre } : {}),
        excludeOwned: q.exclude_owned,
        audience: effectiveAudience(caller, audienceOf(q)),
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/items/:id/similar",
    { schema: ROUTE_SCHEMAS.similar },
    async (request, reply) => {
      const q = parse(
        SimilarQuerySchema.extend({ exclude_owned: RecommendationsQuerySchema.shape.exclude_owned }),
        request.query,
      );
      const caller = await callerOf(request, options);
      if (q.user_id) {
        authorizeActor(caller, q.user_id, "similar titles");
        reply.header("cache-control", "private, no-store");
      } else authorizeCatalog(caller, "similar titles");
      return options.serving.similar(request.params.id, {
        limit: q.k ?? q.limit ?? 20,
        audience: effectiveAudience(caller, audienceOf(q)),
        ...(q.user_id ? { actorId: q.user_id, excludeOwned: q.exclude_owned } : {}),
      });
    },
  );

  app.post("/v1/sessions/recommendations", { schema: ROUTE_SCHEMAS.session }, async (request, reply) => {
    const body = parse(SessionRecommendationsBodySchema, request.body);
    reply.header("cache-control", "no-store");
    const caller = await callerOf(request, options);
    authorizeCatalog(caller, "session recommendations");
    return options.serving.sessionRecommendations({
      itemIds: body.item_ids,
      excludeItemIds: body.exclude_item_ids,
      notInterestedIds: body.not_interested_ids,
      k: body.k,
      ...(body.genre ? { genre: body.genre } : {}),
      audience: effectiveAudience(caller, audienceOf(body)),
    });
  });

  app.get("/v1/popular", { schema: ROUTE_SCHEMAS.popular }, async (request, reply) => {
    const q = parse(PopularQuerySchema, request.query);
    const caller = await callerOf(request, options);
    authorizeCatalog(caller, "popular titles");
    // The same for everyone with one audience: shared caches may keep it briefly.
    if (caller.kind === "anonymous") reply.header("cache-control", "public, max-age=30");
    return options.serving.popular({
      k: q.k,
      window: q.window,
      ...(q.genre ? { genre: q.genre } : {}),
      audience: effectiveAudience(caller, audienceOf(q)),
    });
  });
}
