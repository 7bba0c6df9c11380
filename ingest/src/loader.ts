import { createHash } from "node:crypto";
import {
  actorId,
  type CollectedEvent,
  describeIssues,
  EVENTS_TABLE,
  EventSchema,
  ITEM_EVENT_TYPES,
  MAX_EVENT_YEAR,
  MIN_EVENT_YEAR,
  parseEventFast,
  TOPICS,
} from "@marquee/contracts";
import {
  type BatchOutcome,
  type BusBatch,
  type BusMessage,
  type ClickHouseClient,
  type Counter,
  type EventBus,
  isKafkaBatch,
  type Logger,
  type OnlineStore,
  PoisonMessageError,
  Counter as PromCounter,
  type RecentInteraction,
  type Registry,
} from "@marquee/runtime";
import { EVENT_VALUE_COLUMNS, eventValuesHead, sourceValues } from "./event-row.ts";
import { classifyInsertError, type InsertErrorClass, insertErrorReason } from "./insert-errors.ts";

const ITEM_TYPES = new Set<string>(ITEM_EVENT_TYPES);
/** Set by the outbox relay on what it publishes: the outbox row's (and the event's) id. */
const OUTBOX_ID_HEADER = "x-outbox-id";
/** Every stored event id, lower-case (a view of events fills it): what inserts are checked against. */
const EVENT_IDS_TABLE = "event_ids";
/** Ids per lookup query. */
const LOOKUP_CHUNK = 10_000;
/** Most inserts spent finding the rows ClickHouse refuses in one failed insert. */
const MAX_ISOLATING_INSERTS = 128;
/** Impressions are the bulk of traffic and say little about taste: keep them out of histories. */
const HISTORY_EXCLUDED = new Set(["impression"]);
/** Rows go in as JSONCompactEachRow tuples: the columns, named once per insert. */
const INSERT_INTO = `INSERT INTO ${EVENTS_TABLE} (${EVENT_VALUE_COLUMNS.join(", ")})`;

/** A batch's rows, waiting to go into ClickHouse with others (EventLoader.insertTogether). */
interface WaitingSlice {
  rows: LoaderRow[];
  lines: string[];
  /** For each row, its message's index in the batch: what a dead letter names. */
  at: number[];
  token: string;
  batch: BusBatch<unknown>;
  landed: { resolve: (result: SliceResult) => void; reject: (e: unknown) => void };
}

/** What became of a slice's rows: those stored now (for histories), those refused for good. */
interface SliceResult {
  landed: LoaderRow[];
  dead: { index: number; reason: string }[];
}

/** One row of a group insert: its slice and its place in it. */
interface Entry {
  slice: number;
  row: number;
}

export interface LoaderOptions {
  clickhouse: ClickHouseClient;
  online: OnlineStore;
  logger: Logger;
  /**
   * Quick retries of a failing insert inside one call (retriable and unknown errors), before a
   * retriable failure is given back to the bus (which tries the batch again later) and an
   * unknown one is treated as the rows' fault.
   */
  retries?: number;
  /** Where the loader's counters go (marquee_loader_*). */
  metrics?: Registry;
  /** Called after each ClickHouse insert landed, before the bus commits (metrics; crash tests). */
  onInserted?: (info: {
    rows: number;
    token: string;
    batch: BusBatch<{ received_at: string }>;
  }) => void | Promise<void>;
}

export interface KafkaLoaderOptions {
  /** Default events.v1 (tests use their own). */
  topic?: string;
  group?: string;
  /** Most rows per ClickHouse insert. */
  batchRows?: number;
  /** Longest wait for a batch to fill, in ms. */
  batchMs?: number;
  /** Partitions handled at once, over all of this loader's consumers. */
  concurrency?: number;
  /**
   * Consumers this loader runs in its group (default 2). kafkajs fetches again only once every
   * batch of its last fetch was handled, so one consumer leaves the JS thread idle while its
   * batches are inserted; with two, one decodes while the other's insert runs.
   */
  consumers?: number;
}

