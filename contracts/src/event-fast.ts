import { z } from "zod";
import { DEVICE_KINDS, type EventType, isEventYear, type MarqueeEvent, QUALITIES } from "./events.ts";
import { ID_PATTERN } from "./ids.ts";

/**
 * EventSchema's verdict without zod, for the events the collector and the loader see all day:
 * well-formed ones, with no key the schema does not know. 50k events/s go through both, and zod's
 * discriminated union costs several microseconds per event; this costs a fraction of one.
 *
 * The contract, checked by a randomised test against EventSchema itself: when `parseEventFast`
 * returns an event, `EventSchema.safeParse` of the same input succeeds with an equal value. It
 * returns undefined for anything it is not sure of (a bad value, an unknown key, a value zod
 * would transform, such as a query with spaces around it); the caller then asks zod, which also
 * writes the reasons. So the fast path may say "don't know", never a different answer.
 *
 * On success the input object itself is the event, with zod's defaults filled in (context,
 * context.device, an empty or default payload), not a copy.
 */

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
/** The very pattern zod's z.iso.datetime({ offset: true }) tests. */
const TIMESTAMP = z.core.regexes.datetime({ offset: true });
const CURRENCY = /^[A-Z]{3}$/;
const DEVICES = new Set<unknown>(DEVICE_KINDS);
const QUALITY = new Set<unknown>(QUALITIES);
const CLICK_TARGETS = new Set<unknown>(["poster", "title", "button", "link"]);
const MAX_SECONDS = 7 * 24 * 3600;

type Obj = Record<string, unknown>;
/** A payload checker: the payload to store (the input, or zod's default when it is absent), or null. */
type PayloadCheck = (p: Obj | undefined) => Obj | null;

// Many events of a batch carry the same timestamp (the collector fills occurred_at with the
// receive time): remember the last one that passed.
let lastTimestamp = "";
function isTimestamp(v: unknown): boolean {
  if (typeof v !== "string") return false;
  if (v === lastTimestamp) return true;
  if (!TIMESTAMP.test(v) || !isEventYear(v)) return false;
  lastTimestamp = v;
  return true;
}

const isId = (v: unknown): boolean => typeof v === "string" && ID_PATTERN.test(v);
const isOptionalId = (v: unknown): boolean => v === undefined || isId(v);
const isSeconds = (v: unknown): boolean => typeof v === "number" && v >= 0 && v <= MAX_SECONDS; // NaN fails both
const isOptionalSeconds = (v: unknown): boolean => v === undefined || isSeconds(v);
const isMoney = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 100_000_000;
const isText = (v: unknown, min: number, max: number): boolean =>
  typeof v === "string" && v.length >= min && v.length <= max;

/**
 * A JSON-shaped object (what JSON.parse makes), whose keys are all in `allowed` and whose values
 * are all defined. Anything else is left to zod (it strips unknown keys; undefined is its own case).
 */
function isPlainWith(v: unknown, allowed: ReadonlySet<string>): v is Obj {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in v) {
    if (!allowed.has(key) || (v as Obj)[key] === undefined) return false;
  }
  return true;
}

const keys = (...names: string[]): ReadonlySet<string> => new Set(names);
const NONE = keys();
const CONTEXT_KEYS = keys("device", "page", "row", "position", "model_version", "variant");
const SALE_KEYS = keys("order_id", "quality", "amount_minor", "currency");
const PAGE_VIEW_KEYS = keys("path", "referrer");
const CLICK_KEYS = keys("target");
const TRAILER_KEYS = keys("position_s");
const PLAY_START_KEYS = keys("playback_id", "quality", "position_s");
const PLAY_PROGRESS_KEYS = keys("playback_id", "quality", "position_s", "duration_s");
const PLAY_COMPLETE_KEYS = keys("playback_id", "quality", "watched_s", "duration_s");
const RATING_KEYS = keys("value");
const SEARCH_KEYS = keys("query", "results");
const RENTAL_KEYS = keys(...SALE_KEYS, "expires_at");
const REFUND_KEYS = keys("order_id", "amount_minor", "currency", "reason");

/** z.object({}).default({}): absent, or an object with no keys. */
const empty: PayloadCheck = (p) => (p === undefined ? {} : isPlainWith(p, NONE) ? p : null);

const isCurrency = (v: unknown): boolean => typeof v === "string" && CURRENCY.test(v);
const sale = (p: Obj): boolean =>
  isId(p.order_id) && QUALITY.has(p.quality) && isMoney(p.amount_minor) && isCurrency(p.currency);
const playback = (p: Obj): boolean =>
  isOptionalId(p.playback_id) && (p.quality === undefined || QUALITY.has(p.quality));

