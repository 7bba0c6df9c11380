import { sql } from "drizzle-orm";
import {
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
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
    /** The seller who lists it; null for the house catalogue (seeded titles). */
    sellerId: text("seller_id"),
    /** ISO 3166-1 alpha-2 codes where it may be sold; empty = everywhere. */
    regions: text("regions").array().notNull().default(sql`'{}'::text[]`),
    releaseDate: date("release_date", { mode: "string" }),
    /** The reviewer's note when a title is sent back or withdrawn. */
    reviewNote: text("review_note"),
    submittedAt: timestamp("submitted_at", { withTimezone: true, mode: "date" }),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    check("titles_status_check", sql`${t.status} in ('draft','in_review','published','withdrawn')`),
    check("titles_age_rating_check", sql`${t.ageRating} in ('G','PG','PG-13','R','NC-17')`),
    index("titles_status_idx").on(t.status),
    index("titles_seller_idx").on(t.sellerId),
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
    /** Rentals: days to start watching after paying, then hours to finish once started. */
    rentStartWindowDays: integer("rent_start_window_days").notNull().default(30),
    rentWatchWindowHours: integer("rent_watch_window_hours").notNull().default(48),
    /** A timed sale: this price between the two instants (either end open). */
    salePriceMinor: integer("sale_price_minor"),
    saleStartsAt: timestamp("sale_starts_at", { withTimezone: true, mode: "date" }),
    saleEndsAt: timestamp("sale_ends_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [
    primaryKey({ columns: [t.titleId, t.kind, t.quality] }),
    check("offers_sale_price_check", sql`${t.salePriceMinor} is null or ${t.salePriceMinor} >= 0`),
    check(
      "offers_windows_check",
      sql`${t.rentStartWindowDays} between 1 and 365 and ${t.rentWatchWindowHours} between 1 and 720`,
    ),
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

// ─── Accounts ────────────────────────────────────────────────────────────────────────────

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/** A person with an account. Roles grow: every user is a viewer; sellers and admins are granted. */
export const users = pgTable(
  "users",
  {
    id: text("id").primaryKey(),
    /** Lower-cased; the sign-in name. */
    email: text("email").notNull(),
    passwordHash: text("password_hash").notNull(),
    displayName: text("display_name").notNull(),
    roles: text("roles").array().notNull().default(sql`'{viewer}'::text[]`),
    /** ISO 3166-1 alpha-2; decides which titles are sold to this user. */
    region: text("region").notNull().default("US"),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [uniqueIndex("users_email_idx").on(t.email)],
);

/**
 * Failed sign-ins per e-mail address, known or not (so the answer does not reveal which
 * addresses have accounts). Each failure doubles the delay before the next try is heard;
 * after LOCKOUT_AFTER failures the address is locked for a while.
 */
export const loginAttempts = pgTable("login_attempts", {
  email: text("email").primaryKey(),
  failures: integer("failures").notNull().default(0),
  lastFailureAt: ts("last_failure_at"),
  lockedUntil: ts("locked_until"),
});

/** A signed-in browser or app. The id is the SHA-256 of the token, never the token itself. */
export const sessions = pgTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    profileId: text("profile_id"),
    /** Synchronizer token for form posts made with this session's cookie. */
    csrfToken: text("csrf_token").notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
    expiresAt: ts("expires_at").notNull(),
  },
  (t) => [index("sessions_user_idx").on(t.userId)],
);

/** Who is watching. Kids' profiles have an age limit and need the purchase PIN to buy. */
export const profiles = pgTable(
  "profiles",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    kind: text("kind").notNull().default("standard"),
    /** The highest age rating this profile may see or buy; null = no limit. */
    maxAgeRating: text("max_age_rating"),
    /** argon2id hash of a 4-6 digit PIN; required to buy from a kids' profile. */
    pinHash: text("pin_hash"),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [index("profiles_user_idx").on(t.userId), check("profiles_kind_check", sql`${t.kind} in ('standard','kids')`)],
);

/** A user who sells. Paid through Stripe Connect (destination charges) once onboarded. */
export const sellers = pgTable(
  "sellers",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    displayName: text("display_name").notNull(),
    stripeAccountId: text("stripe_account_id"),
    /** True once Stripe says the connected account can take charges. */
    chargesEnabled: boolean("charges_enabled").notNull().default(false),
    /** Platform fee in basis points (1500 = 15 %). */
    feeBps: integer("fee_bps").notNull().default(1500),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [uniqueIndex("sellers_user_idx").on(t.userId)],
);

// ─── Orders, payments, entitlements ─────────────────────────────────────────────────────

export const promoCodes = pgTable(
  "promo_codes",
  {
    id: text("id").primaryKey(),
    sellerId: text("seller_id")
      .notNull()
      .references(() => sellers.id, { onDelete: "cascade" }),
    /** Upper-cased, unique per seller. */
    code: text("code").notNull(),
    percentOff: integer("percent_off"),
    amountOffMinor: integer("amount_off_minor"),
    currency: text("currency").notNull().default("USD"),
    appliesTo: text("applies_to").notNull().default("both"),
    /** Null = all of the seller's titles. */
    titleId: text("title_id"),
    maxRedemptions: integer("max_redemptions"),
    redemptions: integer("redemptions").notNull().default(0),
    startsAt: ts("starts_at"),
    endsAt: ts("ends_at"),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("promo_codes_seller_code_idx").on(t.sellerId, t.code),
    check("promo_codes_applies_check", sql`${t.appliesTo} in ('buy','rent','both')`),
    check(
      "promo_codes_discount_check",
      sql`(${t.percentOff} is null) <> (${t.amountOffMinor} is null) and coalesce(${t.percentOff}, 1) between 1 and 100 and coalesce(${t.amountOffMinor}, 1) > 0`,
    ),
  ],
);

/**
 * One checkout. `cart_key` names what is being bought; at most one pending order per user and
 * cart, so two concurrent checkouts of one cart meet on the same order. The idempotency key is
 * stored before the first call to Stripe, so a retried call cannot create a second session.
 */
export const orders = pgTable(
  "orders",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    profileId: text("profile_id"),
    sellerId: text("seller_id"),
    status: text("status").notNull().default("pending"),
    cartKey: text("cart_key").notNull(),
    currency: text("currency").notNull(),
    subtotalMinor: integer("subtotal_minor").notNull(),
    discountMinor: integer("discount_minor").notNull().default(0),
    creditMinor: integer("credit_minor").notNull().default(0),
    totalMinor: integer("total_minor").notNull(),
    platformFeeMinor: integer("platform_fee_minor").notNull().default(0),
    promoCodeId: text("promo_code_id"),
    idempotencyKey: text("idempotency_key").notNull(),
    checkoutSessionId: text("checkout_session_id"),
    checkoutUrl: text("checkout_url"),
    paymentIntentId: text("payment_intent_id"),
    createdAt: ts("created_at").notNull().defaultNow(),
    paidAt: ts("paid_at"),
  },
  (t) => [
    uniqueIndex("orders_idempotency_idx").on(t.idempotencyKey),
    uniqueIndex("orders_session_idx").on(t.checkoutSessionId),
    uniqueIndex("orders_pending_cart_idx").on(t.userId, t.cartKey).where(sql`${t.status} = 'pending'`),
    index("orders_user_idx").on(t.userId, t.createdAt),
    index("orders_seller_idx").on(t.sellerId, t.createdAt),
    check("orders_status_check", sql`${t.status} in ('pending','paid','expired','refunded','partially_refunded')`),
    check("orders_total_check", sql`${t.totalMinor} >= 0`),
  ],
);

