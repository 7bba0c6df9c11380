import { migrateClickHouse, upsertTitleDimension } from "@marquee/analytics";
import { Catalog, schema as commerceSchema } from "@marquee/commerce";
import { TOPICS } from "@marquee/contracts";
import { type EventLoader, type LoaderOptions, startCatalogLoader, startLoader } from "@marquee/ingest";
import {
  type ClickHouseHandle,
  type Config,
  createBus,
  createClickHouse,
  createOnlineStore,
  createPostgres,
  type EventBus,
  type Logger,
  type OnlineStore,
  type PostgresHandle,
} from "@marquee/runtime";

export interface LoaderProcess {
  loader: EventLoader;
  bus: EventBus;
  clickhouse: ClickHouseHandle;
  online: OnlineStore;
  /** The catalogue it reads titles' state from (DATABASE_URL); null: it loads events only. */
  postgres: PostgresHandle<typeof commerceSchema> | null;
  /** Graceful: stop fetching, let in-flight batches insert and commit, then close the stores. */
  close(): Promise<void>;
}

/**
 * The Kafka → ClickHouse loader as its own process (`marquee loader`, scaled mode): a consumer
 * group member that inserts batches into ClickHouse, keeps online histories, and commits
 * offsets only after the insert landed. Run several for more throughput (up to one per
 * partition); kill one at any moment and the others (or its restart) continue without loss.
 */
export async function startLoaderProcess(
  config: Config,
  logger: Logger,
  hooks: Pick<LoaderOptions, "onInserted"> = {},
): Promise<LoaderProcess> {
  if (!config.KAFKA_BROKERS) throw new Error("marquee loader needs KAFKA_BROKERS");
  const clickhouse = await createClickHouse(config);
  await migrateClickHouse(clickhouse.client);
  const online = await createOnlineStore(config);
  const bus = await createBus(config, {
    clientId: `${config.KAFKA_CLIENT_ID}-loader`,
    logger: logger.child({ component: "kafka" }),
    topics: [
      { name: config.KAFKA_EVENTS_TOPIC, partitions: config.KAFKA_PARTITIONS },
      { name: TOPICS.catalogTitles, partitions: config.KAFKA_PARTITIONS },
    ],
  });
  // catalog.titles.v1 → the titles dimension, as a member of the app's group. Its messages carry
  // each title's state; with the shared database (DATABASE_URL) older messages without it are
  // completed from the catalogue, without it they are skipped (and logged).
  const postgres: PostgresHandle<typeof commerceSchema> | null = config.DATABASE_URL
    ? await createPostgres(config, commerceSchema, {
        onIdleError: (err) => logger.warn({ err }, "postgres dropped an idle connection; the pool opens a new one"),
      })
    : null;
  const catalog = postgres ? new Catalog(postgres.db) : null;
  await startCatalogLoader(bus, {
    titles: catalog ? (ids) => catalog.titleStates(ids) : undefined,
    dimension: (rows) => upsertTitleDimension(clickhouse.client, rows),
    logger: logger.child({ component: "catalog-loader" }),
  });
  const loader = await startLoader(
    bus,
    { clickhouse: clickhouse.client, online, logger: logger.child({ component: "loader" }), ...hooks },
    {
      topic: config.KAFKA_EVENTS_TOPIC,
      group: config.LOADER_GROUP,
      batchRows: config.LOADER_BATCH_ROWS,
      batchMs: config.LOADER_BATCH_MS,
      concurrency: config.LOADER_CONCURRENCY,
      consumers: config.LOADER_CONSUMERS,
    },
  );
  let closed = false;
  return {
    loader,
    bus,
    clickhouse,
    online,
    postgres,
    async close() {
      if (closed) return;
      closed = true;
      await bus.close();
      await online.close();
      await clickhouse.close();
      await postgres?.close();
    },
  };
}
