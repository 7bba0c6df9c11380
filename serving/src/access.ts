import { timingSafeEqual } from "node:crypto";
import { isAccountId, type ViewerAudience } from "@marquee/contracts";
import { AppError } from "@marquee/runtime";
import { stricterLimit } from "./audience.ts";

/**
 * What a viewer's credentials prove: the actor ids (the account and its profiles) whose rows
 * they may read, and the audience the signed-in profile is limited to.
 */
export interface ViewerGrant {
  actorIds: readonly string[];
  audience: ViewerAudience;
}

/**
 * Maps a request's credentials to a viewer, or null when they prove nothing (no session, an
 * expired or unknown one). Injected by the composition root, so serving never imports commerce.
 * `bearer` is an `Authorization: Bearer` token that is not the server key; `cookie` the raw
 * Cookie header (the authenticator knows which cookie is the session).
 */
export type ServingAuthenticator = (credentials: {
  bearer: string | null;
  cookie: string | undefined;
}) => Promise<ViewerGrant | null>;

/**
 * What a client API key may do (api-keys.ts stores them; `marquee api-keys create --scopes`):
 *  - `catalog:read`: what is the same for everyone or belongs to nobody: popular titles,
 *    similar titles without a user, anonymous session recommendations, and anonymous visitors'
 *    (`a_…`) rows and recommendations;
 *  - `users:read`: any account's or profile's rows, recommendations and similar titles (a
 *    partner's backend, trusted with every viewer's data). An app acting for a viewer needs
 *    only `catalog:read` plus that viewer's own session (bearer token) beside the key.
 */
export const API_KEY_SCOPES = {
  "catalog:read": "popular, similar titles, anonymous session recommendations, anonymous visitors' rows",
  "users:read": "any account's or profile's rows, recommendations and similar titles",
} as const;
export type ApiKeyScope = keyof typeof API_KEY_SCOPES;

/** An active client key, as the cache holds it (never its secret). */
export interface ClientKey {
  keyId: string;
  name: string;
  scopes: readonly ApiKeyScope[];
  rateLimitPerMinute: number;
  /** Browser origins allowed to use it; empty: servers only (any Origin header is refused). */
  corsOrigins: readonly string[];
}

export type ApiKeyCheck =
  | { status: "ok"; key: ClientKey }
  | { status: "unknown" }
  | { status: "revoked"; keyId: string };

/** Checks a presented client key (api-keys.ts's ApiKeyCache: in memory, no query per request). */
export interface ApiKeyVerifier {
  verify(token: string): Promise<ApiKeyCheck>;
}

export interface AccessOptions {
  authenticate?: ServingAuthenticator;
  /** The server key (SERVING_API_KEY) trusted backends send; reads any actor's rows. */
  apiKey?: string | undefined;
  /** Client API keys (`mq_…`); unset: a client key is refused as unknown. */
  keys?: ApiKeyVerifier | undefined;
  /**
   * Refuse callers with no credentials at all (401): every client then needs a key, the server
   * key or a viewer's session. Off by default: anonymous visitors' ids are unguessable.
   */
  requireCredentials?: boolean | undefined;
}

/**
 * Who is asking: a trusted backend (the server key, or the storefront in-process), another
 * client by its API key (with, when it sent one, the session of the viewer it acts for), a
 * signed-in viewer, or nobody in particular.
 */
export type Caller =
  | { kind: "server" }
  | ({ kind: "client"; viewer: ViewerGrant | null } & ClientKey)
  | { kind: "viewer"; grant: ViewerGrant }
  | { kind: "anonymous" };

/** `mq_` + 16 hex (the key's id) + `_` + 43 base64url (256 bits): never the shape of a session token. */
const CLIENT_KEY = /^mq_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** The id and secret of a client key's text, or null when it is not one. */
export function parseClientKey(token: string): { keyId: string; secret: string } | null {
  const m = CLIENT_KEY.exec(token);
  return m ? { keyId: m[1] as string, secret: m[2] as string } : null;
}

const BEARER = /^Bearer +(\S{1,512}) *$/i;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Identify the caller. Credentials that are present but wrong are refused (401) rather than
 * ignored, so a client with a broken token learns it; a stale session cookie alone is not an
 * error (the browser of a signed-out visitor still sends it), it just proves nothing. A client
 * key goes in `x-api-key` or as `Authorization: Bearer mq_…`; with the key in `x-api-key`, the
 * bearer token may be the session of the viewer the client acts for.
 */
