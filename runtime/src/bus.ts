import type { Config } from "./config.ts";
import { KafkaBus, type KafkaTopicSpec } from "./kafka/kafka-bus.ts";
import type { Logger } from "./logger.ts";

/**
 * The event bus: the one seam between producers (collector, outbox relay) and consumers
 * (loader, catalogue loader). In embedded mode it is in-process; in scaled mode it is Kafka,
 * with the same interface and the same guarantees a caller can rely on:
 *  - `publish` resolves only once every subscriber group has handled the batch (in-process)
 *    or the broker has acknowledged it (Kafka), so a resolved publish is never lost;
 *  - per key, messages reach a subscriber in publish order;
 *  - a handler that throws makes `publish` reject, so the producer can answer "try again".
 */
export interface BusMessage<T = unknown> {
  key: string;
  value: T;
  headers?: Record<string, string>;
}

export interface BusBatch<T = unknown> {
  topic: string;
  messages: BusMessage<T>[];
}

/**
 * What a handler may resolve with: messages of its batch that can never be handled (by index
 * into `batch.messages`) and why. The bus dead-letters them like messages its decoder refused
 * (Kafka: `<topic>.dlq` with the original bytes and where they came from; in-process: published
 * to `<topic>.dlq` on the same bus, and logged) and counts the batch as handled, so one bad
 * message cannot hold up its partition or fail its neighbours' publish.
 */
export interface BatchOutcome {
  deadLetters?: { index: number; reason: string }[];
}

// biome-ignore lint/suspicious/noConfusingVoidType: most handlers return nothing (Promise<void>)
export type BatchHandler<T = unknown> = (batch: BusBatch<T>) => Promise<void | BatchOutcome | undefined>;

export interface PublishOptions {
  /**
   * A transport hint for many small messages (the collector's events): the Kafka bus packs the
   * messages of one publish that share a partition into one record, which a bus subscriber
   * unpacks into the same messages, in the same order, with the same keys. Per-key order and
   * the publish guarantee are unchanged; only readers that bypass the bus see packed records.
   * Ignored by the in-process bus and for messages that carry headers.
   */
  pack?: boolean;
}

/**
 * How a subscriber wants its messages. Every bus honours `decode`; the rest are tuning that
 * only a bus with a broker in between uses (the in-process bus hands each publish's batch over
 * as it is published), so a subscriber passes the same options whatever the mode.
 */
export interface SubscribeOptions<T> {
  /**
   * Turn a message's value (JSON as published) into T, or throw (a PoisonMessageError says
   * why): that message is dead-lettered (Kafka: `<topic>.dlq` with its original bytes and
   * where it came from; in-process: logged and left out) and its neighbours go on.
   */
  decode?: (value: unknown) => T;
  /** Most messages per handler call (a fetched batch is cut into slices of this size). */
  maxBatchMessages?: number;
  /** How long the broker may hold a fetch to fill it (ms): the "or T ms" of batching. */
  maxWaitMs?: number;
  /** Partitions handled at the same time, over all of this subscription's consumers. */
  concurrency?: number;
  /**
   * Consumers this subscription runs in its group (default 1). kafkajs fetches again only once
   * every batch of its last fetch was handled; with two, one decodes while the other's
   * handler waits on I/O.
   */
  consumers?: number;
}

export interface EventBus {
  readonly kind: "in-process" | "kafka";
  publish<T>(topic: string, messages: BusMessage<T>[], options?: PublishOptions): Promise<void>;
  /** Register a consumer group; one handler per group and topic. */
  subscribe<T>(topic: string, group: string, handler: BatchHandler<T>, options?: SubscribeOptions<T>): Promise<void>;
  /** Readiness: resolves when the bus can take publishes now, throws why not. */
  health?(): Promise<void>;
  close(): Promise<void>;
}

interface Subscriber {
  handler: BatchHandler;
  decode?: (value: unknown) => unknown;
}

/** A batch as one subscriber gets it; `kept` maps its messages back when some were left out. */
interface DecodedBatch extends BusBatch {
  kept?: number[];
}

