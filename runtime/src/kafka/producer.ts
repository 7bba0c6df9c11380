import type { Admin, IHeaders, Kafka, Producer } from "kafkajs";
import type { BusMessage, PublishOptions } from "../bus.ts";
import type { Logger } from "../logger.ts";
import { compressionType, type KafkaCompression, sleep } from "./client.ts";
import { mergePacked, type OutRecord, packRecords, plainRecords } from "./packed-records.ts";

/** How long a topic's partition count is trusted before it is looked up again (in the background). */
const PARTITIONS_TTL_MS = 60_000;

export interface KafkaProducerOptions {
  logger: Logger;
  compression?: KafkaCompression;
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

/**
 * The publishing half of the Kafka bus:
 *  - `publish` resolves once the broker has acknowledged every message with acks=-1 (all
 *    in-sync replicas), from an idempotent producer, so a resolved publish is durable and
 *    the producer's own retries never write a message twice;
 *  - messages are keyed (the actor id for events), so one key's messages share a partition
 *    and keep their order;
 *  - publishes within `lingerMs` (and those arriving while a request is in flight) are sent
 *    as one compressed produce request: batching is what makes 50k events/s cheap.
 */
export class KafkaProducer {
  private readonly producer: Producer;
  private readonly queue: Pending[] = [];
  private queued = 0;
  private sending: Promise<void> | null = null;
  private lingerTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Partition counts of the topics packed publishes went to (see partitionsOf). */
  private readonly partitionCounts = new Map<string, { count: number; at: number }>();
  private readonly partitionLookups = new Map<string, Promise<number>>();
  private metadataAdmin: Promise<Admin> | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: KafkaProducerOptions,
  ) {
    // Idempotent: the broker drops a retried batch it already has (per producer id and
    // sequence), which needs acks=-1 and one request in flight. Retries span about 20 s (a
    // broker restart), inside the publish timeout, so a publish's outcome is known when it
    // settles: resolved = stored, rejected = not stored (the caller may retry).
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 300, maxRetryTime: 2_000, retries: 12 },
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  /** A topic's partition count as just read from the broker (packed publishes need it). */
  knowPartitions(topic: string, count: number): void {
    this.partitionCounts.set(topic, { count, at: Date.now() });
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
    const records = partitions > 0 ? packRecords(messages, partitions) : plainRecords(messages);
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
    await this.producer.send({ topic, acks: -1, compression: compressionType(this.options.compression), messages });
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
              compression: compressionType(this.options.compression),
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

  /** Stop taking publishes and wait for those queued to be answered (sent now, not after the linger). */
  async flushAndStop(): Promise<void> {
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
  }

  /** After flushAndStop and once no consumer needs it (dead letters go through it). */
  async disconnect(): Promise<void> {
    await this.metadataAdmin?.then((a) => a.disconnect()).catch(() => undefined);
    await this.producer.disconnect();
  }
}
