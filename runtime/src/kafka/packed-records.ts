import type { IHeaders } from "kafkajs";
import type { BusMessage } from "../bus.ts";
import { partitionOf } from "./partitioner.ts";

/**
 * `content-type` header of a packed record: several bus messages bound for one partition, in
 * publish order, their JSON values one per line (JSON.stringify never writes a raw newline),
 * their keys as a JSON array in the `x-keys` header. Plain records (one JSON value, no such
 * header) are what every earlier producer wrote and still write; subscribers read both.
 */
export const PACKED_CONTENT_TYPE = "application/vnd.marquee.batch+ndjson; v=2";
export const PACKED_KEYS_HEADER = "x-keys";
/** A packed record holds at most this many messages or bytes (then the next one starts). */
const PACK_MAX_MESSAGES = 2_000;
const PACK_MAX_BYTES = 512 * 1024;

export interface OutRecord {
  key: string;
  value: Buffer | string;
  headers?: IHeaders;
  partition?: number;
  /** Packed records only: how many bus messages the record holds. */
  count?: number;
}

/** Line `index` of a packed record, as the bytes it was sent as (for the DLQ). */
export function lineBytes(value: Buffer, index: number): Buffer {
  let from = 0;
  for (let i = 0; i < index; i++) from = value.indexOf(10, from) + 1;
  const to = value.indexOf(10, from);
  return value.subarray(from, to < 0 ? value.length : to);
}

/**
 * One produce request's records for a topic, with packed records bound for the same partition
 * merged (up to the pack limits). A publish packs its own messages, one record per partition;
 * small publishes (a browser's 40 events) would otherwise cost a record per partition each, and
 * records cost the producer, the broker and the loader per record. Order holds: a packed record
 * only ever joins its partition's latest record, and a plain record (its partition chosen later,
 * by key) ends every merge.
 */
export function mergePacked(records: OutRecord[]): OutRecord[] {
  const out: OutRecord[] = [];
  const latest = new Map<number, number>();
  for (const r of records) {
    if (r.count === undefined || r.partition === undefined || typeof r.value !== "string") {
      latest.clear();
      out.push(r);
      continue;
    }
    const at = latest.get(r.partition);
    const into = at === undefined ? undefined : out[at];
    if (
      into?.count !== undefined &&
      typeof into.value === "string" &&
      into.count + r.count <= PACK_MAX_MESSAGES &&
      into.value.length + r.value.length < PACK_MAX_BYTES
    ) {
      const keys = String(into.headers?.[PACKED_KEYS_HEADER]);
      const more = String(r.headers?.[PACKED_KEYS_HEADER]);
      out[at as number] = {
        key: into.key,
        value: `${into.value}\n${r.value}`,
        partition: r.partition,
        // Two JSON arrays of strings, joined without parsing them: [a,b] + [c] = [a,b,c].
        headers: { "content-type": PACKED_CONTENT_TYPE, [PACKED_KEYS_HEADER]: `${keys.slice(0, -1)},${more.slice(1)}` },
        count: into.count + r.count,
      };
    } else {
      latest.set(r.partition, out.length);
      out.push(r);
    }
  }
  return out;
}

/** One record per message, its value as JSON, its partition left to the producer (by key). */
export function plainRecords<T>(messages: BusMessage<T>[]): OutRecord[] {
  return messages.map((m) => ({
    key: m.key,
    value: JSON.stringify(m.value),
    ...(m.headers ? { headers: m.headers } : {}),
  }));
}

/**
 * One record per partition (per PACK_MAX_MESSAGES / PACK_MAX_BYTES), in publish order, sent to
 * that partition explicitly: the one the default partitioner gives each message's key, so a
 * key's packed and plain messages share a partition. Its key is its first message's key.
 */
export function packRecords<T>(messages: BusMessage<T>[], partitions: number): OutRecord[] {
  const open = new Map<number, { keys: string[]; lines: string[]; bytes: number }>();
  const records: OutRecord[] = [];
  const seal = (partition: number, p: { keys: string[]; lines: string[] }) => {
    records.push({
      key: p.keys[0] as string,
      value: p.lines.join("\n"),
      partition,
      headers: { "content-type": PACKED_CONTENT_TYPE, [PACKED_KEYS_HEADER]: JSON.stringify(p.keys) },
      count: p.keys.length,
    });
  };
  // A browser's request carries one viewer's events: hash each distinct key once.
  const partitionOfKey = new Map<string, number>();
  for (const m of messages) {
    let partition = partitionOfKey.get(m.key);
    if (partition === undefined) {
      partition = partitionOf(m.key, partitions);
      partitionOfKey.set(m.key, partition);
    }
    const line = JSON.stringify(m.value);
    let p = open.get(partition);
    if (p && (p.keys.length >= PACK_MAX_MESSAGES || p.bytes + line.length > PACK_MAX_BYTES)) {
      seal(partition, p);
      p = undefined;
    }
    if (!p) {
      p = { keys: [], lines: [], bytes: 0 };
      open.set(partition, p);
    }
    p.keys.push(m.key);
    p.lines.push(line);
    p.bytes += line.length + 1;
  }
  for (const [partition, p] of open) seal(partition, p);
  return records;
}

/**
 * A packed record's messages: its keys (from the header) and its lines, one each, or null when
 * the framing is broken (the header does not name one string key per line).
 */
export function unpackRecord(
  keysHeader: string | undefined,
  value: Buffer,
): { keys: string[]; lines: string[] } | null {
  let keys: unknown;
  try {
    keys = JSON.parse(keysHeader ?? "");
  } catch {
    keys = null;
  }
  // One UTF-8 decode for the whole record (a newline byte is always a newline character).
  const lines = value.toString("utf8").split("\n");
  if (!Array.isArray(keys) || keys.length !== lines.length || !keys.every((k) => typeof k === "string")) return null;
  return { keys: keys as string[], lines };
}
