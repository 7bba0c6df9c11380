import { type TitleState, TOPICS, uuidV7At } from "@marquee/contracts";
import type { Logger } from "@marquee/runtime";
import type { Accounts } from "./accounts.ts";
import type { CommerceDb } from "./catalog.ts";
import type { OutboxEvent } from "./outbox.ts";
import type { PaymentGateway } from "./payments/gateway.ts";
import type { titles } from "./schema.ts";

/** What every commerce service shares: the database, the payment provider and the clock. */
export interface CommerceContext {
  db: CommerceDb;
  gateway: PaymentGateway;
  accounts: Accounts;
  log: Logger;
  now: () => Date;
  /** Default platform fee for new sellers, basis points. */
  platformFeeBps: number;
  /** Why a title's film is not ready for review, or null (see CommerceOptions.filmProblem). */
  filmProblem?: (titleId: string) => Promise<string | null>;
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

/** A catalogue row as catalog.titles.v1 carries it (the titles dimension's columns). */
export function titleState(t: typeof titles.$inferSelect): TitleState {
  return {
    id: t.id,
    title: t.title,
    genres: t.genres,
    year: t.year,
    age_rating: t.ageRating,
    status: t.status,
    regions: t.regions,
    updated_at: t.updatedAt.toISOString(),
  };
}

/**
 * A catalogue change for catalog.titles.v1, keyed by the title: published, withdrawn, or
 * updated (a reviewed revision of a published title applied; `changed` names its fields),
 * carrying the title's row as the change left it, read in the change's own transaction.
 */
export function titleEvent(
  type: "published" | "withdrawn" | "updated",
  title: typeof titles.$inferSelect,
  by: string,
  at: Date,
  extra: { changed?: string[] } = {},
): OutboxEvent {
  const id = uuidV7At(at.getTime());
  return {
    id,
    topic: TOPICS.catalogTitles,
    key: title.id,
    payload: {
      event_id: id,
      occurred_at: at.toISOString(),
      type,
      title_id: title.id,
      by,
      ...extra,
      title: titleState(title),
    },
    headers: { source: "commerce" },
  };
}
