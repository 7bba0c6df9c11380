import { COMMERCE_MIGRATIONS, type CommerceSchema, enqueueOutbox, schema } from "@marquee/commerce";
import { OutboxRelay } from "@marquee/ingest";
import {
  type BusMessage,
  createLogger,
  createPostgres,
  InProcessBus,
  type PostgresHandle,
  sql,
} from "@marquee/runtime";
import { serviceSuite } from "@marquee/runtime/testing";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const logger = createLogger({ service: "test", level: "silent" });

const title = (id: string) => ({
  id,
  title: `Title ${id}`,
  year: 2001,
  runtimeMin: 100,
  ageRating: "PG",
});

const purchase = (n: number) => ({
  id: uuidv7(),
  topic: "commerce.test.v1",
  key: `u${n % 5}`,
  payload: { n },
});

/** A bus that records what it was given, and can be told to fail. */
function recordingBus() {
  const bus = new InProcessBus({ lingerMs: 0 });
  const received: BusMessage[] = [];
  let failing = false;
  void bus.subscribe("commerce.test.v1", "test", async (batch) => {
    if (failing) throw new Error("broker unavailable (simulated)");
    received.push(...batch.messages);
  });
  return {
    bus,
    received,
    fail: (v: boolean) => {
      failing = v;
    },
  };
}

function outboxBehaviour(open: () => Promise<PostgresHandle<CommerceSchema>>, dispose: () => Promise<void>) {
  let pg: PostgresHandle<CommerceSchema>;
  beforeAll(async () => {
    pg = await open();
    await pg.migrate(COMMERCE_MIGRATIONS);
  });
  afterAll(async () => {
    await pg?.close();
    await dispose();
  });

  const unsent = async () => {
    const r = await pg.db.execute(sql`select count(*)::int as n from outbox where sent_at is null`);
    return ((Array.isArray(r) ? r : (r as { rows: { n: number }[] }).rows)[0] as { n: number }).n;
  };

  it("writes the outbox row with the business change, or neither", async () => {
    const e = purchase(1);
    await pg.db.transaction(async (tx) => {
      await tx.insert(schema.titles).values(title("t-outbox-1"));
      await enqueueOutbox(tx, [e]);
    });
    const failed = purchase(2);
    await expect(
      pg.db.transaction(async (tx) => {
        await enqueueOutbox(tx, [failed]);
        await tx.insert(schema.titles).values(title("t-outbox-1")); // duplicate key: rolls back
      }),
    ).rejects.toThrow();
    // Enqueuing the same event again (a retried operation) is a no-op.
    await pg.db.transaction((tx) => enqueueOutbox(tx, [e]));
    const rows = await pg.db.select().from(schema.outbox);
    expect(rows.map((r) => r.id)).toEqual([e.id]);

    const { bus, received } = recordingBus();
    const relay = new OutboxRelay({ db: pg.db, bus, logger });
    expect(await relay.runOnce()).toBe(1);
    expect(await relay.runOnce()).toBe(0);
    expect(received).toEqual([{ key: "u1", value: { n: 1 }, headers: { "x-outbox-id": e.id } }]);
    expect(await unsent()).toBe(0);
  });

  it("keeps rows unsent while the bus fails, and publishes them once it is back", async () => {
    const events = Array.from({ length: 20 }, (_, i) => purchase(i));
    await pg.db.transaction((tx) => enqueueOutbox(tx, events));
    const { bus, received, fail } = recordingBus();
    const relay = new OutboxRelay({ db: pg.db, bus, logger, batchSize: 8 });
    fail(true);
    expect(await relay.runOnce()).toBe(0);
    expect(await unsent()).toBe(20);
    const [row] = await pg.db.select().from(schema.outbox).where(sql`id = ${events[0]?.id}::uuid`);
    expect(row?.attempts).toBe(1);
    expect(row?.lastError).toMatch(/simulated/);
    fail(false);
    while ((await relay.runOnce()) > 0) {}
    expect(await unsent()).toBe(0);
    // Oldest first, each once.
    expect(received.map((m) => (m.value as { n: number }).n)).toEqual(events.map((_, i) => i));
  });

  for (const outcome of ["lands", "fails"] as const) {
    it(`stop() waits for the publish in flight (which ${outcome}), then returns at once and starts no round`, async () => {
      const events = Array.from({ length: 3 }, (_, i) => purchase(100 + i));
      await pg.db.transaction((tx) => enqueueOutbox(tx, events));
      const bus = new InProcessBus({ lingerMs: 0 });
      let answer: () => void = () => undefined;
      let publishing: () => void = () => undefined;
      const started = new Promise<void>((r) => {
        publishing = r;
      });
      let rounds = 0;
      await bus.subscribe("commerce.test.v1", "slow", async () => {
        rounds++;
        publishing();
        // The broker takes its time: the relay is stopped meanwhile.
        await new Promise<void>((resolve, reject) => {
          answer = outcome === "lands" ? resolve : () => reject(new Error("broker unavailable (simulated)"));
        });
      });
      // A long idle wait: stop() must not sit through it once the round is over.
      const relay = new OutboxRelay({ db: pg.db, bus, logger, idleMs: 60_000 });
      relay.start();
      await started;
      let stopped = false;
      const stopping = relay.stop().then(() => {
        stopped = true;
      });
      await new Promise((r) => setTimeout(r, 50));
      expect(stopped).toBe(false); // still waiting for the broker's answer
      const at = Date.now();
      answer();
      await stopping;
      expect(Date.now() - at).toBeLessThan(5_000);
      // Landed: marked sent. Failed: left for the next relay, nothing lost.
      expect(await unsent()).toBe(outcome === "lands" ? 0 : 3);
      await new Promise((r) => setTimeout(r, 100));
      expect(rounds).toBe(1);
      await bus.close();
      // Leave the outbox empty for the tests after this one.
      await pg.db.execute(sql`update outbox set sent_at = now() where sent_at is null`);
    });
  }
}

