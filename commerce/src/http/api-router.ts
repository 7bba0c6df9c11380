import { IdSchema } from "@marquee/contracts";
import { AppError } from "@marquee/runtime";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import { firstIssue, type Viewer } from "../accounts.ts";

/**
 * How a route authenticates: `none` never looks at credentials; `optional` serves anonymous
 * callers too (a credential that is presented must be valid); `viewer` needs a signed-in viewer.
 */
export type AuthLevel = "none" | "optional" | "viewer";
export type Method = "GET" | "POST" | "PUT" | "DELETE";

/** Who is calling and how they proved it. Bearer requests carry no ambient credential. */
export interface Auth {
  viewer: Viewer | null;
  token: string | null;
  via: "bearer" | "cookie" | null;
}

export const ANONYMOUS: Auth = Object.freeze({ viewer: null, token: null, via: null });

/** What a handler receives: checked credentials, validated params, query and body. */
export interface Call<A extends AuthLevel, B, Q> {
  request: FastifyRequest;
  reply: FastifyReply;
  auth: Auth;
  viewer: A extends "viewer" ? Viewer : Viewer | null;
  body: B;
  query: Q;
  /** A path parameter, already checked against contracts' IdSchema. */
  param(name: string): string;
}

export interface RouteSpec<
  A extends AuthLevel = AuthLevel,
  BS extends z.ZodType = z.ZodType,
  QS extends z.ZodType = z.ZodType,
> {
  method: Method;
  /** Below the API prefix, Fastify syntax (`/titles/:id`); every parameter is an id. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  auth: A;
  /** The role the commerce layer checks, for the document (the check itself is not here). */
  role?: "seller" | "admin";
  body?: BS;
  query?: QS;
  /** Keep the body as the raw bytes (a Buffer) for signature checks: not parsed, not validated. */
  rawBody?: boolean;
  /**
   * What a 2xx answer looks like. The schema documents it and, with `validateResponses`, is
   * checked against every answer; views build answers typed by the same schemas (see views.ts).
   */
  response: { status?: number; description: string; schema?: z.ZodType; contentType?: string };
  /** Error statuses worth documenting beyond those implied by auth and validation. */
  errors?: number[];
  handler(call: Call<A, z.output<BS>, z.output<QS>>): Promise<unknown>;
}

/** What a resource's routes share: written once in its group, not in every spec. */
export type RouteDefaults<A extends AuthLevel> = Pick<RouteSpec<A>, "tag" | "auth" | "role">;

/** A route of a group: its spec without what the group supplies. */
export type GroupRouteSpec<A extends AuthLevel, BS extends z.ZodType, QS extends z.ZodType> = Omit<
  RouteSpec<A, BS, QS>,
  keyof RouteDefaults<A>
>;

/** The API's own checks, applied to every route before its handler (see api.ts). */
export interface Guard {
  /** Resolve the caller; a presented credential that is unknown or expired is a 401. */
  authenticate(request: FastifyRequest, reply: FastifyReply): Promise<Auth>;
  /** CSRF and cross-site checks for POST, PUT and DELETE. */
  checkUnsafe(request: FastifyRequest, auth: Auth): void;
}

/**
 * Registers routes and remembers their specs, so the OpenAPI document is generated from the
 * very table that serves the requests and cannot drift from it.
 */
export class ApiRouter {
  readonly specs: RouteSpec[] = [];

  constructor(
    readonly prefix: string,
    private readonly guard: Guard,
    private readonly options: { validateResponses?: boolean } = {},
  ) {}

  /**
   * A registrar for one resource's routes that share a tag, an auth level and a role (the admin's
   * review routes, the seller's): each route is registered exactly as if its spec said them.
   */
  group<A extends AuthLevel>(
    app: FastifyInstance,
    defaults: RouteDefaults<A>,
  ): <BS extends z.ZodType = z.ZodUnknown, QS extends z.ZodType = z.ZodUnknown>(
    spec: GroupRouteSpec<A, BS, QS>,
  ) => void {
    return (spec) => this.route(app, { ...defaults, ...spec });
  }

  route<A extends AuthLevel, BS extends z.ZodType = z.ZodUnknown, QS extends z.ZodType = z.ZodUnknown>(
    app: FastifyInstance,
    spec: RouteSpec<A, BS, QS>,
  ): void {
    this.specs.push(spec as unknown as RouteSpec);
    app.route({
      method: spec.method,
      url: this.prefix + spec.path,
      handler: async (request, reply) => {
        const auth = spec.auth === "none" ? ANONYMOUS : await this.guard.authenticate(request, reply);
        if (spec.auth === "viewer" && !auth.viewer)
          throw new AppError(
            "unauthorized",
            "sign in first: send `Authorization: Bearer <token>` or the session cookie",
          );
        if (spec.method !== "GET") this.guard.checkUnsafe(request, auth);
        const params = parseParams(request.params);
        const query = spec.query ? validate(spec.query, request.query ?? {}, "query") : request.query;
        const body = spec.rawBody
          ? request.body
          : spec.body
            ? validate(spec.body, request.body ?? {}, "body")
            : undefined;
        const result = await spec.handler({
          request,
          reply,
          auth,
          viewer: auth.viewer as A extends "viewer" ? Viewer : Viewer | null,
          body: body as z.output<BS>,
          query: query as z.output<QS>,
          param(name) {
            const v = params[name];
            if (v === undefined) throw new AppError("internal", `route ${spec.operationId} has no parameter ${name}`);
            return v;
          },
        });
        if (reply.sent) return reply;
        const status = spec.response.status ?? 200;
        if (result === undefined) return reply.code(status).send();
        if (this.options.validateResponses && spec.response.schema) checkResponse(spec, result);
        return reply.code(status).send(result);
      },
    });
  }
}

function parseParams(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
    const parsed = IdSchema.safeParse(value);
    if (!parsed.success) throw new AppError("bad_request", `${name}: ${firstIssue(parsed.error)}`);
    out[name] = parsed.data;
  }
  return out;
}

function validate<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  if (where === "body" && (typeof value !== "object" || value === null || Buffer.isBuffer(value)))
    throw new AppError("bad_request", "body must be a JSON object");
  const nul = nulAt(value, where);
  if (nul) throw new AppError("bad_request", `${nul}: must not contain NUL (U+0000) characters`);
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new AppError("bad_request", `${where}: ${firstIssue(parsed.error)}`);
  return parsed.data;
}

/**
 * Where the first string holding U+0000 is (`body.title`), or null. Postgres text cannot store
 * NUL, so it would fail deep in a query as a 500; no field of this API has a use for it.
 */
export function nulAt(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === "string") return value.includes("\u0000") ? path : null;
  if (typeof value !== "object" || value === null || depth > 20) return null;
  for (const [k, v] of Object.entries(value)) {
    if (k.includes("\u0000")) return path;
    const found = nulAt(v, `${path}.${k}`, depth + 1);
    if (found) return found;
  }
  return null;
}

/** The answer as a client will parse it (after JSON), held to the route's documented schema. */
function checkResponse(spec: RouteSpec, result: unknown) {
  const parsed = spec.response.schema?.safeParse(JSON.parse(JSON.stringify(result)));
  if (parsed && !parsed.success)
    throw new AppError(
      "internal",
      `the answer of ${spec.operationId} does not match its schema: ${firstIssue(parsed.error)}`,
    );
}
