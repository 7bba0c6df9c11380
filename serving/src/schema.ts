import { sql } from "drizzle-orm";
import { index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Serving's tables, on the store's database (PGlite embedded, Postgres scaled) with their own
 * drizzle migrations and bookkeeping table (`SERVING_MIGRATIONS_TABLE`), applied by whoever
 * composes serving.
 *
 * An API key of another client (an app, a partner site). Only the SHA-256 of its secret is
 * kept: the secret is 256 random bits, so a fast hash is enough (there is nothing to guess a
 * dictionary from), and the full key is shown once, when it is made. A revoked key stays,
 * so a client still sending it is told it was revoked rather than that it never existed.
 */
export const servingApiKeys = pgTable(
  "serving_api_keys",
  {
    /** The public part of the key (`mq_<id>_<secret>`), what `api-keys list` and logs show. */
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** Hex SHA-256 of the secret part. Never the secret itself. */
    secretSha256: text("secret_sha256").notNull(),
    scopes: text("scopes").array().notNull(),
    rateLimitPerMinute: integer("rate_limit_per_minute").notNull(),
    /** Browser origins (`https://partner.example`) whose pages may use the key; none: servers only. */
    corsOrigins: text("cors_origins").array().notNull().default(sql`'{}'::text[]`),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [index("serving_api_keys_created_idx").on(t.createdAt)],
);

export const servingSchema = { servingApiKeys };
