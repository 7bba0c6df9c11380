import {
  actorId,
  COMMERCE_EVENT_TYPES,
  type CollectedEvent,
  describeIssues,
  EventSchema,
  type IngestResult,
  MAX_EVENTS_PER_REQUEST,
  type MarqueeEvent,
  parseEventFast,
  TOPICS,
} from "@marquee/contracts";
import { AppError, type EventBus } from "@marquee/runtime";
import { newEventId } from "./event-id.ts";

/** How far ahead of the server clock an event may claim to have happened. */
const MAX_CLOCK_SKEW_MS = 10 * 60_000;
/** How far back an event may claim to have happened, unless configured (INGEST_MAX_EVENT_AGE_DAYS). */
export const DEFAULT_MAX_EVENT_AGE_DAYS = 30;
const DAY_MS = 24 * 3600_000;
/** Purchases, rentals and refunds come from commerce's outbox only, never from a client. */
const COMMERCE_TYPES = new Set<unknown>(COMMERCE_EVENT_TYPES);

export interface CollectLimits {
  /**
   * Oldest occurred_at accepted, in days before the receive time. Bounded so that one request
   * cannot spread its events over years: ClickHouse refuses an insert that touches more than
   * 100 monthly partitions, and the events of many requests go into one insert.
   */
  maxEventAgeDays?: number;
}

export interface CollectOutcome {
  result: IngestResult;
  events: CollectedEvent[];
}

/**
 * Validate a decoded request body and split it into accepted events and per-index reasons.
 * The collector fills what a client may leave out: a UUIDv7 event id and the occurrence time.
 * Pure: no I/O, so it is tested without a server.
 */
export function validateBatch(body: unknown, now = new Date(), limits: CollectLimits = {}): CollectOutcome {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new AppError("bad_request", 'body must be a JSON object: {"events":[...]}');
  }
  const events = (body as { events?: unknown }).events;
  if (!Array.isArray(events)) throw new AppError("bad_request", "events must be an array");
  if (events.length === 0) throw new AppError("bad_request", "events must not be empty");
  if (events.length > MAX_EVENTS_PER_REQUEST) {
    throw new AppError(
      "payload_too_large",
      `at most ${MAX_EVENTS_PER_REQUEST} events per request, got ${events.length}`,
    );
  }
  const receivedAt = now.toISOString();
  const nowMs = now.getTime();
  const maxAgeDays = limits.maxEventAgeDays ?? DEFAULT_MAX_EVENT_AGE_DAYS;
  const oldestMs = nowMs - maxAgeDays * DAY_MS;
  const accepted: CollectedEvent[] = [];
  const rejected: IngestResult["rejected"] = [];
  const seen = new Set<string>();
  events.forEach((raw, index) => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      rejected.push({ index, reason: "event must be an object" });
      return;
    }
    const type = (raw as { type?: unknown }).type;
    if (COMMERCE_TYPES.has(type)) {
      rejected.push({
        index,
        reason: `type: ${String(type)} events are recorded by the store when the order happens, not accepted from clients`,
      });
      return;
    }
    // Fill in place (the body is ours, fresh from JSON.parse): what a spread into a new object
    // would give, a good deal cheaper per event. Only fields the client left out are filled.
    const filled = raw as Record<string, unknown>;
    // An id the client chose may be a retry's (the loader checks it); one made here is new.
    const idFromClient = Object.hasOwn(filled, "event_id");
    if (!idFromClient) filled.event_id = newEventId();
    if (!Object.hasOwn(filled, "occurred_at")) filled.occurred_at = receivedAt;
    // Well-formed events take the fast path; zod decides (and explains) the rest.
    let e: MarqueeEvent | undefined = parseEventFast(filled);
    if (e === undefined) {
      const parsed = EventSchema.safeParse(filled);
      if (!parsed.success) {
        rejected.push({ index, reason: describeIssues(parsed.error) });
        return;
      }
      e = parsed.data;
    }
    // (An occurred_at filled in above is the receive time: no need to read it back.)
    if (e.occurred_at !== receivedAt) {
      const at = Date.parse(e.occurred_at);
      if (at - nowMs > MAX_CLOCK_SKEW_MS) {
        rejected.push({ index, reason: "occurred_at: is more than 10 minutes in the future" });
        return;
      }
      if (at < oldestMs) {
        rejected.push({ index, reason: `occurred_at: is more than ${maxAgeDays} days in the past` });
        return;
      }
    }
    if (seen.has(e.event_id)) {
      rejected.push({ index, reason: "event_id: duplicates an earlier event in this batch" });
      return;
    }
    seen.add(e.event_id);
    // The event is ours (the request body's object, or zod's copy): add the field in place.
    const collected = e as CollectedEvent;
    collected.received_at = receivedAt;
    if (idFromClient) collected.id_from_client = true;
    accepted.push(collected);
  });
  return { result: { accepted: accepted.length, rejected }, events: accepted };
}

/**
 * Publish accepted events keyed by actor, so each viewer's events stay in order. Packed: on
 * Kafka, one request's events for one partition travel as one record, which is what makes
 * 50k events/s cheap for the producer and the broker (the loader unpacks them).
 */
export function publishEvents(bus: EventBus, events: CollectedEvent[], topic: string = TOPICS.events): Promise<void> {
  // No local keeps the messages: once the bus has encoded them, they can be collected.
  return bus
    .publish(
      topic,
      events.map((e) => ({ key: actorId(e), value: e })),
      { pack: true },
    )
    .catch((cause: unknown) => {
      throw new AppError("unavailable", "events could not be stored right now; retry later", {
        cause,
        retriable: true,
      });
    });
}