interface Pending {
  messages: BusMessage[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * In-process bus with micro-batching: publishes arriving within `lingerMs` are delivered to
 * each group as one batch (up to `maxBatch` messages), which is what keeps ClickHouse inserts
 * large even when each HTTP request carries a few events. Batches for a topic are delivered
 * one at a time, so order per key holds.
 */
export class InProcessBus implements EventBus {
  readonly kind = "in-process" as const;
  private readonly groups = new Map<string, Map<string, Subscriber>>();
  private readonly queues = new Map<string, Pending[]>();
  private readonly draining = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly options: { lingerMs?: number; maxBatch?: number; logger?: Logger } = {}) {}

  async publish<T>(topic: string, messages: BusMessage<T>[], _options?: PublishOptions): Promise<void> {
    if (this.closed) throw new Error("bus is closed");
    if (messages.length === 0) return;
    return new Promise<void>((resolve, reject) => {
      const queue = this.queues.get(topic) ?? [];
      this.queues.set(topic, queue);
      queue.push({ messages: messages as BusMessage[], resolve, reject });
      this.schedule(topic);
    });
  }

  async subscribe<T>(
    topic: string,
    group: string,
    handler: BatchHandler<T>,
    options: SubscribeOptions<T> = {},
  ): Promise<void> {
    const byGroup = this.groups.get(topic) ?? new Map<string, Subscriber>();
    this.groups.set(topic, byGroup);
    if (byGroup.has(group)) throw new Error(`group ${group} already subscribed to ${topic}`);
    byGroup.set(group, { handler: handler as BatchHandler, ...(options.decode ? { decode: options.decode } : {}) });
  }

  async health(): Promise<void> {
    if (this.closed) throw new Error("bus is closed");
  }

  /** Resolves once everything published so far has been delivered. */
  async flush(): Promise<void> {
    while (this.draining.size > 0) await Promise.allSettled([...this.draining.values()]);
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  /**
   * The batch as one subscriber decodes it. A message its decoder refuses is left out (and
   * logged): there is no DLQ in-process, and failing the publish would make its producer
   * retry a message that can never be handled.
   */
  private decoded(batch: BusBatch, subscriber: Subscriber): DecodedBatch {
    const decode = subscriber.decode;
    if (!decode) return batch;
    const messages: BusMessage[] = [];
    /** Once a message is left out: where each delivered message sits in the published batch. */
    let kept: number[] | undefined;
    batch.messages.forEach((m, i) => {
      try {
        // The value as published, not a copy (the collector's 50k events/s): decoders read it
        // and must not change it, since other groups see the same object.
        messages.push({ ...m, value: decode(m.value) });
        kept?.push(i);
      } catch (e) {
        kept ??= Array.from({ length: messages.length }, (_, k) => k);
        this.options.logger?.warn(
          { topic: batch.topic, key: m.key, err: e instanceof Error ? e.message : String(e) },
          "undecodable message left out",
        );
      }
    });
    return { topic: batch.topic, messages, ...(kept ? { kept } : {}) };
  }

  /**
   * A handler's dead letters, published to `<topic>.dlq` on this bus (whoever subscribes there
   * sees each message with its reason in `x-error`) and logged.
   */
  private async deadLetter(batch: BusBatch, delivered: DecodedBatch, outcome: unknown): Promise<void> {
    const dead = (outcome as BatchOutcome | undefined)?.deadLetters ?? [];
    if (dead.length === 0) return;
    this.options.logger?.warn(
      { topic: batch.topic, count: dead.length, reason: dead[0]?.reason },
      "dead-lettering messages",
    );
    const at = new Date().toISOString();
    const letters: BusMessage[] = [];
    for (const d of dead) {
      // The message as it was published (its value before the subscriber's decoder).
      const m = batch.messages[delivered.kept ? (delivered.kept[d.index] ?? -1) : d.index];
      if (!m) continue;
      letters.push({
        key: m.key,
        value: m.value,
        headers: {
          ...m.headers,
          "x-source-topic": batch.topic,
          "x-error": d.reason.slice(0, 1000),
          "x-dead-lettered-at": at,
        },
      });
    }
    if (letters.length > 0) await this.publish(`${batch.topic}.dlq`, letters);
  }

  private schedule(topic: string): void {
    if (this.draining.has(topic)) return;
    const run = (async () => {
      const linger = this.options.lingerMs ?? 2;
      if (linger > 0) await new Promise((r) => setTimeout(r, linger));
      for (;;) {
        const queue = this.queues.get(topic);
        if (!queue || queue.length === 0) break;
        const take: Pending[] = [];
        let size = 0;
        const max = this.options.maxBatch ?? 10_000;
        while (queue.length > 0 && (take.length === 0 || size + (queue[0]?.messages.length ?? 0) <= max)) {
          const p = queue.shift() as Pending;
          take.push(p);
          size += p.messages.length;
        }
        const batch: BusBatch = { topic, messages: take.flatMap((p) => p.messages) };
        try {
          const subscribers = [...(this.groups.get(topic)?.values() ?? [])];
          await Promise.all(
            subscribers.map(async (s) => {
              const delivered = this.decoded(batch, s);
              await this.deadLetter(batch, delivered, await s.handler(delivered));
            }),
          );
          for (const p of take) p.resolve();
        } catch (e) {
          for (const p of take) p.reject(e);
        }
      }
    })().finally(() => {
      this.draining.delete(topic);
      // A publish that raced the end of the loop is picked up by a fresh drain.
      if ((this.queues.get(topic)?.length ?? 0) > 0) this.schedule(topic);
    });
    this.draining.set(topic, run);
  }
}

/**
 * The bus the configuration asks for: Kafka when KAFKA_BROKERS is set (topics in `topics`
 * created if missing: the broker does not create them on first use), else in-process. Callers
 * get an EventBus either way and never ask which.
 */
export async function createBus(
  config: Pick<Config, "KAFKA_BROKERS" | "KAFKA_CLIENT_ID" | "KAFKA_COMPRESSION">,
  deps: {
    logger: Logger;
    topics?: KafkaTopicSpec[];
    /** Default KAFKA_CLIENT_ID; e.g. `${KAFKA_CLIENT_ID}-loader` for a loader process. */
    clientId?: string;
    /** The in-process bus's publish window (ms). */
    lingerMs?: number;
  },
): Promise<EventBus> {
  if (!config.KAFKA_BROKERS) return new InProcessBus({ lingerMs: deps.lingerMs ?? 2, logger: deps.logger });
  return KafkaBus.connect({
    brokers: config.KAFKA_BROKERS,
    clientId: deps.clientId ?? config.KAFKA_CLIENT_ID,
    logger: deps.logger,
    compression: config.KAFKA_COMPRESSION,
    ...(deps.topics ? { topics: deps.topics } : {}),
  });
}
