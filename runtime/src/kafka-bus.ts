import kafkajs, {
  type Admin,
  CompressionTypes,
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  Kafka,
  type KafkaMessage,
  logLevel,
  type Producer,
} from "kafkajs";
import { compressFrame, decompressFrame } from "lz4-napi";
import type { BatchHandler, BusBatch, BusMessage, EventBus, PublishOptions } from "./bus.ts";
import type { Logger } from "./logger.ts";

/** Where a message came from: what the loader derives dedup tokens and watermarks from. */
export interface KafkaBusMessage<T = unknown> extends BusMessage<T> {
  partition: number;
  /** Kafka offsets are int64: kept as decimal strings, compared as BigInt. */
  offset: string;
  /** Position inside a packed record (which shares one offset); absent for a plain record. */
  index?: number;
}

/**
 * `content-type` header of a packed record: several bus messages bound for one partition, in
 * publish order, their JSON values one per line (JSON.stringify never writes a raw newline),
 * their keys as a JSON array in the `x-keys` header. Plain records (one JSON value, no such
 * header) are what every earlier producer wrote and still write; subscribers read both.
 */
export const PACKED_CONTENT_TYPE = "application/vnd.marquee.batch+ndjson; v=2";
const PACKED_KEYS_HEADER = "x-keys";
/** A packed record holds at most this many messages or bytes (then the next one starts). */
const PACK_MAX_MESSAGES = 2_000;
const PACK_MAX_BYTES = 512 * 1024;
/** How long a topic's partition count is trusted before it is looked up again (in the background). */
const PARTITIONS_TTL_MS = 60_000;

/** A batch from one partition, offsets contiguous except for dead-lettered messages. */
export interface KafkaBusBatch<T = unknown> extends BusBatch<T> {
  messages: KafkaBusMessage<T>[];
  partition: number;
  firstOffset: string;
  lastOffset: string;
}

export function isKafkaBatch<T>(batch: BusBatch<T>): batch is KafkaBusBatch<T> {
  return typeof (batch as Partial<KafkaBusBatch<T>>).partition === "number";
}

/** Thrown by a subscriber's `decode` for a message that can never be handled: it goes to the DLQ. */
export class PoisonMessageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PoisonMessageError";
  }
}

export interface KafkaSubscribeOptions<T> {
  /**
   * Hand the handler each record's value bytes (a Buffer) instead of parsed JSON, packed
   * records not unpacked: for reading DLQs.
   */
  raw?: boolean;
  /**
   * Turn a message's value (already JSON-parsed) into T, or throw: the message then goes to
   * `<topic>.dlq` with its original bytes and headers plus where it came from and why.
   */
  decode?: (value: unknown) => T;
  /** Most messages per handler call (a fetched batch is cut into slices of this size). */
  maxBatchMessages?: number;
  /** How long the broker may hold a fetch to fill it (ms): the "or T ms" of batching. */
  maxWaitMs?: number;
  /** Partitions handled at the same time by this consumer. */
  concurrency?: number;
  /** Called after each slice was handled and its offsets committed (metrics, tests). */
  onCommitted?: (batch: KafkaBusBatch<T>) => void;
}

export interface KafkaBusOptions {
  brokers: string[];
  clientId?: string;
  logger: Logger;
  /** Topics created on start with this many partitions (their `.dlq` twins get 1). */
  topics?: { name: string; partitions: number; dlq?: boolean }[];
  compression?: "lz4" | "gzip" | "none";
  /** Publishes arriving within this window go to the broker as one request. */
  lingerMs?: number;
  /** Most messages in one produce request (packed messages count one by one). */
  maxBatchMessages?: number;
  /** Most value bytes in one produce request (roughly: before compression). */
  maxBatchBytes?: number;
  /** Messages waiting for the broker beyond which publish rejects at once (backpressure). */
  maxPendingMessages?: number;
  /** A publish not acknowledged within this time rejects (the send may still land). */
  publishTimeoutMs?: number;
}

export interface OutRecord {
  key: string;
  value: Buffer | string;
  headers?: IHeaders;
  partition?: number;
  /** Packed records only: how many bus messages the record holds. */
  count?: number;
}

