import { createHash } from "node:crypto";
import {
  actorId,
  type CollectedEvent,
  describeIssues,
  EVENTS_TABLE,
  EventSchema,
  ITEM_EVENT_TYPES,
  parseEventFast,
  TOPICS,
} from "@marquee/contracts";
import {
  type BusBatch,
  type ClickHouseClient,
  type EventBus,
  isKafkaBatch,
  KafkaBus,
  type KafkaBusBatch,
  type Logger,
  type OnlineStore,
  PoisonMessageError,
  type RecentInteraction,
} from "@marquee/runtime";
import { EVENT_VALUE_COLUMNS, eventValuesHead, sourceValues } from "./event-row.ts";

const ITEM_TYPES = new Set<string>(ITEM_EVENT_TYPES);
/** Set by the outbox relay on what it publishes: the outbox row's (and the event's) id. */
const OUTBOX_ID_HEADER = "x-outbox-id";
/** Impressions are the bulk of traffic and say little about taste: keep them out of histories. */
const HISTORY_EXCLUDED = new Set(["impression"]);
/** Rows go in as JSONCompactEachRow tuples: the columns, named once per insert. */
const INSERT_INTO = `INSERT INTO ${EVENTS_TABLE} (${EVENT_VALUE_COLUMNS.join(", ")})`;

/** A Kafka slice's rows, waiting to go into ClickHouse with others (EventLoader.insertTogether). */
interface WaitingSlice {
  lines: string[];
  token: string;
  batch: BusBatch<{ received_at: string }>;
  landed: { resolve: () => void; reject: (e: unknown) => void };
}

export interface LoaderOptions {
  clickhouse: ClickHouseClient;
  online: OnlineStore;
  logger: Logger;
  /** Quick retries of a failing insert inside one call, before the batch is given back as failed. */
  retries?: number;
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
  // Events the collector wrote take the fast path (which leaves received_at in place); zod
  // decides, and explains, the rest.
  let event = parseEventFast(value, true) as CollectedEvent | undefined;
  if (event === undefined) {
    const parsed = EventSchema.safeParse(value);
    if (!parsed.success) throw new PoisonMessageError(describeIssues(parsed.error));
    // parsed.data is zod's own copy: add the field rather than copy the event again.
    event = parsed.data as CollectedEvent;
  }
  if (!isReceivedAt(receivedAt)) throw new PoisonMessageError("received_at: must be an ISO 8601 timestamp");
  event.received_at = receivedAt;
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
  /** Its entry in the actor's recent history; null for events that have none (impressions, pages, searches). */
  readonly history: RecentInteraction | null;
}

export function toLoaderRow(e: CollectedEvent): LoaderRow {
  const head = eventValuesHead(e);
  // A template's result is a tree of the event's strings: reading a character flattens it into
  // one string, so the tree's pieces can go with the event.
  head.charCodeAt(0);
  return { head, event_id: e.event_id, received_at: e.received_at, actor: actorId(e), history: historyEntry(e) };
}

/** decodeCollectedEvent, kept as the loader keeps it: the Kafka subscription's decoder. */
export function decodeLoaderRow(value: unknown): LoaderRow {
  return toLoaderRow(decodeCollectedEvent(value));
}

function historyEntry(e: CollectedEvent): RecentInteraction | null {
  if (!ITEM_TYPES.has(e.type) || HISTORY_EXCLUDED.has(e.type) || !("item_id" in e) || !e.item_id) return null;
  const at = Date.parse(e.occurred_at);
  return e.type === "rating"
    ? { item_id: e.item_id, type: e.type, at, value: (e.payload as { value: number }).value }
    : { item_id: e.item_id, type: e.type, at };
}

const isLoaderRow = (v: CollectedEvent | LoaderRow): v is LoaderRow => typeof (v as LoaderRow).head === "string";

/** The events of one collector request share their received_at: remember the last good one. */
let lastReceivedAt = "";
function isReceivedAt(v: unknown): v is string {
  if (typeof v !== "string") return false;
  if (v === lastReceivedAt) return true;
  if (Number.isNaN(Date.parse(v))) return false;
  lastReceivedAt = v;
  return true;
}

/**
 * Writes batches of events to ClickHouse (one insert per batch) and then to the online store.
 *
 * Nothing stored twice, by two mechanisms:
 *  - every insert carries `insert_deduplication_token`: for Kafka batches
 *    `<topic>-<partition>-<firstOffset>-<lastOffset>`, otherwise a hash of the event ids. The
 *    events table (and the views' tables) keep a deduplication window, so the same batch
 *    retried after a timeout whose insert did land is a no-op;
 *  - rows from Kafka carry their source partition and offset. Per partition, inserts are
 *    sequential and in offset order, so after a restart (or a partition moving between
 *    loaders) everything at or below the highest stored offset is known to be stored and is
 *    skipped, even when the replayed batch is cut differently from the first attempt.
 */
