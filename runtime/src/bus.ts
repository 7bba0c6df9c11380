/**
 * The event bus: the one seam between producers (collector, outbox relay) and consumers
 * (loader). In embedded mode it is in-process; in scaled mode it is Kafka (step 2), with
 * the same interface and the same guarantees a caller can rely on:
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

export type BatchHandler<T = unknown> = (batch: BusBatch<T>) => Promise<void>;

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

export interface EventBus {
  readonly kind: "in-process" | "kafka";
  publish<T>(topic: string, messages: BusMessage<T>[], options?: PublishOptions): Promise<void>;
  /** Register a consumer group; one handler per group and topic. */
  subscribe<T>(topic: string, group: string, handler: BatchHandler<T>): Promise<void>;
  close(): Promise<void>;
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
  private readonly groups = new Map<string, Map<string, BatchHandler>>();
  private readonly queues = new Map<string, Pending[]>();
  private readonly draining = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly options: { lingerMs?: number; maxBatch?: number } = {}) {}

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

  async subscribe<T>(topic: string, group: string, handler: BatchHandler<T>): Promise<void> {
    const byGroup = this.groups.get(topic) ?? new Map<string, BatchHandler>();
    this.groups.set(topic, byGroup);
    if (byGroup.has(group)) throw new Error(`group ${group} already subscribed to ${topic}`);
    byGroup.set(group, handler as BatchHandler);
  }

  /** Resolves once everything published so far has been delivered. */
  async flush(): Promise<void> {
    while (this.draining.size > 0) await Promise.allSettled([...this.draining.values()]);
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
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
          const handlers = [...(this.groups.get(topic)?.values() ?? [])];
          await Promise.all(handlers.map((h) => h(batch)));
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