/**
 * Decode one message from events.v1: anything that is not a valid event (per EventSchema, plus
 * the collector's received_at) is poison, and the bus dead-letters it with the original bytes.
 */
export function decodeCollectedEvent(value: unknown): CollectedEvent {
  const receivedAt = (value as { received_at?: unknown } | null)?.received_at;
  // Any value counts: checking an id that needs no check costs a lookup, the reverse a double.
  const idFromClient = (value as { id_from_client?: unknown } | null)?.id_from_client !== undefined;
  // Events the collector wrote take the fast path (which leaves received_at in place); zod
  // decides, and explains, the rest.
  let event = parseEventFast(value, true) as CollectedEvent | undefined;
  if (event === undefined) {
    const parsed = EventSchema.safeParse(value);
    if (!parsed.success) throw new PoisonMessageError(describeIssues(parsed.error));
    // parsed.data is zod's own copy: add the field rather than copy the event again.
    event = parsed.data as CollectedEvent;
  }
  if (!isReceivedAt(receivedAt))
    throw new PoisonMessageError("received_at: must be an ISO 8601 timestamp in the years 1970–2199");
  event.received_at = receivedAt;
  if (idFromClient) event.id_from_client = true;
  else if (event.id_from_client !== undefined) delete event.id_from_client;
  return event;
}

/**
 * What the Kafka loader keeps of an event from decoding until its batch is stored: its row (up
 * to the source columns) and its entry in the actor's history, not the event. A slice holds tens
 * of thousands of events for as long as its insert takes; keeping whole events alive that long
 * (an object graph and a dozen strings each) made the loader spend more time collecting garbage
 * than loading. The event itself dies young, which is cheap.
 */
export interface LoaderRow {
  /** eventValuesHead(event), one flat string. */
  readonly head: string;
  readonly event_id: string;
  readonly received_at: string;
  readonly actor: string;
  /** Whether its id may already be stored (a client's choice, or an outbox event): looked up before insert. */
  readonly check: boolean;
  /** Its entry in the actor's recent history; null for events that have none (impressions, pages, searches). */
  readonly history: RecentInteraction | null;
}

export function toLoaderRow(e: CollectedEvent): LoaderRow {
  const head = eventValuesHead(e);
  // A template's result is a tree of the event's strings: reading a character flattens it into
  // one string, so the tree's pieces can go with the event.
  head.charCodeAt(0);
  return {
    head,
    event_id: e.event_id,
    received_at: e.received_at,
    actor: actorId(e),
    check: e.id_from_client === true,
    history: historyEntry(e),
  };
}

/** decodeCollectedEvent, kept as the loader keeps it: the Kafka subscription's decoder. */
export function decodeLoaderRow(value: unknown): LoaderRow {
  return toLoaderRow(decodeCollectedEvent(value));
}

/** An event's entry in its actor's recent history (the online store); null for events without one. */
export function historyEntry(e: CollectedEvent): RecentInteraction | null {
  if (!ITEM_TYPES.has(e.type) || HISTORY_EXCLUDED.has(e.type) || !("item_id" in e) || !e.item_id) return null;
  const at = Date.parse(e.occurred_at);
  if (e.type === "rating")
    return { item_id: e.item_id, type: e.type, at, value: (e.payload as { value: number }).value };
  // How far into the film, for Continue watching: the fraction, when the player knew the length.
  if (e.type === "play_progress" || e.type === "play_complete") {
    const p = e.payload as { position_s?: number; watched_s?: number; duration_s?: number };
    const done = e.type === "play_progress" ? p.position_s : p.watched_s;
    if (p.duration_s && p.duration_s > 0 && done !== undefined)
      return { item_id: e.item_id, type: e.type, at, value: Math.min(1, Math.max(0, done / p.duration_s)) };
  }
  return { item_id: e.item_id, type: e.type, at };
}

