import type { Admin, Consumer, IHeaders, Kafka } from "kafkajs";
import type { BatchHandler, BusMessage, EventBus, PublishOptions } from "../bus.ts";
import type { Logger } from "../logger.ts";
import { createKafkaClient, type KafkaCompression } from "./client.ts";
import { type KafkaSubscribeOptions, startConsumer } from "./consumer.ts";
import { type DeadLetter, deadLetterRecords, dlqTopic } from "./dead-letters.ts";
import { KafkaProducer, type KafkaProducerOptions } from "./producer.ts";

/** A topic the bus makes sure exists on start; its `.dlq` twin (one partition) too unless dlq is false. */
export interface KafkaTopicSpec {
  name: string;
  partitions: number;
  dlq?: boolean;
}

export interface KafkaBusOptions extends Omit<KafkaProducerOptions, "compression"> {
  brokers: string[];
  clientId?: string;
  logger: Logger;
  /** Topics created on start with this many partitions (their `.dlq` twins get 1). */
  topics?: KafkaTopicSpec[];
  compression?: KafkaCompression;
}

/**
 * The event bus on Apache Kafka (kafkajs). Same contract as the in-process bus: `publish`
 * (KafkaProducer) resolves once the broker acknowledged, from an idempotent producer with
 * acks=-1; per key, order holds. `subscribe` runs consumer-group members (startConsumer) that
 * commit offsets only after the handler resolved; undecodable messages go to `<topic>.dlq`.
 */
export class KafkaBus implements EventBus {
  readonly kind = "kafka" as const;
  private readonly kafka: Kafka;
  private readonly producer: KafkaProducer;
  private readonly consumers: Consumer[] = [];
  private closed = false;
  private healthAdmin: Promise<Admin> | null = null;

  private constructor(private readonly options: KafkaBusOptions) {
    this.kafka = createKafkaClient(options);
    this.producer = new KafkaProducer(this.kafka, options);
  }

  /** Connect the producer and create the configured topics if missing. */
  static async connect(options: KafkaBusOptions): Promise<KafkaBus> {
    const bus = new KafkaBus(options);
    if (options.topics && options.topics.length > 0) await bus.ensureTopics(options.topics);
    await bus.producer.connect();
    return bus;
  }

  async ensureTopics(topics: KafkaTopicSpec[]): Promise<void> {
    const admin: Admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const wanted = topics.flatMap((t) => [
        { topic: t.name, numPartitions: t.partitions },
        ...(t.dlq === false ? [] : [{ topic: dlqTopic(t.name), numPartitions: 1 }]),
      ]);
      const missing = wanted.filter((t) => !existing.has(t.topic));
      if (missing.length > 0) await this.createTopics(admin, missing);
      // Packed publishes need each topic's partition count: learn it now, not on first publish.
      const { topics: known } = await admin.fetchTopicMetadata({ topics: wanted.map((t) => t.topic) });
      for (const t of known) this.producer.knowPartitions(t.name, t.partitions.length);
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

  publish<T>(topic: string, messages: BusMessage<T>[], options: PublishOptions = {}): Promise<void> {
    return this.producer.publish(topic, messages, options);
  }

  /** Send bytes as they are, unbatched (dead letters keep the original value; tools; tests). */
  publishRaw(
    topic: string,
    messages: { key: Buffer | string | null; value: Buffer | string | null; headers?: IHeaders }[],
  ): Promise<void> {
    return this.producer.publishRaw(topic, messages);
  }

  /**
   * Join consumer group `group` on `topic` with `options.consumers` members (default 1); their
   * `concurrency` (default 2 per member) is shared out between them.
   */
  async subscribe<T>(
    topic: string,
    group: string,
    handler: BatchHandler<T>,
    options: KafkaSubscribeOptions<T> = {},
  ): Promise<void> {
    if (this.closed) throw new Error("bus is closed");
    const members = Math.max(1, options.consumers ?? 1);
    const concurrency = Math.max(1, Math.ceil((options.concurrency ?? 2 * members) / members));
    const logger = this.options.logger.child({ topic, group });
    for (let i = 0; i < members; i++) {
      await startConsumer(
        this.kafka,
        topic,
        group,
        handler,
        { ...options, concurrency },
        {
          logger,
          deadLetter: (t, partition, dead) => this.deadLetter(t, partition, dead),
          onCreated: (c) => this.consumers.push(c),
        },
      );
    }
  }

  private async deadLetter(topic: string, partition: number, dead: DeadLetter[]): Promise<void> {
    this.options.logger.warn(
      { topic, partition, count: dead.length, offsets: dead.map((d) => d.message.offset).slice(0, 10) },
      "dead-lettering undecodable messages",
    );
    await this.producer.publishRaw(dlqTopic(topic), deadLetterRecords(topic, partition, dead));
  }

  /**
   * Readiness: the cluster answers a metadata request (one admin connection, kept for the
   * next probe; dropped after a failure so the next probe reconnects).
   */
  async health(): Promise<void> {
    if (this.closed) throw new Error("bus is closed");
    this.healthAdmin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })();
    try {
      const { brokers } = await (await this.healthAdmin).describeCluster();
      if (brokers.length === 0) throw new Error("kafka cluster lists no brokers");
    } catch (err) {
      const admin = this.healthAdmin;
      this.healthAdmin = null;
      void admin?.then((a) => a.disconnect()).catch(() => undefined);
      throw err;
    }
  }

  /** Wait for queued publishes, then stop consumers (after their in-flight batch) and the producer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.healthAdmin?.then((a) => a.disconnect()).catch(() => undefined);
    await this.producer.flushAndStop();
    // consumer.disconnect() waits for the running eachBatch to finish (and commit) first.
    await Promise.allSettled(this.consumers.map((c) => c.disconnect()));
    await this.producer.disconnect();
  }

  /** The kafkajs admin client, for tests and tools (topic deletion, offsets). */
  admin(): Admin {
    return this.kafka.admin();
  }
}
