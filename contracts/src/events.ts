import { z } from "zod";
import { IdSchema, UuidV7Schema } from "./ids.ts";

export const EVENT_TYPES = [
  "page_view",
  "impression",
  "click",
  "trailer_play",
  "play_start",
  "play_progress",
  "play_complete",
  "watchlist_add",
  "not_interested",
  "rating",
  "search",
  "purchase",
  "rental_start",
  "refund",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Types only the store itself records: commerce writes them to its outbox in the transaction
 * that took the money or gave it back, and the relay publishes them (header `x-outbox-id`).
 * The public collector refuses them, or anyone could post a thousand purchases and move
 * everybody's Trending row.
 */
export const COMMERCE_EVENT_TYPES = ["purchase", "rental_start", "refund"] as const satisfies readonly EventType[];
export type CommerceEventType = (typeof COMMERCE_EVENT_TYPES)[number];

export const DEVICE_KINDS = ["phone", "tablet", "desktop", "tv", "other"] as const;
export const DeviceKindSchema = z.enum(DEVICE_KINDS);
export type DeviceKind = z.infer<typeof DeviceKindSchema>;

export const QUALITIES = ["SD", "HD", "4K"] as const;
export const QualitySchema = z.enum(QUALITIES);
export type Quality = z.infer<typeof QualitySchema>;

/** Where an event happened: which surface, which row and slot, which model put it there. */
export const EventContextSchema = z.object({
  device: DeviceKindSchema.default("other"),
  page: z.string().max(200).optional(),
  row: z.string().max(100).optional(),
  position: z.number().int().min(0).max(10_000).optional(),
  model_version: z.string().max(100).optional(),
  variant: z.string().max(100).optional(),
});
export type EventContext = z.infer<typeof EventContextSchema>;

const Seconds = z
  .number()
  .finite()
  .min(0)
  .max(7 * 24 * 3600);
const MoneyMinor = z.number().int().min(0).max(100_000_000);
const Currency = z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD");
const OrderId = IdSchema;

/**
 * Years a timestamp may name. ClickHouse's DateTime64 holds 1900–2299 and quietly stores
 * something else for a year outside it (the year 0000 came back as another date), so anything
 * outside is refused, with a margin for offsets. How old an event may be relative to now is the
 * collector's rule (INGEST_MAX_EVENT_AGE_DAYS); this one holds wherever an event comes from.
 */
export const MIN_EVENT_YEAR = 1970;
export const MAX_EVENT_YEAR = 2199;

/** The year of a timestamp that matched the ISO pattern (its first four characters). */
export const isEventYear = (timestamp: string): boolean => {
  const year = Number(timestamp.slice(0, 4));
  return year >= MIN_EVENT_YEAR && year <= MAX_EVENT_YEAR;
};

/** ISO 8601 timestamp with a zone (Z or an offset); kept as the string the client sent. */
const Timestamp = z.iso
  .datetime({ offset: true, message: "must be an ISO 8601 timestamp with a zone", abort: true })
  .refine(isEventYear, `must be in the years ${MIN_EVENT_YEAR}–${MAX_EVENT_YEAR}`);

const common = {
  event_id: UuidV7Schema,
  occurred_at: Timestamp,
  user_id: IdSchema.optional(),
  anonymous_id: IdSchema.optional(),
  session_id: IdSchema.optional(),
  context: EventContextSchema.default({ device: "other" }),
};

const withItem = { ...common, item_id: IdSchema };
const withoutItem = { ...common, item_id: z.undefined({ message: "item_id does not apply to this type" }).optional() };

const variant = <T extends EventType, S extends z.ZodRawShape, P extends z.ZodType>(type: T, base: S, payload: P) =>
  z.object({ ...base, type: z.literal(type), payload });

const Empty = z.object({}).default({});

export const PageViewSchema = variant(
  "page_view",
  withoutItem,
  z.object({ path: z.string().min(1).max(2000), referrer: z.string().max(2000).optional() }),
);
export const ImpressionSchema = variant("impression", withItem, Empty);
export const ClickSchema = variant(
  "click",
  withItem,
  z.object({ target: z.enum(["poster", "title", "button", "link"]).optional() }).default({}),
);
export const TrailerPlaySchema = variant(
  "trailer_play",
  withItem,
  z.object({ position_s: Seconds.optional() }).default({}),
);
const Playback = { playback_id: IdSchema.optional(), quality: QualitySchema.optional() };
export const PlayStartSchema = variant(
  "play_start",
  withItem,
  z.object({ ...Playback, position_s: Seconds.default(0) }).default({ position_s: 0 }),
);
export const PlayProgressSchema = variant(
  "play_progress",
  withItem,
  z.object({ ...Playback, position_s: Seconds, duration_s: Seconds.optional() }),
);
export const PlayCompleteSchema = variant(
  "play_complete",
  withItem,
  z.object({ ...Playback, watched_s: Seconds, duration_s: Seconds.optional() }),
);
export const WatchlistAddSchema = variant("watchlist_add", withItem, Empty);
export const NotInterestedSchema = variant("not_interested", withItem, Empty);
export const RatingSchema = variant(
  "rating",
  withItem,
  z.object({
    value: z
      .number()
      .min(0.5)
      .max(5)
      .refine((v) => Number.isInteger(v * 2), "must be in steps of 0.5"),
  }),
);
export const SearchSchema = variant(
  "search",
  withoutItem,
  z.object({ query: z.string().trim().min(1).max(200), results: z.number().int().min(0).optional() }),
);
const Sale = { order_id: OrderId, quality: QualitySchema, amount_minor: MoneyMinor, currency: Currency };
export const PurchaseSchema = variant("purchase", withItem, z.object(Sale));
export const RentalStartSchema = variant(
  "rental_start",
  withItem,
  z.object({ ...Sale, expires_at: Timestamp.optional() }),
);
export const RefundSchema = variant(
  "refund",
  withItem,
  z.object({ order_id: OrderId, amount_minor: MoneyMinor, currency: Currency, reason: z.string().max(500).optional() }),
);

const EventUnion = z.discriminatedUnion("type", [
  PageViewSchema,
  ImpressionSchema,
  ClickSchema,
  TrailerPlaySchema,
  PlayStartSchema,
  PlayProgressSchema,
  PlayCompleteSchema,
  WatchlistAddSchema,
  NotInterestedSchema,
  RatingSchema,
  SearchSchema,
  PurchaseSchema,
  RentalStartSchema,
  RefundSchema,
]);

/** A validated event: the envelope, the type's own payload, and who did it. */
export const EventSchema = EventUnion.refine((e) => e.user_id !== undefined || e.anonymous_id !== undefined, {
  message: "one of user_id or anonymous_id is required",
  path: ["user_id"],
});
export type MarqueeEvent = z.infer<typeof EventSchema>;
export type EventOf<T extends EventType> = Extract<MarqueeEvent, { type: T }>;

/** The types that name a title, so feature code can rely on item_id being present. */
export const ITEM_EVENT_TYPES: readonly EventType[] = EVENT_TYPES.filter((t) => t !== "page_view" && t !== "search");

/**
 * What a client sends: the envelope with event_id, occurred_at and context optional; the
 * collector fills them in (a UUIDv7, the receive time) before validating with EventSchema.
 */
export const EventBatchSchema = z.object({
  events: z.array(z.unknown()).min(1, "events must not be empty").max(500, "at most 500 events per request"),
});
export const MAX_EVENTS_PER_REQUEST = 500;

/** The id rows and histories are keyed by: the signed-in user, else the anonymous visitor. */
export function actorId(e: Pick<MarqueeEvent, "user_id" | "anonymous_id">): string {
  const id = e.user_id ?? e.anonymous_id;
  if (id === undefined) throw new Error("event has neither user_id nor anonymous_id");
  return id;
}

export const IngestResultSchema = z.object({
  accepted: z.number().int().min(0),
  rejected: z.array(z.object({ index: z.number().int().min(0), reason: z.string() })),
});
export type IngestResult = z.infer<typeof IngestResultSchema>;

/**
 * An event as it travels on the bus: validated, with the server's receive time beside the
 * client's. `id_from_client`: the client chose the event id (the collector fills in a fresh one
 * otherwise), so this may be a retry of an event already stored, and the loader checks the id
 * against what is stored; ids the collector made are unique by construction and skip that.
 */
export type CollectedEvent = MarqueeEvent & { received_at: string; id_from_client?: true };
