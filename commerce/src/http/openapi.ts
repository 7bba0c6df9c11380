import { ID_PATTERN } from "@marquee/contracts";
import { z } from "zod";
import type { RouteSpec } from "./api-router.ts";

type JsonSchema = Record<string, unknown>;

const STATUS_TEXT: Record<number, string> = {
  400: "Bad input: the message says which field and why",
  401: "Not signed in, or the session is unknown or expired",
  403: "Not allowed: wrong role, missing purchase PIN, or a cookie request without its CSRF token",
  404: "No such thing, or not visible to this profile (age limit, another seller's)",
  409: "Conflicts with the current state (already owned, already refunded, wrong status)",
  429: "Too many failed sign-ins: wait the Retry-After seconds",
};

/** JSON Schema (2020-12, what OpenAPI 3.1 speaks) of what a client sends: the schema's input side. */
export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  return rest;
}

/** Fastify's `/titles/:id` → OpenAPI's `/titles/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

function security(spec: RouteSpec): Record<string, string[]>[] {
  if (spec.auth === "none") return [];
  const unsafe = spec.method !== "GET";
  const schemes: Record<string, string[]>[] = [
    { bearerAuth: [] },
    unsafe ? { sessionCookie: [], csrfToken: [] } : { sessionCookie: [] },
  ];
  return spec.auth === "optional" ? [{}, ...schemes] : schemes;
}

function operation(spec: RouteSpec): JsonSchema {
  const params = [...spec.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string", pattern: ID_PATTERN.source },
  }));
  if (spec.query) {
    const q = jsonSchemaOf(spec.query) as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, schema] of Object.entries(q.properties ?? {})) {
      const { description, ...rest } = schema;
      params.push({
        name,
        in: "query",
        required: q.required?.includes(name) ?? false,
        schema: rest as never,
        ...(description ? { description } : {}),
      });
    }
  }
  const status = spec.response.status ?? 200;
  const contentType = spec.response.contentType ?? "application/json";
  const errors = new Set(spec.errors ?? []);
  if (params.length > 0 || spec.body || spec.rawBody) errors.add(400);
  if (spec.auth !== "none") errors.add(401);
  if (spec.auth !== "none" && spec.method !== "GET") errors.add(403);
  if (spec.role) errors.add(403);
  const responses: JsonSchema = {
    [String(status)]: {
      description: spec.response.description,
      ...(status !== 204
        ? {
            content: {
              [contentType]: { schema: spec.response.schema ? jsonSchemaOf(spec.response.schema) : { type: "object" } },
            },
          }
        : {}),
    },
  };
  for (const code of [...errors].sort()) responses[String(code)] = { $ref: `#/components/responses/E${code}` };
  responses.default = { $ref: "#/components/responses/Error" };
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description || spec.role
      ? {
          description: [spec.description, spec.role ? `Needs the ${spec.role} role.` : ""].filter(Boolean).join("\n\n"),
        }
      : {}),
    tags: [spec.tag],
    security: security(spec),
    ...(spec.role ? { "x-marquee-role": spec.role } : {}),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(spec.body
      ? {
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: jsonSchemaOf(spec.body) },
              "application/x-www-form-urlencoded": { schema: jsonSchemaOf(spec.body) },
            },
          },
        }
      : {}),
    ...(spec.rawBody
      ? {
          requestBody: {
            required: true,
            description: "The provider's event, byte for byte: the signature covers the raw body.",
            content: { "application/json": { schema: { type: "object" } } },
          },
        }
      : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of every route in `specs`. */
export function openApiDocument(
  specs: readonly RouteSpec[],
  options: { prefix: string; serverUrl: string; cookieName: string; version?: string },
): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const spec of specs) {
    const key = openApiPath(options.prefix + spec.path);
    paths[key] ??= {};
    paths[key][spec.method.toLowerCase()] = operation(spec);
  }
  const errorBody = {
    type: "object",
    required: ["error"],
    properties: {
      error: {
        type: "object",
        required: ["code", "message"],
        properties: {
          code: { type: "string", description: "Stable, machine-readable: bad_request, unauthorized, …" },
          message: { type: "string", description: "Safe to show to the person using the app" },
        },
      },
    },
  };
  const errorResponse = (description: string) => ({
    description,
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  });
  return {
    openapi: "3.1.0",
    info: {
      title: "Marquee store API",
      version: options.version ?? "1.0.0",
      description: [
        "Catalogue, search, library, checkout and playback authorisation for mobile and TV apps and other clients.",
        "Apps sign in with `POST /api/v1/auth/signin` and send the returned token as `Authorization: Bearer <token>`.",
        `Browsers use the session cookie (\`${options.cookieName}\`) instead; then every POST, PUT and DELETE must also carry the session's \`csrf_token\` in the \`x-csrf-token\` header (or a \`_csrf\` form field). Bearer requests need no CSRF token.`,
        "Catalogue answers are filtered by the signed-in profile's age limit and the account's region; a title a profile may not see answers 404, as if it did not exist.",
        "Money is in minor units (cents) with an ISO 4217 currency.",
      ].join("\n\n"),
    },
    servers: [{ url: options.serverUrl }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description: "The `token` from /auth/signin or /auth/signup (30 days; rotated at each sign-in).",
        },
        sessionCookie: {
          type: "apiKey",
          in: "cookie",
          name: options.cookieName,
          description: "Browser session: HttpOnly, SameSite=Lax, set by /auth/signin and /auth/signup.",
        },
        csrfToken: {
          type: "apiKey",
          in: "header",
          name: "x-csrf-token",
          description: "The session's `csrf_token`, required with the cookie on POST, PUT and DELETE.",
        },
      },
      schemas: { Error: errorBody },
      responses: {
        ...Object.fromEntries(Object.entries(STATUS_TEXT).map(([code, text]) => [`E${code}`, errorResponse(text)])),
        Error: errorResponse("Any other failure; 5xx bodies never carry internals"),
      },
    },
  };
}
