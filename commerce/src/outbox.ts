import { EventSchema, TOPICS } from "@marquee/contracts";
import type { Database } from "@marquee/runtime";
import { outbox } from "./schema.ts";

export interface OutboxEvent {
  /** The event's id (a UUID; UUIDv7 for events.v1): the idempotency key end to end. */
  id: string;
  topic: string;
  key: string;
  payload: unknown;
  headers?: Record<string, string>;
}

/**
 * Record events to publish, inside the caller's transaction, beside the business change:
 *
 *   await db.transaction(async (tx) => {
 *     await tx.insert(orders).values(order);
 *     await enqueueOutbox(tx, [{ id: eventId, topic: TOPICS.events, key: userId, payload }]);
 *   });
 *
 * Commit and both exist; roll back and neither does. The relay publishes them later. Enqueuing
 * an id that is already there does nothing (a retried business operation announces once).
 */
export async function enqueueOutbox(
  tx: Pick<Database<Record<string, unknown>>, "insert">,
  events: OutboxEvent[],
): Promise<void> {
  if (events.length === 0) return;
  // An event the loader would refuse must never enter the outbox: the relay publishes in order,
  // so one poison row would hold back every row behind it. Fail the business change instead.
  for (const e of events) {
    if (e.topic !== TOPICS.events) continue;
    const checked = EventSchema.safeParse(e.payload);
    const receivedAt = (e.payload as { received_at?: unknown } | null)?.received_at;
    if (!checked.success || typeof receivedAt !== "string" || Number.isNaN(Date.parse(receivedAt)))
      throw new Error(
        `outbox event ${e.id} is not a valid ${TOPICS.events} event: ${
          checked.success ? "received_at must be an ISO 8601 timestamp" : checked.error.issues[0]?.message
        }`,
      );
  }
  await tx
    .insert(outbox)
    .values(events.map((e) => ({ id: e.id, topic: e.topic, key: e.key, payload: e.payload, headers: e.headers ?? {} })))
    .onConflictDoNothing({ target: outbox.id });
}
