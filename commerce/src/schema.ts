import { sql } from "drizzle-orm";
import {
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";

/**
 * The catalogue. Step 1 holds titles and their offers; accounts, orders, entitlements and
 * payments arrive with the commerce step and extend this schema through new migrations.
 */
export const titles = pgTable(
  "titles",
  {
    id: text("id").primaryKey(),
    title: text("title").notNull(),
    year: smallint("year").notNull(),
    genres: text("genres").array().notNull().default(sql`'{}'::text[]`),
    runtimeMin: smallint("runtime_min").notNull(),
    ageRating: text("age_rating").notNull(),
    synopsis: text("synopsis").notNull().default(""),
    cast: text("cast").array().notNull().default(sql`'{}'::text[]`),
    director: text("director").notNull().default(""),
    posterSvg: text("poster_svg"),
    /** draft → in_review → published → withdrawn; only published titles are shown. */
    status: text("status").notNull().default("published"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    check("titles_status_check", sql`${t.status} in ('draft','in_review','published','withdrawn')`),
    check("titles_age_rating_check", sql`${t.ageRating} in ('G','PG','PG-13','R','NC-17')`),
    index("titles_status_idx").on(t.status),
  ],
);

/** One price per (title, buy|rent, quality). Prices are integers in minor units. */
export const offers = pgTable(
  "offers",
  {
    titleId: text("title_id")
      .notNull()
      .references(() => titles.id, { onDelete: "cascade" }),
    kind: text("kind").notNull(),
    quality: text("quality").notNull(),
    priceMinor: integer("price_minor").notNull(),
    currency: text("currency").notNull().default("USD"),
  },
  (t) => [
    primaryKey({ columns: [t.titleId, t.kind, t.quality] }),
    check("offers_kind_check", sql`${t.kind} in ('buy','rent')`),
    check("offers_quality_check", sql`${t.quality} in ('SD','HD','4K')`),
    check("offers_price_check", sql`${t.priceMinor} >= 0`),
  ],
);

/**
 * The transactional outbox: a business change and the event announcing it are written in one
 * Postgres transaction (`enqueueOutbox`), so neither exists without the other; a relay
 * (ingest's `OutboxRelay`) publishes unsent rows to the bus and marks them sent. The id is the
 * event's id: writing the same event twice is a no-op, and consumers deduplicate by it.
 */
export const outbox = pgTable(
  "outbox",
  {
    id: uuid("id").primaryKey(),
    topic: text("topic").notNull(),
    /** Partition key on the bus (e.g. the user id), so one key's events stay in order. */
    key: text("key").notNull(),
    payload: jsonb("payload").notNull(),
    headers: jsonb("headers").$type<Record<string, string>>().notNull().default({}),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    /** Null until the bus acknowledged the event. */
    sentAt: timestamp("sent_at", { withTimezone: true, mode: "date" }),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
  },
  (t) => [index("outbox_unsent_idx").on(t.createdAt, t.id).where(sql`${t.sentAt} is null`)],
);

export const schema = { titles, offers, outbox };
export type CommerceSchema = typeof schema;