export const orderItems = pgTable(
  "order_items",
  {
    id: text("id").primaryKey(),
    orderId: text("order_id")
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
    titleId: text("title_id").notNull(),
    kind: text("kind").notNull(),
    quality: text("quality").notNull(),
    listPriceMinor: integer("list_price_minor").notNull(),
    /** What the viewer pays for this item after sale, promo and credits. */
    priceMinor: integer("price_minor").notNull(),
    creditMinor: integer("credit_minor").notNull().default(0),
    /** Rent-to-own: the rental whose price is credited (each rental credits once). */
    creditedEntitlementId: text("credited_entitlement_id"),
    /** Quality upgrade: the purchase this one supersedes. */
    upgradesEntitlementId: text("upgrades_entitlement_id"),
    rentStartWindowDays: integer("rent_start_window_days"),
    rentWatchWindowHours: integer("rent_watch_window_hours"),
  },
  (t) => [
    index("order_items_order_idx").on(t.orderId),
    check("order_items_kind_check", sql`${t.kind} in ('buy','rent')`),
  ],
);

export const payments = pgTable(
  "payments",
  {
    id: text("id").primaryKey(),
    orderId: text("order_id")
      .notNull()
      .references(() => orders.id),
    provider: text("provider").notNull(),
    paymentIntentId: text("payment_intent_id"),
    amountMinor: integer("amount_minor").notNull(),
    currency: text("currency").notNull(),
    status: text("status").notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [uniqueIndex("payments_order_idx").on(t.orderId)],
);

/**
 * The right to watch. One per order item (the unique index makes granting idempotent).
 * Rentals: `start_by` is the last moment playback may begin; the first play sets
 * `expires_at` = first play + the offer's watch window. Purchases never expire.
 */
export const entitlements = pgTable(
  "entitlements",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    titleId: text("title_id").notNull(),
    kind: text("kind").notNull(),
    quality: text("quality").notNull(),
    orderItemId: text("order_item_id").notNull(),
    status: text("status").notNull().default("active"),
    startsAt: ts("starts_at").notNull(),
    startBy: ts("start_by"),
    watchWindowHours: integer("watch_window_hours"),
    expiresAt: ts("expires_at"),
    firstPlayedAt: ts("first_played_at"),
    pricePaidMinor: integer("price_paid_minor").notNull(),
    currency: text("currency").notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("entitlements_item_idx").on(t.orderItemId),
    index("entitlements_user_title_idx").on(t.userId, t.titleId),
    check("entitlements_kind_check", sql`${t.kind} in ('own','rent')`),
    check("entitlements_status_check", sql`${t.status} in ('active','refunded','superseded')`),
  ],
);

