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

/** The columns of the loader's rows, in order: an EventRow's, then where on Kafka it came from. */
export const EVENT_VALUE_COLUMNS = [
  "event_id",
  "type",
  "occurred_at",
  "received_at",
  "user_id",
  "anonymous_id",
  "actor_id",
  "session_id",
  "item_id",
  "device",
  "page",
  "row_id",
  "position",
  "model_version",
  "variant",
  "payload",
  "source_topic",
  "source_partition",
  "source_offset",
] as const;

/** Characters JSON.stringify would escape: the quote, the backslash, controls, lone surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
/** JSON.stringify(s), without its cost for the usual string that needs no escaping. */
const text = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`);

/**
 * The loader's JSONCompactEachRow line: toEventRow's values and the Kafka source, in
 * EVENT_VALUE_COLUMNS order, the very characters JSON.stringify of that array gives, written
 * directly at about a third of its cost.
 */
export function eventValuesLine(e: CollectedEvent, topic: string, partition: number, offset: string): string {
  return `${eventValuesHead(e)}${sourceValues(topic, partition, offset)}`;
}

/**
 * The line of eventValuesLine up to its source columns: what the loader keeps of an event while
 * its batch is stored (the source is added when the batch is cut). Ids, the type and the device
 * went through EventSchema (letters, digits and `_.:-` only), and chTime is as plain, so only
 * free text is checked for escaping.
 */
export function eventValuesHead(e: CollectedEvent): string {
  const ctx = e.context;
  const item = "item_id" in e && typeof e.item_id === "string" ? e.item_id : "";
  return (
    `["${e.event_id}","${e.type}","${chTime(e.occurred_at)}","${chTime(e.received_at)}",` +
    `"${e.user_id ?? ""}","${e.anonymous_id ?? ""}","${actorId(e)}","${e.session_id ?? ""}","${item}",` +
    `"${ctx.device}",${text(ctx.page ?? "")},${text(ctx.row ?? "")},${ctx.position ?? -1},` +
    `${text(ctx.model_version ?? "")},${text(ctx.variant ?? "")},${JSON.stringify(JSON.stringify(e.payload ?? {}))}`
  );
}

/** The end of a row: its Kafka source (topic names are `[A-Za-z0-9._-]`, so plain too). */
export function sourceValues(topic: string, partition: number, offset: string): string {
  return `,"${topic}",${partition},"${offset}"]`;
}
