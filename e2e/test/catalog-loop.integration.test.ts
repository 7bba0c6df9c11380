import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { migrateClickHouse, publishedCatalogue, publishedTitles, upsertTitleDimension } from "@marquee/analytics";
import { COMMERCE_MIGRATIONS, Commerce, LocalGateway, schema, type Viewer } from "@marquee/commerce";
import { TOPICS } from "@marquee/contracts";
import { loadTitleFeatures } from "@marquee/feature-store";
import { OutboxRelay, startCatalogLoader } from "@marquee/ingest";
import {
  type ClickHouseHandle,
  createBus,
  createClickHouse,
  createLogger,
  createPostgres,
  type EventBus,
  type KafkaBus,
  loadConfig,
  type PostgresHandle,
  sql,
} from "@marquee/runtime";
import { serviceSuite } from "@marquee/runtime/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "./support.ts";

/**
 * The catalogue loop end to end: a title approved in commerce (PGlite) → its outbox row → the
 * relay → the bus (in-process, or Kafka's catalog.titles.v1) → the catalogue loader → ClickHouse's
 * titles dimension (chDB), which the models and serving's rows read.
 */
const logger = createLogger({ service: "test", level: "silent" });
const RUN = `${Date.now().toString(36)}${process.pid.toString(36)}`;

