import { createHash } from "node:crypto";
import { actorId, type CollectedEvent, EVENTS_TABLE, ITEM_EVENT_TYPES, TOPICS } from "@marquee/contracts";
import type { BusBatch, ClickHouseClient, EventBus, Logger, OnlineStore, RecentInteraction } from "@marquee/runtime";
import { toEventRow } from "./event-row.ts";

const ITEM_TYPES = new Set<string>(ITEM_EVENT_TYPES);
/** Impressions are the bulk of traffic and say little about taste: keep them out of histories. */
const HISTORY_EXCLUDED = new Set(["impression"]);

export interface LoaderOptions {
  clickhouse: ClickHouseClient;
  online: OnlineStore;
  logger: Logger;
  /** Retries of a failing insert before the batch is given back to the bus as failed. */
  retries?: number;
}

/**
 * Write one batch: all rows in a single ClickHouse insert, then the online histories. The
 * insert carries a deduplication token derived from the batch's event ids, so a batch that is
 * retried (after a timeout whose insert did land) is stored once.
 */
export async function loadBatch(batch: BusBatch<CollectedEvent>, options: LoaderOptions): Promise<void> {
  const events = batch.messages.map((m) => m.value);
  if (events.length === 0) return;
  const rows = events.map(toEventRow);
  const token = createHash("sha256")
    .update(events.map((e) => e.event_id).join(","))
    .digest("hex");
  const retries = options.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      await options.clickhouse.insert({
        table: EVENTS_TABLE,
        values: rows,
        format: "JSONEachRow",
        clickhouse_settings: { insert_deduplication_token: token },
      });
      break;
    } catch (e) {
      if (attempt >= retries) throw e;
      const delay = 50 * 2 ** attempt;
      options.logger.warn({ err: e, attempt, delay, rows: rows.length }, "events insert failed, retrying");
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  const byActor = new Map<string, RecentInteraction[]>();
  for (const e of events) {
    if (!ITEM_TYPES.has(e.type) || HISTORY_EXCLUDED.has(e.type) || !("item_id" in e) || !e.item_id) continue;
    const list = byActor.get(actorId(e)) ?? [];
    const value = e.type === "rating" ? (e.payload as { value: number }).value : undefined;
    list.push({
      item_id: e.item_id,
      type: e.type,
      at: Date.parse(e.occurred_at),
      ...(value === undefined ? {} : { value }),
    });
    byActor.set(actorId(e), list);
  }
  await Promise.all([...byActor].map(([actor, list]) => options.online.append(actor, list)));
}

/** Subscribe the loader to the events topic. */
export async function startLoader(bus: EventBus, options: LoaderOptions): Promise<void> {
  await bus.subscribe<CollectedEvent>(TOPICS.events, "clickhouse-loader", (batch) => loadBatch(batch, options));
}
