import { type CollectedEvent, type EventRow, actorId } from "@marquee/contracts";

/** ClickHouse DateTime64(3) text in UTC: '2026-11-25 18:00:00.123'. */
export function toClickHouseTime(iso: string | number | Date): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new Error(`invalid time ${String(iso)}`);
  return d.toISOString().replace("T", " ").replace("Z", "");
}

export function toEventRow(e: CollectedEvent): EventRow {
  const ctx = e.context;
  return {
    event_id: e.event_id,
    type: e.type,
    occurred_at: toClickHouseTime(e.occurred_at),
    received_at: toClickHouseTime(e.received_at),
    user_id: e.user_id ?? "",
    anonymous_id: e.anonymous_id ?? "",
    actor_id: actorId(e),
    session_id: e.session_id ?? "",
    item_id: "item_id" in e && typeof e.item_id === "string" ? e.item_id : "",
    device: ctx.device,
    page: ctx.page ?? "",
    row_id: ctx.row ?? "",
    position: ctx.position ?? -1,
    model_version: ctx.model_version ?? "",
    variant: ctx.variant ?? "",
    payload: JSON.stringify(e.payload ?? {}),
  };
}