export class EventLoader {
  /** Per topic-partition: the highest offset known stored, and the offset we expect next. */
  private readonly watermarks = new Map<string, { stored: bigint; next: bigint }>();
  /** Kafka slices waiting for the insert in flight to finish: they go in together next. */
  private readonly waiting: WaitingSlice[] = [];
  private inserting = false;

  constructor(private readonly options: LoaderOptions) {}

  /** Kafka batches carry LoaderRows (what the subscription decodes to) or, in tests, events. */
  async load(batch: BusBatch<CollectedEvent> | KafkaBusBatch<CollectedEvent | LoaderRow>): Promise<void> {
    if (isKafkaBatch(batch)) return this.loadKafka(batch);
    const events = (batch as BusBatch<CollectedEvent>).messages.map((m) => m.value);
    if (events.length === 0) return;
    const token = createHash("sha256")
      .update(events.map((e) => e.event_id).join(","))
      .digest("hex");
    // Not from Kafka: the source columns' defaults ('', -1, -1), written out.
    let rows = events.map(toLoaderRow);
    const outboxAt = batch.messages.flatMap((m, i) => (m.headers?.[OUTBOX_ID_HEADER] === undefined ? [] : [i]));
    if (outboxAt.length > 0) {
      const drop = await this.storedOutboxEvents(rows, outboxAt);
      rows = rows.filter((_, i) => !drop.has(i));
      if (rows.length === 0) return;
    }
    const source = sourceValues("", -1, "-1");
    await this.insert(
      rows.map((row) => row.head + source),
      token,
      batch,
    );
    await this.updateHistories(rows);
  }

  private async loadKafka(batch: KafkaBusBatch<CollectedEvent | LoaderRow>): Promise<void> {
    const key = `${batch.topic}:${batch.partition}`;
    const first = BigInt(batch.firstOffset);
    const last = BigInt(batch.lastOffset);
    let mark = this.watermarks.get(key);
    if (!mark || mark.next !== first) {
      // First batch of this partition since start, or not the one we expected: ask ClickHouse.
      const stored = await this.storedOffset(batch.topic, batch.partition);
      mark = { stored, next: first };
      if (stored >= first) {
        this.options.logger.info(
          { topic: batch.topic, partition: batch.partition, stored: String(stored), first: batch.firstOffset },
          "replayed offsets already stored: skipping them",
        );
      }
    }
    const stored = mark.stored;
    const fresh: LoaderRow[] = [];
    const lines: string[] = [];
    /** Where in `fresh` the outbox's events are (usually nowhere). */
    let outboxAt: number[] | null = null;
    // Messages unpacked from one record share its offset: compare offsets, and write the
    // source columns, once per record.
    let offset: string | null = null;
    let source = "";
    let isFresh = true;
    for (const m of batch.messages) {
      if (m.offset !== offset) {
        offset = m.offset;
        isFresh = stored < first || BigInt(m.offset) > stored;
        source = sourceValues(batch.topic, batch.partition, m.offset);
      }
      if (!isFresh) continue;
      const row = isLoaderRow(m.value) ? m.value : toLoaderRow(m.value);
      if (m.headers?.[OUTBOX_ID_HEADER] !== undefined) {
        outboxAt ??= [];
        outboxAt.push(fresh.length);
      }
      fresh.push(row);
      lines.push(row.head + source);
    }
    let rows = fresh;
    let body = lines;
    if (outboxAt !== null) {
      const drop = await this.storedOutboxEvents(fresh, outboxAt);
      if (drop.size > 0) {
        rows = fresh.filter((_, i) => !drop.has(i));
        body = lines.filter((_, i) => !drop.has(i));
      }
    }
    if (body.length > 0) {
      const token = `${batch.topic}-${batch.partition}-${batch.firstOffset}-${batch.lastOffset}`;
      try {
        await this.insertTogether(body, token, batch);
      } catch (e) {
        // It may have landed all the same (a timeout on the way back), and its retry may be
        // combined with other slices: ask ClickHouse what it has before the next try.
        this.watermarks.delete(key);
        throw e;
      }
      await this.updateHistories(rows);
    }
    this.watermarks.set(key, { stored: last > stored ? last : stored, next: last + 1n });
  }

  /**
   * Group commit: a slice whose partition's batch is ready goes into ClickHouse with every other
   * slice that became ready while the previous insert ran, as one INSERT. Each insert costs a
   * fixed ~15 ms of ClickHouse work (three tables' parts, the views' pipelines) whatever its
   * size, and chDB runs one query at a time, so fewer, larger inserts let the loader keep up.
   * The token is the slices' tokens joined; each slice still commits its offsets only after the
   * insert that carried it landed, and a partition holds one slice at a time, in offset order.
   */
  private insertTogether(lines: string[], token: string, batch: BusBatch<{ received_at: string }>): Promise<void> {
    const landed = new Promise<void>((resolve, reject) => {
      this.waiting.push({ lines, token, batch, landed: { resolve, reject } });
    });
    if (!this.inserting) void this.drainWaiting();
    return landed;
  }