export const refunds = pgTable(
  "refunds",
  {
    id: text("id").primaryKey(),
    orderId: text("order_id")
      .notNull()
      .references(() => orders.id),
    orderItemId: text("order_item_id").notNull(),
    entitlementId: text("entitlement_id").notNull(),
    amountMinor: integer("amount_minor").notNull(),
    currency: text("currency").notNull(),
    reason: text("reason").notNull(),
    providerRefundId: text("provider_refund_id"),
    status: text("status").notNull().default("pending"),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [uniqueIndex("refunds_item_idx").on(t.orderItemId)],
);

/** Per-seller money: a sale credits gross − fee; a refund reverses it. Net = gross − fee. */
export const ledgerEntries = pgTable(
  "ledger_entries",
  {
    id: text("id").primaryKey(),
    sellerId: text("seller_id").notNull(),
    orderId: text("order_id").notNull(),
    orderItemId: text("order_item_id"),
    kind: text("kind").notNull(),
    grossMinor: integer("gross_minor").notNull(),
    feeMinor: integer("fee_minor").notNull(),
    netMinor: integer("net_minor").notNull(),
    currency: text("currency").notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("ledger_item_kind_idx").on(t.orderItemId, t.kind),
    index("ledger_seller_idx").on(t.sellerId, t.createdAt),
    check("ledger_kind_check", sql`${t.kind} in ('sale','refund','payout')`),
  ],
);

/** Stripe (or local) webhook events already handled: recorded in the granting transaction. */
export const processedWebhookEvents = pgTable("processed_webhook_events", {
  eventId: text("event_id").primaryKey(),
  type: text("type").notNull(),
  receivedAt: ts("received_at").notNull().defaultNow(),
});

/**
 * Embedded mode's stand-in for Stripe's Checkout Sessions: the local test checkout page pays
 * these, and the local gateway answers "retrieve session" from here.
 */
export const localCheckoutSessions = pgTable("local_checkout_sessions", {
  id: text("id").primaryKey(),
  idempotencyKey: text("idempotency_key").notNull().unique(),
  status: text("status").notNull().default("open"),
  paymentStatus: text("payment_status").notNull().default("unpaid"),
  amountTotal: integer("amount_total").notNull(),
  currency: text("currency").notNull(),
  paymentIntent: text("payment_intent").notNull(),
  metadata: jsonb("metadata").$type<Record<string, string>>().notNull().default({}),
  lineItems: jsonb("line_items").$type<{ name: string; amount: number }[]>().notNull().default([]),
  successUrl: text("success_url").notNull(),
  cancelUrl: text("cancel_url").notNull(),
  refundedMinor: integer("refunded_minor").notNull().default(0),
  createdAt: ts("created_at").notNull().defaultNow(),
  /** When an open session stops taking payment (Stripe's `expires_at`); null: 24 h after creation. */
  expiresAt: ts("expires_at"),
});

// ─── Viewer lists ───────────────────────────────────────────────────────────────────────

export const watchlist = pgTable(
  "watchlist",
  {
    profileId: text("profile_id")
      .notNull()
      .references(() => profiles.id, { onDelete: "cascade" }),
    titleId: text("title_id").notNull(),
    addedAt: ts("added_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.profileId, t.titleId] })],
);

export const watchProgress = pgTable(
  "watch_progress",
  {
    profileId: text("profile_id")
      .notNull()
      .references(() => profiles.id, { onDelete: "cascade" }),
    titleId: text("title_id").notNull(),
    positionS: integer("position_s").notNull(),
    durationS: integer("duration_s"),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.profileId, t.titleId] })],
);