const PAYLOADS: Record<EventType, { item: boolean; payload: PayloadCheck }> = {
  page_view: {
    item: false,
    payload: (p) =>
      isPlainWith(p, PAGE_VIEW_KEYS) &&
      isText(p.path, 1, 2000) &&
      (p.referrer === undefined || isText(p.referrer, 0, 2000))
        ? p
        : null,
  },
  impression: { item: true, payload: empty },
  click: {
    item: true,
    payload: (p) =>
      p === undefined
        ? {}
        : isPlainWith(p, CLICK_KEYS) && (p.target === undefined || CLICK_TARGETS.has(p.target))
          ? p
          : null,
  },
  trailer_play: {
    item: true,
    payload: (p) => (p === undefined ? {} : isPlainWith(p, TRAILER_KEYS) && isOptionalSeconds(p.position_s) ? p : null),
  },
  play_start: {
    item: true,
    payload: (p) => {
      if (p === undefined) return { position_s: 0 };
      if (!isPlainWith(p, PLAY_START_KEYS) || !playback(p) || !isOptionalSeconds(p.position_s)) {
        return null;
      }
      if (p.position_s === undefined) p.position_s = 0;
      return p;
    },
  },
  play_progress: {
    item: true,
    payload: (p) =>
      isPlainWith(p, PLAY_PROGRESS_KEYS) && playback(p) && isSeconds(p.position_s) && isOptionalSeconds(p.duration_s)
        ? p
        : null,
  },
  play_complete: {
    item: true,
    payload: (p) =>
      isPlainWith(p, PLAY_COMPLETE_KEYS) && playback(p) && isSeconds(p.watched_s) && isOptionalSeconds(p.duration_s)
        ? p
        : null,
  },
  watchlist_add: { item: true, payload: empty },
  not_interested: { item: true, payload: empty },
  rating: {
    item: true,
    payload: (p) =>
      isPlainWith(p, RATING_KEYS) &&
      typeof p.value === "number" &&
      p.value >= 0.5 &&
      p.value <= 5 &&
      Number.isInteger(p.value * 2)
        ? p
        : null,
  },
  search: {
    item: false,
    payload: (p) =>
      // zod trims the query: one that needs trimming is left to it.
      isPlainWith(p, SEARCH_KEYS) &&
      isText(p.query, 1, 200) &&
      (p.query as string).trim() === p.query &&
      (p.results === undefined || (Number.isSafeInteger(p.results) && (p.results as number) >= 0))
        ? p
        : null,
  },
  purchase: { item: true, payload: (p) => (isPlainWith(p, SALE_KEYS) && sale(p) ? p : null) },
  rental_start: {
    item: true,
    payload: (p) =>
      isPlainWith(p, RENTAL_KEYS) && sale(p) && (p.expires_at === undefined || isTimestamp(p.expires_at)) ? p : null,
  },
  refund: {
    item: true,
    payload: (p) =>
      isPlainWith(p, REFUND_KEYS) &&
      isId(p.order_id) &&
      isMoney(p.amount_minor) &&
      isCurrency(p.currency) &&
      (p.reason === undefined || isText(p.reason, 0, 500))
        ? p
        : null,
  },
};

const ENVELOPE_KEYS = keys(
  "event_id",
  "occurred_at",
  "type",
  "user_id",
  "anonymous_id",
  "session_id",
  "context",
  "item_id",
  "payload",
);
/** The same, plus the collector's received_at and id_from_client: what travels on events.v1. */
const COLLECTED_KEYS = keys(...ENVELOPE_KEYS, "received_at", "id_from_client");

/**
 * The event EventSchema would make of `raw`, or undefined when the fast path is not sure (see
 * above). `collected`: `raw` may also carry received_at and id_from_client, which are left on it
 * unchecked (zod would strip them; the loader checks them and puts them back).
 */
export function parseEventFast(raw: unknown, collected = false): MarqueeEvent | undefined {
  if (!isPlainWith(raw, collected ? COLLECTED_KEYS : ENVELOPE_KEYS)) return undefined;
  const spec =
    typeof raw.type === "string" && Object.hasOwn(PAYLOADS, raw.type) ? PAYLOADS[raw.type as EventType] : null;
  if (spec === null) return undefined;
  if (typeof raw.event_id !== "string" || !UUID_V7.test(raw.event_id) || !isTimestamp(raw.occurred_at))
    return undefined;
  if (raw.user_id === undefined && raw.anonymous_id === undefined) return undefined;
  if (!isOptionalId(raw.user_id) || !isOptionalId(raw.anonymous_id) || !isOptionalId(raw.session_id)) return undefined;
  if (spec.item ? !isId(raw.item_id) : raw.item_id !== undefined) return undefined;
  const ctx = raw.context;
  if (ctx !== undefined) {
    if (!isPlainWith(ctx, CONTEXT_KEYS)) return undefined;
    if (ctx.device !== undefined && !DEVICES.has(ctx.device)) return undefined;
    if (ctx.page !== undefined && !isText(ctx.page, 0, 200)) return undefined;
    if (ctx.row !== undefined && !isText(ctx.row, 0, 100)) return undefined;
    if (ctx.model_version !== undefined && !isText(ctx.model_version, 0, 100)) return undefined;
    if (ctx.variant !== undefined && !isText(ctx.variant, 0, 100)) return undefined;
    const pos = ctx.position;
    if (pos !== undefined && !(Number.isSafeInteger(pos) && (pos as number) >= 0 && (pos as number) <= 10_000)) {
      return undefined;
    }
  }
  const payload = raw.payload;
  if (payload !== undefined && (typeof payload !== "object" || payload === null)) return undefined;
  // Last: the payload check may fill a default in place, and nothing after it may fail.
  const checked = spec.payload(payload as Obj | undefined);
  if (checked === null) return undefined;
  raw.payload = checked;
  if (ctx === undefined) raw.context = { device: "other" };
  else if (ctx.device === undefined) ctx.device = "other";
  return raw as unknown as MarqueeEvent;
}