  private async drainWaiting(): Promise<void> {
    this.inserting = true;
    try {
      while (this.waiting.length > 0) {
        const slices = this.waiting.splice(0);
        const token = slices.map((s) => s.token).join(",");
        // What onInserted sees: one batch of everything the insert carried.
        const carried = {
          topic: (slices[0] as WaitingSlice).batch.topic,
          messages: slices.flatMap((s) => s.batch.messages),
        };
        try {
          await this.insert(
            slices.flatMap((s) => s.lines),
            token,
            carried,
          );
          for (const s of slices) s.landed.resolve();
        } catch (e) {
          for (const s of slices) s.landed.reject(e);
        }
      }
    } finally {
      this.inserting = false;
    }
  }

  /**
   * Outbox events are published at least once: a relay that dies after Kafka's acknowledgement
   * but before it marks its rows sent publishes them again (same event id, `x-outbox-id`). They
   * are few (purchases, rentals, refunds), so each batch that carries any asks ClickHouse which
   * of their ids it already has (by actor, the table's first key) and drops those, and any repeat
   * inside the batch. Collector events skip this: their duplicates are ruled out by offsets.
   */
  private async storedOutboxEvents(rows: LoaderRow[], outboxAt: number[]): Promise<Set<number>> {
    const candidates = outboxAt.map((i) => rows[i] as LoaderRow);
    const rs = await this.options.clickhouse.query({
      query: `SELECT DISTINCT toString(event_id) AS id FROM ${EVENTS_TABLE}
              WHERE actor_id IN {actors:Array(String)} AND toString(event_id) IN {ids:Array(String)}`,
      query_params: {
        actors: [...new Set(candidates.map((r) => r.actor))],
        ids: candidates.map((r) => r.event_id.toLowerCase()),
      },
      format: "JSONEachRow",
    });
    const seen = new Set((await rs.json<{ id: string }>()).map((r) => r.id));
    const drop = new Set<number>();
    for (const i of outboxAt) {
      const id = (rows[i] as LoaderRow).event_id.toLowerCase();
      if (seen.has(id)) drop.add(i);
      else seen.add(id); // a repeat later in this batch goes too
    }
    if (drop.size > 0) this.options.logger.info({ dropped: drop.size }, "outbox events already stored: skipped");
    return drop;
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
   * body after the query), with none of the client's per-row encoding and streams.
   */
  private async insert(rows: string[], token: string, batch: BusBatch<{ received_at: string }>): Promise<void> {
    // The token goes in the statement, not in clickhouse_settings: chDB applies those as a
    // session-wide SET, which would leave the token on every later insert of the process
    // (silently dropping them as duplicates). Tokens are built from topic names and digits.
    const safe = token.replace(/[^A-Za-z0-9._:-]/g, "_");
    const query =
      `${INSERT_INTO} SETTINGS insert_deduplication_token = '${safe}', ` +
      `deduplicate_blocks_in_dependent_materialized_views = 1 FORMAT JSONCompactEachRow\n${rows.join("\n")}`;
    const retries = this.options.retries ?? 3;
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
        break;
      } catch (e) {
        if (attempt >= retries) throw e;
        const delay = 50 * 2 ** attempt;
        this.options.logger.warn({ err: e, attempt, delay, rows: rows.length }, "events insert failed, retrying");
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    await this.options.onInserted?.({ rows: rows.length, token: safe, batch });
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

/** Write one batch (kept for callers of step 1's function). */
export async function loadBatch(batch: BusBatch<CollectedEvent>, options: LoaderOptions): Promise<void> {
  await new EventLoader(options).load(batch);
}

/**
 * Subscribe the loader to the events topic. On Kafka: a consumer group whose batches are cut to
 * `batchRows` rows or `batchMs`, poison messages dead-lettered to events.v1.dlq, offsets committed
 * after the insert; in-process: every published batch, as it is published.
 */
export async function startLoader(
  bus: EventBus,
  options: LoaderOptions,
  kafka: KafkaLoaderOptions = {},
): Promise<EventLoader> {
  const loader = new EventLoader(options);
  const group = kafka.group ?? "clickhouse-loader";
  const topic = kafka.topic ?? TOPICS.events;
  if (bus instanceof KafkaBus) {
    const consumers = Math.max(1, kafka.consumers ?? 2);
    const concurrency = Math.max(1, Math.ceil((kafka.concurrency ?? 6) / consumers));
    // Members of one group (the partitions are shared out between them), feeding one loader:
    // its group commit puts their batches into the same inserts.
    for (let i = 0; i < consumers; i++) {
      await bus.subscribe<LoaderRow>(topic, group, (batch) => loader.load(batch as KafkaBusBatch<LoaderRow>), {
        decode: decodeLoaderRow,
        maxBatchMessages: kafka.batchRows ?? 50_000,
        maxWaitMs: kafka.batchMs ?? 250,
        concurrency,
      });
    }
  } else {
    await bus.subscribe<CollectedEvent>(topic, group, (batch) => loader.load(batch));
  }
  return loader;
}
