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

export interface AccessOptions {
  authenticate?: ServingAuthenticator;
  /** The server key (SERVING_API_KEY) trusted backends send; reads any actor's rows. */
  apiKey?: string | undefined;
}

/** Who is asking: a trusted backend, a signed-in viewer, or nobody in particular. */
export type Caller = { kind: "server" } | { kind: "viewer"; grant: ViewerGrant } | { kind: "anonymous" };

const BEARER = /^Bearer +(\S{1,512}) *$/i;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Identify the caller. Credentials that are present but wrong are refused (401) rather than
 * ignored, so a client with a broken token learns it; a stale session cookie alone is not an
 * error (the browser of a signed-out visitor still sends it), it just proves nothing.
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
  if (apiKey !== undefined) {
    if (options.apiKey && sameSecret(apiKey, options.apiKey)) return { kind: "server" };
    throw new AppError("unauthorized", "x-api-key is not this serving API's key");
  }
  const authorization = header("authorization");
  let bearer: string | null = null;
  if (authorization !== undefined) {
    bearer = BEARER.exec(authorization)?.[1] ?? null;
    if (!bearer) throw new AppError("unauthorized", "Authorization must be `Bearer <token>`");
    if (options.apiKey && sameSecret(bearer, options.apiKey)) return { kind: "server" };
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
  if (grant) return { kind: "viewer", grant };
  if (bearer) throw new AppError("unauthorized", "the bearer token is not a valid session: sign in again");
  return { kind: "anonymous" };
}

/**
 * May `caller` read `actorId`'s rows? Anonymous ids are open (they are random, ~103 bits, and
 * only their holder knows them); an account's or profile's id needs that account's
 * credentials or the server key.
 */
export function authorizeActor(caller: Caller, actorId: string, what = "rows"): void {
  if (!isAccountId(actorId) || caller.kind === "server") return;
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
 * parameter out). A server's query is taken as given.
 */
export function effectiveAudience(caller: Caller, asked: ViewerAudience): ViewerAudience {
  if (caller.kind !== "viewer") return asked;
  const own = caller.grant.audience;
  const limit = stricterLimit(asked.maxAgeRating, own.maxAgeRating);
  const region = own.region ?? asked.region ?? null;
  return { ...(limit !== null ? { maxAgeRating: limit } : {}), ...(region !== null ? { region } : {}) };
}
