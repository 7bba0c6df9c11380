import { actorId, type CollectedEvent, type EventRow } from "@marquee/contracts";
import { clickHouseTime } from "@marquee/runtime";

export function toEventRow(e: CollectedEvent): EventRow {
  const ctx = e.context;
  return {
    event_id: e.event_id,
    type: e.type,
    occurred_at: clickHouseTime(e.occurred_at),
    received_at: clickHouseTime(e.received_at),
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