const isLoaderRow = (v: CollectedEvent | LoaderRow): v is LoaderRow => typeof (v as LoaderRow).head === "string";

const EARLIEST_RECEIVED_MS = Date.UTC(MIN_EVENT_YEAR, 0, 1);
const LATEST_RECEIVED_MS = Date.UTC(MAX_EVENT_YEAR + 1, 0, 1);
/** The events of one collector request share their received_at: remember the last good one. */
let lastReceivedAt = "";
function isReceivedAt(v: unknown): v is string {
  if (typeof v !== "string") return false;
  if (v === lastReceivedAt) return true;
  const at = Date.parse(v);
  // Inside what ClickHouse's DateTime64 holds, like occurred_at (contracts' year range).
  if (!(at >= EARLIEST_RECEIVED_MS && at < LATEST_RECEIVED_MS)) return false;
  lastReceivedAt = v;
  return true;
}

/**
 * Writes batches of events to ClickHouse and then to the online store: one path for every bus
 * (in-process batches and Kafka slices alike), batches that become ready while an insert runs
 * going into the next insert together (group commit).
 *
 * Nothing stored twice:
 *  - by event id: each insert first asks the `event_ids` table (every stored id, kept by a view
 *    of `events`) which of its ids are already stored and leaves those out, and any repeat
 *    within the insert. A client that retries a request (same ids, other neighbours, another
 *    time) is counted once, in `events` and in every view over it; so is an outbox event the
 *    relay published again;
 *  - by offset, for Kafka: rows carry their source partition and offset, and per partition
 *    inserts are sequential and in offset order, so after a restart everything at or below the
 *    highest stored offset is skipped without a lookup;
 *  - every insert carries `insert_deduplication_token`, so an insert retried after a timeout
 *    whose first attempt did land is a no-op (for the views' tables too).
 *
 * A bad row never holds up good ones: an insert ClickHouse refuses for its data is split until
 * the refused rows stand alone, the rest land, and those rows are handed back to the bus as dead
 * letters with the reason (Kafka: events.v1.dlq with their original bytes and source). Errors
 * are classified (insert-errors.ts): the store being away is retried (the batch waits);
 * an unknown error is tried a few times, then treated as the data's and counted on
 * `marquee_loader_dead_letters_total{class="unknown"}` (alert on it).
 */
export class EventLoader {
  /** Per topic-partition: the highest offset known stored, and the offset we expect next. */
  private readonly watermarks = new Map<string, { stored: bigint; next: bigint }>();
  /** Slices waiting for the insert in flight to finish: they go in together next. */
  private readonly waiting: WaitingSlice[] = [];
  private inserting = false;
  private readonly metrics: LoaderMetrics;

  constructor(private readonly options: LoaderOptions) {
    this.metrics = loaderMetrics(options.metrics);
  }

