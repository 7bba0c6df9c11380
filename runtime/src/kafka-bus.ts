import {
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
import type { BatchHandler, BusBatch, BusMessage, EventBus } from "./bus.ts";
import type { Logger } from "./logger.ts";

/** Where a message came from: what the loader derives dedup tokens and watermarks from. */
export interface KafkaBusMessage<T = unknown> extends BusMessage<T> {
  partition: number;
  /** Kafka offsets are int64: kept as decimal strings, compared as BigInt. */
  offset: string;
}

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
  /** Hand the handler each value's bytes (a Buffer) instead of parsed JSON: for reading DLQs. */
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
  compression?: "gzip" | "none";
  /** Publishes arriving within this window go to the broker as one request. */
  lingerMs?: number;
  /** Most messages in one produce request. */
  maxBatchMessages?: number;
  /** Messages waiting for the broker beyond which publish rejects at once (backpressure). */
  maxPendingMessages?: number;
  /** A publish not acknowledged within this time rejects (the send may still land). */
  publishTimeoutMs?: number;
}

interface Pending {
  topic: string;
  startedAt: number;
  messages: { key: string; value: Buffer | string; headers?: IHeaders }[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

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
      if (missing.length === 0) return;
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
    } finally {
      await admin.disconnect();
    }
  }

  async publish<T>(topic: string, messages: BusMessage<T>[]): Promise<void> {
    if (this.closed) throw new Error("bus is closed");
    if (messages.length === 0) return;
    const max = this.options.maxPendingMessages ?? 500_000;
    if (this.queued + messages.length > max) {
      throw new Error(`kafka producer backlog is full (${this.queued} messages waiting)`);
    }
    const encoded = messages.map((m) => ({
      key: m.key,
      value: JSON.stringify(m.value),
      ...(m.headers ? { headers: m.headers } : {}),
    }));
    const done = new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, startedAt: Date.now(), messages: encoded, resolve, reject });
      this.queued += encoded.length;
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

  private compression(): CompressionTypes {
    return this.options.compression === "none" ? CompressionTypes.None : CompressionTypes.GZIP;
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
    while (this.queue.length > 0) {
      const take: Pending[] = [];
      let size = 0;
      while (this.queue.length > 0 && (take.length === 0 || size + (this.queue[0]?.messages.length ?? 0) <= max)) {
        const p = this.queue.shift() as Pending;
        take.push(p);
        size += p.messages.length;
      }
      const byTopic = new Map<string, Pending["messages"]>();
      for (const p of take) {
        const list = byTopic.get(p.topic) ?? [];
        for (const m of p.messages) list.push(m);
        byTopic.set(p.topic, list);
      }
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
              topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
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
    for (let start = 0; start < batch.messages.length; start += maxBatch) {
      if (!isRunning() || isStale()) return;
      const raw = batch.messages.slice(start, start + maxBatch);
      const good: KafkaBusMessage<T>[] = [];
      const dead: { message: KafkaMessage; error: string }[] = [];
      for (const m of raw) {
        try {
          let decoded: T;
          if (options.raw) {
            decoded = (m.value ?? Buffer.alloc(0)) as T;
          } else {
            const text = m.value?.toString("utf8");
            if (text === undefined) throw new PoisonMessageError("message has no value");
            let value: unknown;
            try {
              value = JSON.parse(text);
            } catch (e) {
              throw new PoisonMessageError(`value is not JSON: ${(e as Error).message}`);
            }
            decoded = options.decode ? options.decode(value) : (value as T);
          }
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[k] = String(v);
          good.push({ key: m.key?.toString("utf8") ?? "", value: decoded, headers, partition, offset: m.offset });
        } catch (e) {
          dead.push({ message: m, error: e instanceof Error ? e.message : String(e) });
        }
      }
      const first = raw[0];
      const last = raw[raw.length - 1];
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

  private async deadLetter(topic: string, partition: number, dead: { message: KafkaMessage; error: string }[]) {
    this.options.logger.warn(
      { topic, partition, count: dead.length, offsets: dead.map((d) => d.message.offset).slice(0, 10) },
      "dead-lettering undecodable messages",
    );
    await this.publishRaw(
      `${topic}.dlq`,
      dead.map(({ message, error }) => ({
        key: message.key,
        value: message.value,
        headers: {
          ...(message.headers ?? {}),
          "x-source-topic": topic,
          "x-source-partition": String(partition),
          "x-source-offset": message.offset,
          "x-error": error.slice(0, 1000),
          "x-dead-lettered-at": new Date().toISOString(),
        },
      })),
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
    await this.producer.disconnect();
  }

  /** The kafkajs admin client, for tests and tools (topic deletion, offsets). */
  admin(): Admin {
    return this.kafka.admin();
  }
}