export async function identify(
  headers: Record<string, string | string[] | undefined>,
  options: AccessOptions,
): Promise<Caller> {
  const header = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const apiKey = header("x-api-key");
  if (apiKey !== undefined && options.apiKey && sameSecret(apiKey, options.apiKey)) return { kind: "server" };
  const authorization = header("authorization");
  let bearer: string | null = null;
  if (authorization !== undefined) {
    bearer = BEARER.exec(authorization)?.[1] ?? null;
    if (!bearer) throw new AppError("unauthorized", "Authorization must be `Bearer <token>`");
    if (options.apiKey && sameSecret(bearer, options.apiKey)) return { kind: "server" };
  }
  let client: ClientKey | null = null;
  const keyText = apiKey ?? (bearer && parseClientKey(bearer) ? bearer : undefined);
  if (keyText !== undefined) {
    const check = parseClientKey(keyText) && options.keys ? await options.keys.verify(keyText) : null;
    if (!check || check.status === "unknown")
      throw new AppError("unauthorized", "this API key is not known here: check that it was copied whole");
    if (check.status === "revoked") throw new AppError("forbidden", "this API key was revoked");
    client = check.key;
    if (keyText === bearer) bearer = null;
  }
  const cookie = header("cookie");
  let grant: ViewerGrant | null = null;
  if (options.authenticate && (bearer || cookie)) {
    try {
      grant = await options.authenticate({ bearer, cookie });
    } catch (cause) {
      throw new AppError("unavailable", "sign-in could not be checked; retry shortly", { cause });
    }
  }
  if (client) {
    if (bearer && !grant)
      throw new AppError("unauthorized", "the bearer token is not a valid session: sign the viewer in again");
    return { kind: "client", ...client, viewer: grant };
  }
  if (grant) return { kind: "viewer", grant };
  if (bearer) throw new AppError("unauthorized", "the bearer token is not a valid session: sign in again");
  if (options.requireCredentials)
    throw new AppError(
      "unauthorized",
      "this API needs an API key: send `x-api-key: mq_…` (or `Authorization: Bearer mq_…`), or a signed-in session",
    );
  return { kind: "anonymous" };
}

/** A client key lacking `scope` is refused (403), naming it; other callers pass. */
export function requireScope(caller: Caller, scope: ApiKeyScope, what: string): void {
  if (caller.kind === "client" && !caller.scopes.includes(scope))
    throw new AppError("forbidden", `this API key lacks the scope ${scope}, which ${what} need`);
}

/**
 * May `caller` read what belongs to nobody (popular, similar titles without a user, session
 * recommendations)? Everyone may, except a client key without `catalog:read`.
 */
export function authorizeCatalog(caller: Caller, what = "catalog reads"): void {
  requireScope(caller, "catalog:read", what);
}

/**
 * May `caller` read `actorId`'s rows? Anonymous ids are open (they are random, ~103 bits, and
 * only their holder knows them); an account's or profile's id needs that account's
 * credentials or the server key. A client key needs `catalog:read` for anonymous ids and
 * `users:read` for accounts, unless it came with the session of the very account asked for.
 */
export function authorizeActor(caller: Caller, actorId: string, what = "rows"): void {
  if (caller.kind === "server") return;
  if (caller.kind === "client") {
    if (!isAccountId(actorId)) {
      requireScope(caller, "catalog:read", `anonymous visitors' ${what}`);
      return;
    }
    // The viewer's own session beside the key proves this account; otherwise the key must be
    // trusted with every account's data.
    if (caller.viewer?.actorIds.includes(actorId)) return;
    if (caller.viewer && !caller.scopes.includes("users:read"))
      throw new AppError("forbidden", `these credentials may not read another account's ${what}`);
    requireScope(caller, "users:read", `an account's ${what}`);
    return;
  }
  if (!isAccountId(actorId)) return;
  if (caller.kind === "anonymous")
    throw new AppError(
      "unauthorized",
      `${what} of an account need its session: send the session cookie or \`Authorization: Bearer <token>\``,
    );
  if (!caller.grant.actorIds.includes(actorId))
    throw new AppError("forbidden", `these credentials may not read another account's ${what}`);
}

/**
 * The audience a response is ranked for: what the caller asked for, but never looser than the
 * signed-in profile's own limit (a kids' profile cannot drop its limit by leaving a query
 * parameter out), also when a client key acts for that profile. A server's query is taken as given.
 */
export function effectiveAudience(caller: Caller, asked: ViewerAudience): ViewerAudience {
  const grant = caller.kind === "viewer" ? caller.grant : caller.kind === "client" ? caller.viewer : null;
  if (!grant) return asked;
  const own = grant.audience;
  const limit = stricterLimit(asked.maxAgeRating, own.maxAgeRating);
  const region = own.region ?? asked.region ?? null;
  return { ...(limit !== null ? { maxAgeRating: limit } : {}), ...(region !== null ? { region } : {}) };
}