  /**
   * Store one batch (an in-process batch or a Kafka slice, whose messages carry LoaderRows, or
   * in tests events). Resolves once its rows landed, with the messages ClickHouse refuses for
   * good, for the bus to dead-letter; rejects when the store is unavailable (try again later).
   */
  async load(batch: BusBatch<CollectedEvent | LoaderRow>): Promise<BatchOutcome | undefined> {
    const kafka = isKafkaBatch(batch) ? batch : null;
    let stored = -1n;
    let mark: { stored: bigint; next: bigint } | undefined;
    const key = kafka ? `${kafka.topic}:${kafka.partition}` : "";
    if (kafka) {
      const first = BigInt(kafka.firstOffset);
      mark = this.watermarks.get(key);
      if (!mark || mark.next !== first) {
        // First batch of this partition since start, or not the one we expected: ask ClickHouse.
        const known = await this.storedOffset(kafka.topic, kafka.partition);
        mark = { stored: known, next: first };
        if (known >= first) {
          this.options.logger.info(
            { topic: kafka.topic, partition: kafka.partition, stored: String(known), first: kafka.firstOffset },
            "replayed offsets already stored: skipping them",
          );
        }
      }
      stored = mark.stored < first ? -1n : mark.stored;
    }
    const rows: LoaderRow[] = [];
    const lines: string[] = [];
    const at: number[] = [];
    // Messages unpacked from one record share its offset: compare offsets, and write the
    // source columns, once per record. Not from Kafka: the source columns' defaults.
    let offset: string | null = null;
    let source = kafka ? "" : sourceValues("", -1, "-1");
    let isFresh = true;
    const messages = batch.messages;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as BusMessage<CollectedEvent | LoaderRow> & { offset?: string };
      if (kafka && m.offset !== offset) {
        offset = m.offset as string;
        isFresh = stored < 0n || BigInt(offset) > stored;
        source = sourceValues(kafka.topic, kafka.partition, offset);
      }
      if (!isFresh) continue;
      let row = isLoaderRow(m.value) ? m.value : toLoaderRow(m.value);
      // The relay publishes at least once: an outbox event may be stored already.
      if (!row.check && m.headers?.[OUTBOX_ID_HEADER] !== undefined) row = { ...row, check: true };
      rows.push(row);
      lines.push(row.head + source);
      at.push(i);
    }
    let outcome: SliceResult = { landed: [], dead: [] };
    if (rows.length > 0) {
      const token = kafka
        ? `${kafka.topic}-${kafka.partition}-${kafka.firstOffset}-${kafka.lastOffset}`
        : createHash("sha256")
            .update(rows.map((r) => r.event_id).join(","))
            .digest("hex");
      try {
        outcome = await this.insertTogether({ rows, lines, at, token, batch });
      } catch (e) {
        // It may have landed all the same (a timeout on the way back), and its retry may be
        // combined with other slices: ask ClickHouse what it has before the next try.
        if (kafka) this.watermarks.delete(key);
        throw e;
      }
      await this.updateHistories(outcome.landed);
    }
    if (kafka && mark) {
      const last = BigInt(kafka.lastOffset);
      this.watermarks.set(key, { stored: last > mark.stored ? last : mark.stored, next: last + 1n });
    }
    return outcome.dead.length > 0 ? { deadLetters: outcome.dead } : undefined;
  }

  /**
   * Group commit: a slice goes into ClickHouse with every other slice that became ready while
   * the previous insert ran, as one INSERT. Each insert costs a fixed ~15 ms of ClickHouse work
   * (the tables' parts, the views' pipelines) whatever its size, and chDB runs one query at a
   * time, so fewer, larger inserts let the loader keep up. Each slice still commits its offsets
   * only after the insert that carried it landed, and a partition holds one slice at a time, in
   * offset order.
   */
  private insertTogether(slice: Omit<WaitingSlice, "landed">): Promise<SliceResult> {
    const landed = new Promise<SliceResult>((resolve, reject) => {
      this.waiting.push({ ...slice, landed: { resolve, reject } });
    });
    if (!this.inserting) void this.drainWaiting();
    return landed;
  }

  private async drainWaiting(): Promise<void> {
    this.inserting = true;
    try {
      while (this.waiting.length > 0) {
        const slices = this.waiting.splice(0);
        try {
          const results = await this.store(slices);
          for (let i = 0; i < slices.length; i++) (slices[i] as WaitingSlice).landed.resolve(results[i] as SliceResult);
        } catch (e) {
          for (const s of slices) s.landed.reject(e);
        }
      }
    } finally {
      this.inserting = false;
    }
  }

  /**
   * The slices' rows into ClickHouse, less those already stored: one lookup, one insert (more
   * only when ClickHouse refuses some rows). Per slice: the rows that landed now, and the dead.
   */
  private async store(slices: WaitingSlice[]): Promise<SliceResult[]> {
    // Only ids that may be stored already are looked up: those a client chose and the outbox's.
    // The collector's own ids are new by construction (and offsets rule out Kafka's replays),
    // so the usual insert costs no lookup, and nothing is allocated per row on this path.
    const checked: Entry[] = [];
    for (let s = 0; s < slices.length; s++) {
      const rows = (slices[s] as WaitingSlice).rows;
      for (let r = 0; r < rows.length; r++) if ((rows[r] as LoaderRow).check) checked.push({ slice: s, row: r });
    }
    const row = (e: Entry) => (slices[e.slice] as WaitingSlice).rows[e.row] as LoaderRow;
    /** Per slice, the rows left out as already stored (usually none). */
    const skip: (Set<number> | undefined)[] = slices.map(() => undefined);
    let dropped = 0;
    if (checked.length > 0) {
      const ids = checked.map((e) => row(e).event_id.toLowerCase());
      const known = await this.storedIds(ids);
      for (let i = 0; i < checked.length; i++) {
        const id = ids[i] as string;
        const e = checked[i] as Entry;
        if (!known.has(id)) {
          known.add(id); // a repeat later in this insert goes too
          continue;
        }
        const set = skip[e.slice] ?? new Set<number>();
        set.add(e.row);
        skip[e.slice] = set;
        dropped++;
      }
    }
    if (dropped > 0) {
      this.metrics.duplicates.inc(dropped);
      this.options.logger.info({ dropped }, "events already stored (same event id): skipped");
    }
    const kept = (s: number) => {
      const slice = slices[s] as WaitingSlice;
      const out = skip[s];
      return out === undefined ? slice.lines : slice.lines.filter((_, r) => !out.has(r));
    };
    const lines = slices.length === 1 ? kept(0) : slices.flatMap((_, s) => kept(s));
    const token = slices.map((s) => s.token).join(",");
    /** Rows ClickHouse refused for good, and why (usually none). */
    const dead = new Map<string, string>();
    if (lines.length > 0) {
      try {
        await this.insert(lines, token, true);
      } catch (e) {
        const kind = classifyInsertError(e);
        if (kind === "retriable") throw e;
        this.options.logger.warn(
          { err: e, class: kind, rows: lines.length },
          "insert refused: splitting it to find the rows at fault",
        );
        const fresh: Entry[] = [];
        slices.forEach((slice, s) => {
          for (let r = 0; r < slice.rows.length; r++) if (!skip[s]?.has(r)) fresh.push({ slice: s, row: r });
        });
        const line = (x: Entry) => (slices[x.slice] as WaitingSlice).lines[x.row] as string;
        await this.isolate(fresh, line, token, dead, { inserts: MAX_ISOLATING_INSERTS }, { error: e, kind });
      }
      if (this.options.onInserted) {
        // What onInserted sees: one batch of everything the insert carried.
        const carried = {
          topic: (slices[0] as WaitingSlice).batch.topic,
          messages: slices.flatMap((s) => s.batch.messages) as BusMessage<{ received_at: string }>[],
        };
        await this.options.onInserted({ rows: lines.length - dead.size, token: safeToken(token), batch: carried });
      }
    }
    return slices.map((slice, s) => {
      const out = skip[s];
      if (out === undefined && dead.size === 0) return { landed: slice.rows, dead: [] };
      const result: SliceResult = { landed: [], dead: [] };
      for (let r = 0; r < slice.rows.length; r++) {
        if (out?.has(r)) continue;
        const reason = dead.get(`${s}:${r}`);
        if (reason === undefined) result.landed.push(slice.rows[r] as LoaderRow);
        else result.dead.push({ index: slice.at[r] as number, reason });
      }
      return result;
    });
  }

  /**
   * Rows of an insert ClickHouse refused for their data (or for an unknown reason that
   * persisted): halve them and insert the halves, down to single rows, which go to `dead` with
   * the reason (as does what is left once `budget` inserts were spent: a bounded search, so an
   * error every row provokes cannot cost an insert per row). A retriable error on the way is
   * thrown: the whole batch is tried again later, and what landed meanwhile is recognised by
   * its offsets and ids.
   */
  private async isolate(
    part: Entry[],
    line: (e: Entry) => string,
    token: string,
    dead: Map<string, string>,
    budget: { inserts: number },
    failure: { error: unknown; kind: InsertErrorClass },
  ): Promise<void> {
    if (part.length === 1 || budget.inserts <= 0) {
      const reason = insertErrorReason(failure.error);
      for (const e of part) dead.set(`${e.slice}:${e.row}`, reason);
      this.metrics.deadLetters.inc({ class: failure.kind }, part.length);
      this.options.logger.error(
        { err: failure.error, class: failure.kind, rows: part.length },
        "clickhouse refuses these rows: dead-lettering them",
      );
      return;
    }
    const half = Math.ceil(part.length / 2);
    for (const [i, piece] of [part.slice(0, half), part.slice(half)].entries()) {
      budget.inserts--;
      try {
        // Once refused, not retried: the error has shown it persists.
        await this.insert(piece.map(line), `${token}.${i}`, false);
      } catch (e) {
        const kind = classifyInsertError(e);
        if (kind === "retriable") throw e;
        await this.isolate(piece, line, `${token}.${i}`, dead, budget, { error: e, kind });
      }
    }
  }

  /** Which of these (lower-case) event ids ClickHouse already has. */
  private async storedIds(ids: string[]): Promise<Set<string>> {
    const seen = new Set<string>();
    // Chunks keep each query's parameters well inside a server's URL limit (1 MiB). One String
    // split in the engine: an Array(String) parameter of 20k ids took ClickHouse 2.5x longer
    // to parse than the lookup itself.
    for (let from = 0; from < ids.length; from += LOOKUP_CHUNK) {
      const rs = await this.options.clickhouse.query({
        query: `SELECT event_id FROM ${EVENT_IDS_TABLE}
                WHERE event_id IN (SELECT arrayJoin(splitByChar(',', {ids:String})))`,
        query_params: { ids: ids.slice(from, from + LOOKUP_CHUNK).join(",") },
        format: "JSONCompactEachRow",
      });
      for (const [id] of await rs.json<[string]>()) seen.add(id);
    }
    return seen;
  }

  private async storedOffset(topic: string, partition: number): Promise<bigint> {
    const rs = await this.options.clickhouse.query({
      query: `SELECT toString(ifNull(maxOrNull(source_offset), -1)) AS o FROM ${EVENTS_TABLE}
              WHERE source_topic = {topic:String} AND source_partition = {partition:Int32}`,
      query_params: { topic, partition },
      format: "JSONEachRow",
    });
    const [row] = await rs.json<{ o: string }>();
    return BigInt(row?.o ?? "-1");
  }

  /**
   * One INSERT of JSONCompactEachRow lines, the data inline after the statement: one string
   * from here to the engine (chDB takes it as it is; a server reads the data from the request
   * body after the query), with none of the client's per-row encoding and streams. Retriable
   * and unknown errors are tried again a few times (`retries`, with backoff) when `retry`;
   * a permanent one is thrown at once.
   */
  private async insert(rows: string[], token: string, retry: boolean): Promise<void> {
    // The token goes in the statement, not in clickhouse_settings: chDB applies those as a
    // session-wide SET, which would leave the token on every later insert of the process
    // (silently dropping them as duplicates). Tokens are built from topic names and digits.
    const safe = safeToken(token);
    const query =
      `${INSERT_INTO} SETTINGS insert_deduplication_token = '${safe}', ` +
      `deduplicate_blocks_in_dependent_materialized_views = 1 FORMAT JSONCompactEachRow\n${rows.join("\n")}`;
    const retries = retry ? (this.options.retries ?? 3) : 0;
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        const { stream } = await this.options.clickhouse.exec({ query });
        // An INSERT answers nothing, but the answer must be read for its connection to be reused.
        for await (const _ of stream) {
          // drained
        }
        this.options.logger.debug(
          { rows: rows.length, ms: Math.round(performance.now() - started), token: safe },
          "inserted",
        );
        return;
      } catch (e) {
        const kind = classifyInsertError(e);
        this.metrics.insertErrors.inc({ class: kind });
        if (kind === "permanent" || attempt >= retries) throw e;
        const delay = 50 * 2 ** attempt;
        this.options.logger.warn(
          { err: e, class: kind, attempt, delay, rows: rows.length },
          "events insert failed, retrying",
        );
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private async updateHistories(rows: LoaderRow[]): Promise<void> {
    const byActor = new Map<string, RecentInteraction[]>();
    for (const row of rows) {
      if (row.history === null) continue;
      const list = byActor.get(row.actor);
      if (list) list.push(row.history);
      else byActor.set(row.actor, [row.history]);
    }
    if (byActor.size === 0) return;
    await Promise.all([...byActor].map(([actor, list]) => this.options.online.append(actor, list)));
  }
}

