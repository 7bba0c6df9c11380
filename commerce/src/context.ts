import { TOPICS, uuidV7At } from "@marquee/contracts";
import type { Logger } from "@marquee/runtime";
import type { Accounts } from "./accounts.ts";
import type { CommerceDb } from "./catalog.ts";
import type { OutboxEvent } from "./outbox.ts";
import type { PaymentGateway } from "./payments/gateway.ts";

/** What every commerce service shares: the database, the payment provider and the clock. */
export interface CommerceContext {
  db: CommerceDb;
  gateway: PaymentGateway;
  accounts: Accounts;
  log: Logger;
  now: () => Date;
  /** Default platform fee for new sellers, basis points. */
  platformFeeBps: number;
}

/** A business event for events.v1 (same envelope as the tracker's), keyed by the user. */
export function businessEvent(
  type: "purchase" | "rental_start" | "refund",
  userId: string,
  itemId: string,
  payload: Record<string, unknown>,
  at: Date,
): OutboxEvent {
  const id = uuidV7At(at.getTime());
  return {
    id,
    topic: TOPICS.events,
    key: userId,
    payload: {
      event_id: id,
      occurred_at: at.toISOString(),
      // The loader stores the server's receipt time beside the client's; commerce is the server.
      received_at: at.toISOString(),
      type,
      user_id: userId,
      item_id: itemId,
      context: { device: "other", page: "commerce" },
      payload,
    },
    headers: { source: "commerce" },
  };
}

/**
 * A catalogue change for catalog.titles.v1, keyed by the title: published, withdrawn, or
 * updated (a reviewed revision of a published title applied; `changed` names its fields).
 */
export function titleEvent(
  type: "published" | "withdrawn" | "updated",
  titleId: string,
  by: string,
  at: Date,
  extra: { changed?: string[] } = {},
): OutboxEvent {
  const id = uuidV7At(at.getTime());
  return {
    id,
    topic: TOPICS.catalogTitles,
    key: titleId,
    payload: { event_id: id, occurred_at: at.toISOString(), type, title_id: titleId, by, ...extra },
    headers: { source: "commerce" },
  };
}