// ─── Review ──────────────────────────────────────────────────────────────────────────────

/**
 * A seller's edit to a title a reviewer approved, waiting for review. The title row keeps the
 * approved version live, exactly as approved, until an admin approves the revision (which
 * applies it) or sends it back; one pending revision per title, replaced by a newer edit.
 */
export const titleRevisions = pgTable(
  "title_revisions",
  {
    id: text("id").primaryKey(),
    titleId: text("title_id")
      .notNull()
      .references(() => titles.id, { onDelete: "cascade" }),
    /** pending → approved | sent_back | discarded (the title was withdrawn meanwhile). */
    status: text("status").notNull().default("pending"),
    /** The whole proposed metadata, as the seller's draft (`TitleDraft`, validated). */
    draft: jsonb("draft").$type<Record<string, unknown>>().notNull(),
    submittedBy: text("submitted_by").notNull(),
    submittedAt: ts("submitted_at").notNull().defaultNow(),
    decidedBy: text("decided_by"),
    decidedAt: ts("decided_at"),
    /** The reviewer's note when sent back. */
    reviewNote: text("review_note"),
  },
  (t) => [
    uniqueIndex("title_revisions_pending_idx").on(t.titleId).where(sql`${t.status} = 'pending'`),
    index("title_revisions_title_idx").on(t.titleId, t.submittedAt),
    check("title_revisions_status_check", sql`${t.status} in ('pending','approved','sent_back','discarded')`),
  ],
);

export const schema = {
  titles,
  offers,
  outbox,
  users,
  loginAttempts,
  sessions,
  profiles,
  sellers,
  promoCodes,
  orders,
  orderItems,
  payments,
  entitlements,
  refunds,
  ledgerEntries,
  processedWebhookEvents,
  localCheckoutSessions,
  watchlist,
  watchProgress,
  titleRevisions,
};
export type CommerceSchema = typeof schema;