/** Tokens are built from topic names and digits; anything else becomes `_`. */
const safeToken = (token: string) => token.replace(/[^A-Za-z0-9._:-]/g, "_");

interface LoaderMetrics {
  duplicates: Counter;
  insertErrors: Counter<"class">;
  deadLetters: Counter<"class">;
}

function loaderMetrics(registry: Registry | undefined): LoaderMetrics {
  const registers = registry ? [registry] : [];
  return {
    duplicates: new PromCounter({
      name: "marquee_loader_duplicate_events_total",
      help: "Events left out because an event with the same id is already stored (client retries, relay replays)",
      registers,
    }),
    insertErrors: new PromCounter({
      name: "marquee_loader_insert_errors_total",
      help: "Failed ClickHouse inserts, by class: retriable (retried), permanent (rows refused), unknown",
      labelNames: ["class"] as const,
      registers,
    }),
    deadLetters: new PromCounter({
      name: "marquee_loader_dead_letters_total",
      help: "Events ClickHouse refused, dead-lettered with the reason, by error class; class=unknown needs a person",
      labelNames: ["class"] as const,
      registers,
    }),
  };
}

/** Write one batch (kept for callers of step 1's function). */
export async function loadBatch(batch: BusBatch<CollectedEvent>, options: LoaderOptions): Promise<void> {
  await new EventLoader(options).load(batch);
}

