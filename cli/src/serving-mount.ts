import type { Accounts, schema as commerceSchema, Viewer } from "@marquee/commerce";
import { readCookie, sessionCookieFor } from "@marquee/commerce/session-cookie";
import type { Config, Logger, PostgresHandle } from "@marquee/runtime";
import {
  ApiKeyCache,
  ApiKeys,
  clientAccess,
  type Recommender,
  SERVING_MIGRATIONS,
  SERVING_MIGRATIONS_TABLE,
  type ServingAuthenticator,
  type ServingDb,
  servingRoutes,
} from "@marquee/serving";
import type { FastifyInstance } from "fastify";

/**
 * What the store (`marquee start`) and `marquee serve` share to put serving's API up: sign-in
 * read from commerce's sessions, other clients' API keys, and the scoped registration.
 */

type Credentials = { bearer: string | null; cookie: string | undefined };

/**
 * The signed-in viewer of a request's credentials: a bearer token or the store's session cookie
 * (the one name the public address allows, as the JSON API reads it). Serving and media use it.
 */
export function sessionViewer(
  accounts: Pick<Accounts, "authenticate">,
  publicUrl: () => string,
): (credentials: Credentials) => Promise<Viewer | null> {
  return async ({ bearer, cookie }) => {
    const token = bearer ?? readCookie(cookie, sessionCookieFor(publicUrl()).name);
    return token ? accounts.authenticate(token) : null;
  };
}

/**
 * Serving's view of sign-in: the account and profile whose rows the caller may read, and the
 * signed-in profile's audience.
 */
export function servingAuthenticator(
  accounts: Pick<Accounts, "authenticate">,
  publicUrl: () => string,
): ServingAuthenticator {
  const viewerOf = sessionViewer(accounts, publicUrl);
  return async (credentials) => {
    const viewer = await viewerOf(credentials);
    if (!viewer) return null;
    return {
      actorIds: [viewer.userId, viewer.profile.id],
      audience: { maxAgeRating: viewer.profile.max_age_rating, region: viewer.region },
    };
  };
}

/**
 * Other clients' API keys (created with `marquee api-keys`) on commerce's database: serving's
 * migrations applied, held in memory and re-read every few seconds (revocations included).
 * Without a database (a `marquee serve` with no DATABASE_URL) no key is known.
 */
export async function startApiKeys(
  postgres: PostgresHandle<typeof commerceSchema>,
  logger: Logger,
): Promise<{ apiKeys: ApiKeys; keyCache: ApiKeyCache }>;
export async function startApiKeys(
  postgres: PostgresHandle<typeof commerceSchema> | null,
  logger: Logger,
): Promise<{ apiKeys: ApiKeys | null; keyCache: ApiKeyCache }>;
export async function startApiKeys(
  postgres: PostgresHandle<typeof commerceSchema> | null,
  logger: Logger,
): Promise<{ apiKeys: ApiKeys | null; keyCache: ApiKeyCache }> {
  if (postgres) await postgres.migrate(SERVING_MIGRATIONS, { table: SERVING_MIGRATIONS_TABLE });
  const apiKeys = postgres ? new ApiKeys(postgres.db as unknown as ServingDb) : null;
  const keyCache = new ApiKeyCache(apiKeys ?? { stored: async () => [] }, { logger });
  await keyCache.start();
  return { apiKeys, keyCache };
}

/**
 * Serving's API in a scope of its own: clientAccess's hooks (API keys, per-key CORS and rate
 * limits) touch serving's routes only. The storefront calls the recommender in-process, trusted.
 */
export async function mountServing(
  app: FastifyInstance,
  options: { config: Config; recommender: Recommender; keys: ApiKeyCache; authenticate?: ServingAuthenticator },
): Promise<void> {
  const { config } = options;
  const access = {
    apiKey: config.SERVING_API_KEY,
    keys: options.keys,
    requireCredentials: config.SERVING_REQUIRE_CREDENTIALS,
    ...(options.authenticate ? { authenticate: options.authenticate } : {}),
  };
  await app.register(async (scope) => {
    await scope.register(clientAccess, {
      ...access,
      redisUrl: config.REDIS_URL,
      openRateLimitPerMinute: config.SERVING_RATE_LIMIT,
    });
    await scope.register(servingRoutes, { serving: options.recommender, ...access });
  });
}