interface Pending {
  topic: string;
  startedAt: number;
  records: OutRecord[];
  /** Bus messages in `records` (more than records.length when packed). */
  count: number;
  bytes: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** One dead letter: what to write to the DLQ, and why. */
interface DeadLetter {
  message: KafkaMessage;
  error: string;
  /** For one message of a packed record: its key, its own bytes, its position. */
  part?: { key: string; value: Buffer; index: number };
}

/** Line `index` of a packed record, as the bytes it was sent as (for the DLQ). */
function lineBytes(value: Buffer, index: number): Buffer {
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

const MURMUR_M = 0x5bd1e995;
/** Room to UTF-8 encode most keys without allocating (ids are at most 64 ASCII characters). */
const keyScratch = Buffer.allocUnsafe(1024);

/**
 * Kafka's murmur2 (the Java client's Utils.murmur2), in 32-bit arithmetic. kafkajs computes the
 * same with 64-bit Long objects, about ten times slower; at 50k events/s, each hashed by its
 * key, that mattered. Equal to kafkajs's for every key (a test checks).
 */
export function murmur2(data: Uint8Array, length = data.length): number {
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k =
      (data[i] as number) |
      ((data[i + 1] as number) << 8) |
      ((data[i + 2] as number) << 16) |
      ((data[i + 3] as number) << 24);
    k = Math.imul(k, MURMUR_M);
    k ^= k >>> 24;
    k = Math.imul(k, MURMUR_M);
    h = Math.imul(h, MURMUR_M) ^ k;
  }
  // The last 1-3 bytes.
  const tail = length & 3;
  if (tail > 0) {
    if (tail === 3) h ^= (data[whole + 2] as number) << 16;
    if (tail >= 2) h ^= (data[whole + 1] as number) << 8;
    h ^= data[whole] as number;
    h = Math.imul(h, MURMUR_M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, MURMUR_M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The partition Kafka's default partitioner (Java's, and kafkajs's DefaultPartitioner) gives a
 * keyed message: murmur2 of the key's UTF-8 bytes, made positive, modulo the partition count.
 */
export function partitionOf(key: string, partitions: number): number {
  const data = key.length * 3 <= keyScratch.length ? keyScratch : Buffer.from(key, "utf8");
  const length = data === keyScratch ? keyScratch.write(key, 0, "utf8") : data.length;
  return (murmur2(data, length) & 0x7fffffff) % partitions;
}

// kafkajs ships gzip only and takes other codecs by registration. LZ4 (frame format, independent
// 64 KiB blocks: what Kafka's own clients write) costs a fraction of gzip's CPU on both ends and
// in the broker, which decompresses every batch to validate it; lz4-napi runs it off the JS thread.
// (CompressionCodecs is read off the CommonJS module: Node's ESM import cannot name it.)
kafkajs.CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: (encoder: { buffer: Buffer }) => compressFrame(encoder.buffer),
  decompress: (buffer: Buffer) => decompressFrame(buffer),
});

const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function kafkaLogCreator(logger: Logger) {
  return () =>
    ({ level, log }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const { message, ...extra } = log;
      const obj = { kafka: extra };
      if (level === logLevel.ERROR) logger.error(obj, message);
      else if (level === logLevel.WARN) logger.warn(obj, message);
      else if (level === logLevel.INFO) logger.debug(obj, message);
    };
}

/**
 * The event bus on Apache Kafka (kafkajs). Same contract as the in-process bus:
 *  - `publish` resolves once the broker has acknowledged every message with acks=-1 (all
 *    in-sync replicas), from an idempotent producer, so a resolved publish is durable and
 *    the producer's own retries never write a message twice;
 *  - messages are keyed (the actor id for events), so one key's messages share a partition
 *    and keep their order;
 *  - publishes within `lingerMs` (and those arriving while a request is in flight) are sent
 *    as one compressed produce request: batching is what makes 50k events/s cheap.
 * `subscribe` runs a consumer group that hands the handler batches from one partition and
 * commits their offsets only after the handler resolved (at-least-once; the loader makes its
 * writes idempotent). Undecodable messages go to `<topic>.dlq` instead of the handler.
 */
export class KafkaBus implements EventBus {
  readonly kind = "kafka" as const;
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly consumers: Consumer[] = [];
  private readonly queue: Pending[] = [];
  private queued = 0;
  private sending: Promise<void> | null = null;
  private lingerTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Partition counts of the topics packed publishes went to (see partitionsOf). */
  private readonly partitionCounts = new Map<string, { count: number; at: number }>();
  private readonly partitionLookups = new Map<string, Promise<number>>();
  private metadataAdmin: Promise<Admin> | null = null;

  private constructor(private readonly options: KafkaBusOptions) {
    this.kafka = new Kafka({
      clientId: options.clientId ?? "marquee",
      brokers: options.brokers,
      logLevel: logLevel.INFO,
      logCreator: kafkaLogCreator(options.logger),
      retry: { initialRetryTime: 100, maxRetryTime: 5_000, retries: 8 },
    });
    // Idempotent: the broker drops a retried batch it already has (per producer id and
    // sequence), which needs acks=-1 and one request in flight. Retries span about 20 s (a
    // broker restart), inside the publish timeout, so a publish's outcome is known when it
    // settles: resolved = stored, rejected = not stored (the caller may retry).
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 300, maxRetryTime: 2_000, retries: 12 },
    });
  }

  /** Connect the producer and create the configured topics if missing. */
  static async connect(options: KafkaBusOptions): Promise<KafkaBus> {
    const bus = new KafkaBus(options);
    if (options.topics && options.topics.length > 0) await bus.ensureTopics(options.topics);
    await bus.producer.connect();
    return bus;
  }

  async ensureTopics(topics: { name: string; partitions: number; dlq?: boolean }[]): Promise<void> {
    const admin: Admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const wanted = topics.flatMap((t) => [
        { topic: t.name, numPartitions: t.partitions },
        ...(t.dlq === false ? [] : [{ topic: `${t.name}.dlq`, numPartitions: 1 }]),
      ]);
      const missing = wanted.filter((t) => !existing.has(t.topic));
      if (missing.length > 0) await this.createTopics(admin, missing);
      // Packed publishes need each topic's partition count: learn it now, not on first publish.
      const { topics: known } = await admin.fetchTopicMetadata({ topics: wanted.map((t) => t.topic) });
      for (const t of known) this.partitionCounts.set(t.name, { count: t.partitions.length, at: Date.now() });
    } finally {
      await admin.disconnect();
    }
  }

  private async createTopics(admin: Admin, missing: { topic: string; numPartitions: number }[]): Promise<void> {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({
        ...t,
        replicationFactor: -1, // the broker's default.replication.factor
        // Produce requests carry up to maxBatchMessages per partition: room for big batches.
        configEntries: [{ name: "max.message.bytes", value: String(16 * 1024 * 1024) }],
      })),
    });
    this.options.logger.info({ topics: missing.map((t) => t.topic) }, "kafka topics created");
  }

  async publish<T>(topic: string, messages: BusMessage<T>[], options: PublishOptions = {}): Promise<void> {
    if (this.closed) throw new Error("bus is closed");
    if (messages.length === 0) return;
    const count = messages.length;
    const max = this.options.maxPendingMessages ?? 500_000;
    if (this.queued + count > max) {
      throw new Error(`kafka producer backlog is full (${this.queued} messages waiting)`);
    }
    const startedAt = Date.now();
    const pack = options.pack === true && count > 1 && messages.every((m) => m.headers === undefined);
    // Synchronous up to the queue: publishes are sent in call order, whatever their packing.
    const partitions = pack ? this.partitionsOf(topic) : 0;
    const records = partitions > 0 ? this.pack(messages, partitions) : this.plain(messages);
    // From here on only the records are needed: the wait is its own function, so the caller's
    // messages (and the objects they hold) are not kept alive by it until the broker answers.
    return this.enqueue(topic, records, count, startedAt);
  }

  /** Queue encoded records for the next produce request; resolves when the broker acknowledged them. */
  private async enqueue(topic: string, records: OutRecord[], count: number, startedAt: number): Promise<void> {
    let bytes = 0;
    for (const r of records) bytes += r.value.length;
    const done = new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, startedAt, records, count, bytes, resolve, reject });
      this.queued += count;
      this.schedule();
    });
    // Once the timeout has answered the caller, a late failure must not go unhandled.
    done.catch(() => undefined);
    const timeoutMs = this.options.publishTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`kafka did not acknowledge within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Send bytes as they are, unbatched (dead letters keep the original value; tools; tests). */
  async publishRaw(
    topic: string,
    messages: { key: Buffer | string | null; value: Buffer | string | null; headers?: IHeaders }[],
  ): Promise<void> {
    await this.producer.send({ topic, acks: -1, compression: this.compression(), messages });
  }

  private plain<T>(messages: BusMessage<T>[]): OutRecord[] {
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
  private pack<T>(messages: BusMessage<T>[], partitions: number): OutRecord[] {
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
   * The topic's partition count, known from ensureTopics or looked up from the broker in the
   * background, refreshed after PARTITIONS_TTL_MS. 0 while unknown: the publish goes unpacked.
   * (A topic whose partitions are added moves keys between partitions, packed or not: Kafka
   * keeps per-key order only while the count stays; here, for up to a TTL more.)
   */
  private partitionsOf(topic: string): number {
    const known = this.partitionCounts.get(topic);
    if ((!known || Date.now() - known.at >= PARTITIONS_TTL_MS) && !this.partitionLookups.has(topic)) {
      const lookup = this.lookUpPartitions(topic).finally(() => this.partitionLookups.delete(topic));
      this.partitionLookups.set(topic, lookup);
    }
    // A stale count is still right unless partitions were added: use it while the lookup runs.
    return known?.count ?? 0;
  }

  private async lookUpPartitions(topic: string): Promise<number> {
    try {
      this.metadataAdmin ??= (async () => {
        const admin = this.kafka.admin();
        await admin.connect();
        return admin;
      })();
      const admin = await this.metadataAdmin;
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const count = topics[0]?.partitions.length ?? 0;
      this.partitionCounts.set(topic, { count, at: Date.now() });
      return count;
    } catch (e) {
      this.options.logger.warn({ err: e, topic }, "kafka topic metadata unavailable: publishing unpacked");
      const admin = this.metadataAdmin;
      this.metadataAdmin = null;
      void admin?.then((a) => a.disconnect()).catch(() => undefined);
      // Look again in a few seconds, not on every publish.
      const count = this.partitionCounts.get(topic)?.count ?? 0;
      this.partitionCounts.set(topic, { count, at: Date.now() - PARTITIONS_TTL_MS + 5_000 });
      return count;
    }
  }

  private compression(): CompressionTypes {
    switch (this.options.compression ?? "lz4") {
      case "none":
        return CompressionTypes.None;
      case "gzip":
        return CompressionTypes.GZIP;
      default:
        return CompressionTypes.LZ4;
    }
  }

  private schedule(): void {
    if (this.sending || this.lingerTimer) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      this.sending = this.drain().finally(() => {
        this.sending = null;
        if (this.queue.length > 0) this.schedule();
      });
    }, this.options.lingerMs ?? 2);
  }

  /** One produce request at a time; whatever queued meanwhile forms the next one. */
  private async drain(): Promise<void> {
    const max = this.options.maxBatchMessages ?? 20_000;
    const maxBytes = this.options.maxBatchBytes ?? 8 * 1024 * 1024;
    while (this.queue.length > 0) {
      const take: Pending[] = [];
      let size = 0;
      let bytes = 0;
      for (;;) {
        const next = this.queue[0];
        if (!next) break;
        if (take.length > 0 && (size + next.count > max || bytes + next.bytes > maxBytes)) break;
        this.queue.shift();
        take.push(next);
        size += next.count;
        bytes += next.bytes;
      }
      const byTopic = new Map<string, OutRecord[]>();
      for (const p of take) {
        const list = byTopic.get(p.topic) ?? [];
        for (const r of p.records) list.push(r);
        byTopic.set(p.topic, list);
      }
      for (const [topic, list] of byTopic) byTopic.set(topic, mergePacked(list));
      try {
        // kafkajs retries inside one send, but gives up on a broker that is away for a few
        // seconds (a restart). Try the same batch again until its oldest publish would time
        // out: the idempotent producer keeps its sequence numbers, so a batch whose first
        // attempt did land is not written twice.
        const deadline = Math.min(...take.map((p) => p.startedAt)) + (this.options.publishTimeoutMs ?? 30_000) - 1_000;
        for (let attempt = 0; ; attempt++) {
          try {
            await this.producer.sendBatch({
              acks: -1,
              compression: this.compression(),
              topicMessages: [...byTopic].map(([topic, records]) => ({
                topic,
                messages: records.map(({ count: _count, ...message }) => message),
              })),
            });
            break;
          } catch (e) {
            const delay = Math.min(2_000, 200 * 2 ** attempt);
            if (this.closed || Date.now() + delay > deadline) throw e;
            this.options.logger.warn({ err: e, attempt, delay, messages: size }, "kafka publish failed, retrying");
            await sleep(delay);
          }
        }
        for (const p of take) p.resolve();
      } catch (e) {
        this.options.logger.error({ err: e, messages: size }, "kafka publish failed");
        for (const p of take) p.reject(e);
      } finally {
        this.queued -= size;
      }
    }
  }

  async subscribe<T>(
    topic: string,
    group: string,
    handler: BatchHandler<T>,
    options: KafkaSubscribeOptions<T> = {},
  ): Promise<void> {
    if (this.closed) throw new Error("bus is closed");
    const log = this.options.logger.child({ topic, group });
    const maxBatch = options.maxBatchMessages ?? 50_000;
    const consumer = this.kafka.consumer({
      groupId: group,
      allowAutoTopicCreation: false,
      // Let the broker gather up to ~maxBatch events (about 400 bytes each) or maxWaitMs.
      minBytes: Math.min(maxBatch * 400, 4 * 1024 * 1024),
      maxWaitTimeInMs: options.maxWaitMs ?? 250,
      maxBytesPerPartition: Math.max(1024 * 1024, Math.min(maxBatch * 600, 32 * 1024 * 1024)),
      maxBytes: 64 * 1024 * 1024,
      // A loader that died (SIGKILL, lost host) keeps its partitions until its session
      // expires: short, so a restart or a peer takes over within seconds.
      sessionTimeout: 10_000,
      rebalanceTimeout: 30_000,
      heartbeatInterval: 1_000,
      retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: Number.MAX_SAFE_INTEGER },
    });
    this.consumers.push(consumer);
    consumer.on(consumer.events.CRASH, (e) => {
      log.error({ err: e.payload.error, restart: e.payload.restart }, "kafka consumer crashed");
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.concurrency ?? 2,
      eachBatch: (payload) => this.handleBatch(payload, consumer, handler, options, maxBatch, log),
    });
  }

  private async handleBatch<T>(
    payload: EachBatchPayload,
    consumer: Consumer,
    handler: BatchHandler<T>,
    options: KafkaSubscribeOptions<T>,
    maxBatch: number,
    log: Logger,
  ): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale, pause } = payload;
    const { topic, partition } = batch;
    // Slices of about maxBatch bus messages; a packed record is never split (a slice may run
    // over by less than one record), so a slice always ends on a whole offset.
    let next = 0;
    while (next < batch.messages.length) {
      if (!isRunning() || isStale()) return;
      const good: KafkaBusMessage<T>[] = [];
      const dead: DeadLetter[] = [];
      const start = next;
      while (next < batch.messages.length && (next === start || good.length + dead.length < maxBatch)) {
        this.decodeRecord(batch.messages[next++] as KafkaMessage, partition, options, good, dead);
      }
      const first = batch.messages[start];
      const last = batch.messages[next - 1];
      if (!first || !last) continue;
      const slice: KafkaBusBatch<T> = {
        topic,
        partition,
        firstOffset: first.offset,
        lastOffset: last.offset,
        messages: good,
      };
      // Retry until it works or the partition is taken from us: nothing is skipped. The
      // partition is paused meanwhile, so no more of it is fetched while we cannot keep up.
      let resume: (() => void) | null = null;
      let deadLettered = dead.length === 0;
      for (let attempt = 0; ; attempt++) {
        try {
          if (!deadLettered) {
            await this.deadLetter(topic, partition, dead);
            deadLettered = true;
          }
          if (good.length > 0) await handler(slice);
          break;
        } catch (e) {
          if (!isRunning() || isStale()) return;
          resume ??= pause();
          const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt);
          log.warn(
            { err: e, partition, attempt, delay, offsets: [first.offset, last.offset] },
            "batch failed, retrying",
          );
          await sleep(delay);
          await heartbeat().catch(() => undefined);
        }
      }
      resume?.();
      resolveOffset(last.offset);
      // Commit only now: the handler's writes landed. A crash before this line replays the
      // slice, which the handler must tolerate (the loader's writes are idempotent).
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(last.offset) + 1n).toString() }]);
      await heartbeat().catch(() => undefined);
      options.onCommitted?.(slice);
    }
  }

  /**
   * One record into bus messages (`good`) and dead letters: a plain record is one message; a
   * packed one is decoded message by message, so one bad message is dead-lettered alone (its
   * own bytes, its index) and its neighbours go on. A packed record whose framing is broken
   * goes to the DLQ whole.
   */
  private decodeRecord<T>(
    m: KafkaMessage,
    partition: number,
    options: KafkaSubscribeOptions<T>,
    good: KafkaBusMessage<T>[],
    dead: DeadLetter[],
  ): void {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    // Raw readers (of DLQs, say) get every record's bytes as they are, packed or not.
    if (options.raw || headers["content-type"] !== PACKED_CONTENT_TYPE) {
      try {
        const decoded = this.decodeValue(m.value, options);
        good.push({ key: m.key?.toString("utf8") ?? "", value: decoded, headers, partition, offset: m.offset });
      } catch (e) {
        dead.push({ message: m, error: e instanceof Error ? e.message : String(e) });
      }
      return;
    }
    // The messages' own headers: the record's, less the packing.
    const { "content-type": _type, [PACKED_KEYS_HEADER]: keysHeader, ...own } = headers;
    const value = m.value ?? Buffer.alloc(0);
    let keys: unknown;
    try {
      keys = JSON.parse(keysHeader ?? "");
    } catch {
      keys = null;
    }
    // One UTF-8 decode for the whole record (a newline byte is always a newline character).
    const lines = value.toString("utf8").split("\n");
    if (!Array.isArray(keys) || keys.length !== lines.length || !keys.every((k) => typeof k === "string")) {
      dead.push({ message: m, error: `packed record: ${PACKED_KEYS_HEADER} does not name one key per line` });
      return;
    }
    for (let index = 0; index < lines.length; index++) {
      const key = keys[index] as string;
      try {
        const decoded = this.decodeText(lines[index] as string, options);
        good.push({ key, value: decoded, headers: own, partition, offset: m.offset, index });
      } catch (e) {
        dead.push({
          message: m,
          error: e instanceof Error ? e.message : String(e),
          part: { key, value: lineBytes(value, index), index },
        });
      }
    }
  }

  private decodeValue<T>(value: Buffer | null, options: KafkaSubscribeOptions<T>): T {
    if (options.raw) return (value ?? Buffer.alloc(0)) as T;
    if (value === null) throw new PoisonMessageError("message has no value");
    return this.decodeText(value.toString("utf8"), options);
  }

  private decodeText<T>(text: string, options: KafkaSubscribeOptions<T>): T {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new PoisonMessageError(`value is not JSON: ${(e as Error).message}`);
    }
    return options.decode ? options.decode(parsed) : (parsed as T);
  }

  private async deadLetter(topic: string, partition: number, dead: DeadLetter[]) {
    this.options.logger.warn(
      { topic, partition, count: dead.length, offsets: dead.map((d) => d.message.offset).slice(0, 10) },
      "dead-lettering undecodable messages",
    );
    await this.publishRaw(
      `${topic}.dlq`,
      dead.map(({ message, error, part }) => {
        const headers: IHeaders = { ...(message.headers ?? {}) };
        if (part) {
          // One message out of a packed record: on its own in the DLQ, a plain record.
          delete headers["content-type"];
          delete headers[PACKED_KEYS_HEADER];
          headers["x-source-index"] = String(part.index);
        }
        return {
          key: part ? part.key : message.key,
          value: part ? part.value : message.value,
          headers: {
            ...headers,
            "x-source-topic": topic,
            "x-source-partition": String(partition),
            "x-source-offset": message.offset,
            "x-error": error.slice(0, 1000),
            "x-dead-lettered-at": new Date().toISOString(),
          },
        };
      }),
    );
  }

  /** Wait for queued publishes, then stop consumers (after their in-flight batch) and the producer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
      this.sending = this.drain().finally(() => {
        this.sending = null;
      });
    }
    while (this.sending) await this.sending.catch(() => undefined);
    // consumer.disconnect() waits for the running eachBatch to finish (and commit) first.
    await Promise.allSettled(this.consumers.map((c) => c.disconnect()));
    await this.metadataAdmin?.then((a) => a.disconnect()).catch(() => undefined);
    await this.producer.disconnect();
  }

  /** The kafkajs admin client, for tests and tools (topic deletion, offsets). */
  admin(): Admin {
    return this.kafka.admin();
  }
}
