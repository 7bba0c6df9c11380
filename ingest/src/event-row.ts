import { actorId, type CollectedEvent, type EventRow } from "@marquee/contracts";
import { clickHouseTime } from "@marquee/runtime";

/** 'YYYY-MM-DDThh:mm:ss.sssZ', what Date#toISOString and the collector produce. */
const ISO_UTC_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** clickHouseTime, without a Date round trip for the common case (the loader's hot path). */
function chTime(at: string): string {
  return ISO_UTC_MS.test(at) ? `${at.slice(0, 10)} ${at.slice(11, 23)}` : clickHouseTime(at);
}

export function toEventRow(e: CollectedEvent): EventRow {
  const ctx = e.context;
  return {
    event_id: e.event_id,
    type: e.type,
    occurred_at: chTime(e.occurred_at),
    received_at: chTime(e.received_at),
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
