import { type Database, type EventBus, type Logger, rowsOf, sql } from "@marquee/runtime";

export interface OutboxRelayOptions {
  db: Database<Record<string, unknown>>;
  bus: EventBus;
  logger: Logger;
  /** Rows claimed per round. */
  batchSize?: number;
  /** Pause between rounds when the outbox is empty (ms). */
  idleMs?: number;
}

interface OutboxRow extends Record<string, unknown> {
  id: string;
  topic: string;
  key: string;
  payload: unknown;
  headers: Record<string, string> | null;
}

/**
 * Publishes the commerce outbox (table `outbox`, written by commerce's `enqueueOutbox` in the
 * same transaction as the business change) to the bus.
 *
 * One round, in one transaction: claim up to `batchSize` unsent rows, oldest first, with
 * `FOR UPDATE SKIP LOCKED` (so two relays never hold the same row and neither waits for the
 * other), publish them and wait for the bus's acknowledgement, then mark them sent and commit.
 * A failed publish rolls back (the rows stay unsent and are tried again; `attempts` and
 * `last_error` say why). Delivery is at least once: a relay that dies after the bus
 * acknowledged but before its commit leaves rows that the next round publishes again, with the
 * same event id in the `x-outbox-id` header and in the payload, which consumers deduplicate by
 * (the ClickHouse loader drops outbox events it has already stored).
 */
export class OutboxRelay {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly options: OutboxRelayOptions) {}

  /** Publish one batch; returns how many rows were published. */
  async runOnce(): Promise<number> {
    const { db, bus } = this.options;
    const limit = this.options.batchSize ?? 500;
    let failure: unknown = null;
    let claimed: OutboxRow[] = [];
    const published = await db.transaction(async (tx) => {
      claimed = rowsOf<OutboxRow>(
        await tx.execute(sql`
          select id::text as id, topic, key, payload, headers from outbox
          where sent_at is null
          order by created_at, id
          limit ${limit}
          for update skip locked`),
      );
      if (claimed.length === 0) return 0;
      const byTopic = new Map<string, OutboxRow[]>();
      for (const r of claimed) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
      try {
        for (const [topic, rows] of byTopic) {
          await bus.publish(
            topic,
            rows.map((r) => ({ key: r.key, value: r.payload, headers: { ...(r.headers ?? {}), "x-outbox-id": r.id } })),
          );
        }
      } catch (e) {
        failure = e;
        return 0;
      }
      const ids = claimed.map((r) => r.id);
      await tx.execute(sql`update outbox set sent_at = now(), attempts = attempts + 1, last_error = null
                           where id in (${sql.join(
                             ids.map((id) => sql`${id}::uuid`),
                             sql`, `,
                           )})`);
      return claimed.length;
    });
    if (failure) {
      const ids = claimed.map((r) => r.id);
      const message = failure instanceof Error ? failure.message : String(failure);
      this.options.logger.warn({ err: failure, rows: ids.length }, "outbox publish failed; will retry");
      await db.execute(sql`update outbox set attempts = attempts + 1, last_error = ${message.slice(0, 500)}
                           where id in (${sql.join(
                             ids.map((id) => sql`${id}::uuid`),
                             sql`, `,
                           )}) and sent_at is null`);
    }
    return published;
  }

  /** Run rounds until stopped: back to back while there is work, every `idleMs` otherwise. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      let failures = 0;
      while (this.running) {
        let n = 0;
        try {
          n = await this.runOnce();
          failures = 0;
        } catch (e) {
          failures++;
          this.options.logger.error({ err: e }, "outbox relay round failed");
        }
        if (n > 0 && failures === 0) continue;
        // stop() during the round found no wait to cut short: do not start one.
        if (!this.running) break;
        const wait = failures > 0 ? Math.min(10_000, 200 * 2 ** failures) : (this.options.idleMs ?? 200);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = null;
      }
    })();
  }

  /**
   * Stop: no round starts after this, and a round in progress finishes first (its publish is
   * awaited and its rows marked sent or left for next time), so the bus can be closed after it
   * without failing a publish half-way. Resolves at once when not started.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = null;
  }
}