// chDB binds one data directory per process: this file opens exactly one, for both buses.
let dir: string;
let ch: ClickHouseHandle;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "marquee-catalog-loop-"));
  ch = await createClickHouse(loadConfig({ DATA_DIR: dir }));
  await migrateClickHouse(ch.client);
});
afterAll(async () => {
  await ch?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function catalogueLoop(
  label: string,
  openBus: () => Promise<EventBus>,
  closeBus: (bus: EventBus) => Promise<void>,
  { readsCatalogue = true } = {},
) {
  let pg: PostgresHandle<typeof schema>;
  let commerce: Commerce;
  let bus: EventBus;
  let relay: OutboxRelay;
  /** Title ids of every batch the loader applied, in order (a replay is seen here, then skipped). */
  const applied: string[] = [];

  beforeAll(async () => {
    pg = await createPostgres({ DATABASE_URL: undefined, dataDir: "" }, schema, { inMemory: true });
    await pg.migrate(COMMERCE_MIGRATIONS);
    commerce = new Commerce({
      db: pg.db,
      gateway: new LocalGateway(pg.db, { webhookSecret: "whsec_catalog_loop_test_secret", baseUrl: "http://t" }),
      log: logger,
      playbackSecret: "playback-secret-for-the-catalog-loop",
    });
    bus = await openBus();
    await startCatalogLoader(
      bus,
      {
        titles: readsCatalogue ? (ids) => commerce.catalog.titleStates(ids) : undefined,
        dimension: (rows) => upsertTitleDimension(ch.client, rows),
        logger,
        onApplied: ({ ids }) => void applied.push(...ids),
      },
      { group: `titles-dimension-${label}-${RUN}` },
    );
    relay = new OutboxRelay({ db: pg.db, bus, logger, idleMs: 50 });
    relay.start();
  });
  afterAll(async () => {
    await relay?.stop();
    if (bus) await closeBus(bus);
    await pg?.close();
  });

  const signUp = (name: string) =>
    commerce.accounts.signUp({ email: `${name}-${label}-${RUN}@example.com`, password: "correct horse battery" });
  const reauth = async (token: string) => (await commerce.accounts.authenticate(token)) as Viewer;

  /** A seller's film, sent for review; and an admin to decide on it. */
  async function filmInReview(name: string): Promise<{ id: string; admin: Viewer }> {
    const s = await signUp(`seller-${name}`);
    await commerce.selling.becomeSeller(s.viewer, `Studio ${name}`);
    const seller = await reauth(s.token);
    const { title_id } = await commerce.selling.createTitle(seller, {
      title: `Catalogue Loop ${name}`,
      year: 2026,
      runtime_min: 90,
      age_rating: "PG",
      genres: ["Documentary"],
    });
    await commerce.selling.setOffers(seller, title_id, [{ kind: "buy", quality: "HD", price_minor: 999 }]);
    await commerce.selling.submitForReview(seller, title_id);
    const a = await signUp(`admin-${name}`);
    await commerce.accounts.grantRole(a.viewer.userId, "admin");
    return { id: title_id, admin: await reauth(a.token) };
  }

  const versions = async (id: string) => {
    const rs = await ch.client.query({
      query: "SELECT status FROM titles WHERE id = {id:String} ORDER BY updated_at",
      query_params: { id },
      format: "JSONEachRow",
    });
    return (await rs.json<{ status: string }>()).map((r) => r.status);
  };
  const published = async (id: string) => (await publishedCatalogue(ch.client)).find((t) => t.id === id);
  /** Publish an outbox row again, as the relay would after a crash before its commit. */
  const replay = async (id: string, type: string) => {
    const rows = await pg.db.select().from(schema.outbox).where(sql`topic = ${TOPICS.catalogTitles}`);
    const row = rows.find((r) => {
      const p = r.payload as { title_id: string; type: string };
      return p.title_id === id && p.type === type;
    });
    if (!row) throw new Error(`no ${type} outbox row for ${id}`);
    const seen = applied.filter((a) => a === id).length;
    await bus.publish(TOPICS.catalogTitles, [
      { key: row.key, value: row.payload, headers: { ...(row.headers ?? {}), "x-outbox-id": row.id } },
    ]);
    await until("the replay to be handled", async () =>
      applied.filter((a) => a === id).length > seen ? true : undefined,
    );
  };

  it("an approved title reaches the dimension as published; a replay adds no row", async () => {
    const { id, admin } = await filmInReview("approve");
    expect(await published(id)).toBeUndefined();
    await commerce.selling.approve(admin, id);
    const t = await until("the approval in ClickHouse", () => published(id));
    expect(t).toMatchObject({ id, title: "Catalogue Loop approve", genres: ["Documentary"], year: 2026 });
    expect(t.published_at).not.toBeNull();
    // What the models read, too.
    expect((await loadTitleFeatures(ch.client)).map((f) => f.id)).toContain(id);
    await replay(id, "published");
    expect(await versions(id)).toEqual(["published"]);
  });

  it("a withdrawn title is not published anywhere; replaying its publication does not bring it back", async () => {
    const { id, admin } = await filmInReview("withdraw");
    await commerce.selling.approve(admin, id);
    await until("the approval in ClickHouse", () => published(id));
    await commerce.selling.withdraw(admin, id, "rights lapsed");
    await until("the withdrawal in ClickHouse", async () => ((await published(id)) ? undefined : true));
    expect((await publishedTitles(ch.client)).map((t) => t.id)).not.toContain(id);
    // Both versions were stored (a background merge of the ReplacingMergeTree may since have
    // kept only the newest, so the count can only go down from here, never up).
    const stored = await versions(id);
    expect(stored.at(-1)).toBe("withdrawn");
    // The publication arriving late (a replay, or out of order behind the withdrawal).
    await replay(id, "published");
    await replay(id, "withdrawn");
    expect(await published(id)).toBeUndefined();
    // Neither replay wrote a version.
    const after = await versions(id);
    expect(after.length).toBeLessThanOrEqual(stored.length);
    expect(after.at(-1)).toBe("withdrawn");
    const rs = await ch.client.query({
      query: "SELECT count() AS n, any(status) AS status FROM titles FINAL WHERE id = {id:String}",
      query_params: { id },
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([{ n: 1, status: "withdrawn" }]);
  });
}

// Embedded mode: the in-process bus runs the loader inside the relay's publish, while the
// relay's transaction holds PGlite's one connection; the messages carry the title's state, so
// the loader reads nothing from the catalogue (handed no `titles` source, as the app does).
describe("catalogue loop, in-process", () => {
  catalogueLoop(
    "in-process",
    async () => {
      const bus = await createBus(loadConfig({ KAFKA_BROKERS: undefined }), { logger });
      expect(bus.kind).toBe("in-process");
      return bus;
    },
    (bus) => bus.close(),
    { readsCatalogue: false },
  );
});

const BROKERS = process.env.TEST_KAFKA_BROKERS ?? "";
serviceSuite("catalogue loop, Kafka", BROKERS ? `kafka://${BROKERS.split(",")[0]}` : undefined, () => {
  catalogueLoop(
    "kafka",
    async () => {
      const config = loadConfig({ KAFKA_BROKERS: BROKERS, KAFKA_CLIENT_ID: `test-catalog-${RUN}` });
      // The real topic, as commerce's outbox names it, read by a group of this run's own (other
      // runs' titles on it are unknown to this catalogue, and skipped).
      const bus = await createBus(config, { logger, topics: [{ name: TOPICS.catalogTitles, partitions: 6 }] });
      expect(bus.kind).toBe("kafka");
      return bus;
    },
    async (bus) => {
      await bus.close();
      // This run's consumer group goes with it.
      const admin = (bus as KafkaBus).admin();
      await admin.connect();
      await admin.deleteGroups([`titles-dimension-kafka-${RUN}`]).catch(() => undefined);
      await admin.disconnect();
    },
  );
});