/**
 * Subscribe the loader to the events topic: every bus hands it batches (on Kafka: a consumer
 * group whose slices are cut to `batchRows` rows or `batchMs`, offsets committed after the
 * insert; in-process: each published batch), decoded to LoaderRows; messages that are not
 * events, and rows ClickHouse refuses, are dead-lettered by the bus.
 */
export async function startLoader(
  bus: EventBus,
  options: LoaderOptions,
  kafka: KafkaLoaderOptions = {},
): Promise<EventLoader> {
  const loader = new EventLoader(options);
  // Members of one group (the partitions are shared out between them), feeding one loader:
  // its group commit puts their batches into the same inserts. In-process, the messages are
  // the publishers' own objects, already EventSchema's (the collector's, commerce's outbox
  // checks its own): decoding them again would cost ~0.7 µs an event for nothing. load()
  // takes events and LoaderRows alike.
  await bus.subscribe<LoaderRow | CollectedEvent>(
    kafka.topic ?? TOPICS.events,
    kafka.group ?? "clickhouse-loader",
    (batch) => loader.load(batch),
    {
      ...(bus.kind === "kafka" ? { decode: decodeLoaderRow } : {}),
      maxBatchMessages: kafka.batchRows ?? 50_000,
      maxWaitMs: kafka.batchMs ?? 250,
      concurrency: kafka.concurrency ?? 6,
      consumers: kafka.consumers ?? 2,
    },
  );
  return loader;
}