describe("transactional outbox (PGlite)", () => {
  outboxBehaviour(
    () => createPostgres({ DATABASE_URL: undefined, dataDir: "" }, schema, { inMemory: true }),
    async () => undefined,
  );
});

serviceSuite("transactional outbox on Postgres", process.env.TEST_DATABASE_URL, (url) => {
  const name = `marquee_outbox_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = () => createPostgres({ DATABASE_URL: url, dataDir: "" }, {});
  const scratchUrl = () => {
    const u = new URL(url);
    u.pathname = `/${name}`;
    return u.toString();
  };
  outboxBehaviour(
    async () => {
      const a = await admin();
      await a.db.execute(sql.raw(`create database ${name}`));
      await a.close();
      return createPostgres({ DATABASE_URL: scratchUrl(), dataDir: "" }, schema);
    },
    async () => {
      const a = await admin();
      await a.db.execute(sql.raw(`drop database if exists ${name} with (force)`));
      await a.close();
    },
  );

  it("two relays at once publish every row exactly once (SKIP LOCKED)", async () => {
    const pg = await createPostgres({ DATABASE_URL: scratchUrl(), dataDir: "" }, schema);
    try {
      await pg.db.execute(sql`delete from outbox`);
      const events = Array.from({ length: 600 }, (_, i) => purchase(i));
      for (let i = 0; i < events.length; i += 100) {
        await pg.db.transaction((tx) => enqueueOutbox(tx, events.slice(i, i + 100)));
      }
      const a = recordingBus();
      const b = recordingBus();
      const relays = [
        new OutboxRelay({ db: pg.db, bus: a.bus, logger, batchSize: 25 }),
        new OutboxRelay({ db: pg.db, bus: b.bus, logger, batchSize: 25 }),
      ];
      const drain = async (r: OutboxRelay) => {
        while ((await r.runOnce()) > 0) {}
      };
      await Promise.all(relays.map(drain));
      const ids = [...a.received, ...b.received].map((m) => m.headers?.["x-outbox-id"]);
      expect(ids).toHaveLength(600);
      expect(new Set(ids).size).toBe(600);
      expect(a.received.length).toBeGreaterThan(0);
      expect(b.received.length).toBeGreaterThan(0);
    } finally {
      await pg.close();
    }
  });
});
