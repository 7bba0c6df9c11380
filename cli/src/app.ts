import { existsSync } from "node:fs";
import path from "node:path";
import fastifyStatic from "@fastify/static";
import { migrateClickHouse, upsertTitleDimension } from "@marquee/analytics";
import {
  type Catalog,
  COMMERCE_MIGRATIONS,
  Commerce,
  schema as commerceSchema,
  createPaymentGateway,
} from "@marquee/commerce";
import { commerceApiRoutes } from "@marquee/commerce/http";
import { operatorSocketPath, serveOperatorCommands } from "@marquee/commerce/operator-socket";
import { TOPICS } from "@marquee/contracts";
import { loadServingTitles, OnlineFeatures } from "@marquee/feature-store";
import { collectorRoutes, OutboxRelay, startCatalogLoader, startLoader } from "@marquee/ingest";
import {
  type ClickHouseHandle,
  type Config,
  checkReadiness,
  createBus,
  createClickHouse,
  createLogger,
  createMetricsRegistry,
  createOnlineStore,
  createPostgres,
  type EventBus,
  httpErrorHandler,
  type Logger,
  ModelStore,
  modeOf,
  type PostgresHandle,
  resolveSecrets,
  sql,
} from "@marquee/runtime";
import { apiKeyCommands, ModelHub, Recommender, TitleIndex } from "@marquee/serving";
import { remixRoutes, STOREFRONT_BUILD, type StorefrontServices } from "@marquee/storefront";
import {
  DEFAULT_RETRAIN_CRON,
  type RefreshResult,
  RetrainScheduler,
  refreshFastModels,
  retrainPersonal,
  SingleFlightSchedule,
} from "@marquee/training";
import type { ServerBuild } from "@remix-run/node";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { type ComposedMedia, composeMedia } from "./media.ts";
import { seedIfEmpty } from "./seed-store.ts";
import { mountServing, servingAuthenticator, sessionViewer, startApiKeys } from "./serving-mount.ts";

export interface Marquee {
  app: FastifyInstance;
  config: Config;
  logger: Logger;
  postgres: PostgresHandle<typeof commerceSchema>;
  clickhouse: ClickHouseHandle;
  bus: EventBus;
  /** Commerce's server functions (accounts, catalogue, checkout, library, selling). */
  commerce: Commerce;
  catalog: Catalog;
  /** Where viewers reach the store (PUBLIC_URL, else this server's own address). */
  publicUrl(): string;
  models: ModelHub;
  /** The published catalogue serving's rows are filtered by (re-read every 15 s). */
  titles: TitleIndex;
  refresh: SingleFlightSchedule<RefreshResult>;
  /** Uploads, transcodes, protected playback. */
  media: ComposedMedia;
  close(): Promise<void>;
}

/**
 * The composition root of embedded mode: every service of Marquee in one process, on one port.
 * Opens the stores (PGlite / chDB unless URLs are set), applies migrations, seeds an empty
 * store, trains the fast models if none exist, and mounts collector, serving and storefront.
 */
export async function createMarquee(
  config: Config,
  options: { logger?: Logger; storefront?: boolean } = {},
): Promise<Marquee> {
  const logger = options.logger ?? createLogger({ service: "marquee", level: config.LOG_LEVEL });
  const mode = modeOf(config);
  logger.info({ mode, dataDir: config.dataDir }, "starting Marquee");

  const postgres = await createPostgres(config, commerceSchema, {
    onIdleError: (err) => logger.warn({ err }, "postgres dropped an idle connection; the pool opens a new one"),
  });
  await postgres.migrate(COMMERCE_MIGRATIONS);
  const { apiKeys, keyCache } = await startApiKeys(postgres, logger.child({ component: "serving" }));
  const clickhouse = await createClickHouse(config);
  const applied = await migrateClickHouse(clickhouse.client);
  if (applied.length > 0) logger.info({ applied }, "clickhouse migrations applied");
  // Secrets the environment does not set are generated once into $DATA_DIR/secrets.json; only
  // their names are logged.
  const secrets = resolveSecrets(config);
  if (secrets.generated.length > 0)
    logger.info({ generated: secrets.generated, file: secrets.file }, "secrets generated");
  if (config.DATABASE_URL && !config.PLAYBACK_SECRET)
    logger.warn("PLAYBACK_SECRET is unset with a shared database: every process must be given the same one");
  // Known before listening only when PUBLIC_URL is set; else read from the server once it listens.
  let app: FastifyInstance | undefined;
  const publicUrl = () => config.PUBLIC_URL ?? ownUrl(config, app);
  const gateway = createPaymentGateway({
    db: postgres.db,
    stripeSecretKey: config.STRIPE_SECRET_KEY,
    stripeWebhookSecret: config.STRIPE_WEBHOOK_SECRET,
    stripeApiUrl: config.STRIPE_API_URL,
    localWebhookSecret: secrets.localWebhookSecret,
    publicUrl,
  });
  // Media is composed once commerce is (it plays by commerce's rules); review asks it whether a
  // title's film is ready.
  let media: ComposedMedia | null = null;
  const commerce = new Commerce({
    filmProblem: async (titleId) => (media ? media.filmProblem(titleId) : "the store is starting: try again shortly"),
    db: postgres.db,
    gateway,
    log: logger.child({ component: "commerce" }),
    playbackSecret: secrets.playbackSecret,
    platformFeeBps: config.PLATFORM_FEE_BPS,
    authAttemptsPerMinute: config.AUTH_RATE_LIMIT,
  });
  const catalog = commerce.catalog;
  media = await composeMedia({
    config,
    mediaSigningSecret: secrets.mediaSigningSecret,
    postgres: postgres as unknown as PostgresHandle<Record<string, unknown>>,
    commerce,
    logger,
    viewerOf: sessionViewer(commerce.accounts, publicUrl),
  });
  const composedMedia = media;
  // Embedded mode: `marquee grant-role` and `marquee api-keys` reach this process, which owns the PGlite files.
  const operator =
    postgres.kind === "pglite"
      ? await serveOperatorCommands(
          operatorSocketPath(config.dataDir),
          commerce.accounts,
          logger,
          apiKeyCommands(apiKeys, { afterChange: () => keyCache.reload() }),
        ).catch((err) => {
          logger.warn({ err }, "operator socket not available: stop the store before marquee grant-role");
          return null;
        })
      : null;
  // Hourly housekeeping (each process; every step is idempotent): expired sessions, day-old
  // sign-in throttles, and in embedded mode unpaid local checkouts older than 24 hours.
  const sweep = setInterval(
    () =>
      void commerce
        .sweep()
        .then(({ expiredCheckouts }) => {
          if (expiredCheckouts > 0) logger.info({ expiredCheckouts }, "unpaid local checkouts expired");
        })
        .catch((err) => logger.warn({ err }, "commerce sweep failed")),
    3_600_000,
  );
  sweep.unref();

  if (config.SEED_ON_START) {
    await seedIfEmpty({ catalog, clickhouse: clickhouse.client, logger, scale: config.SEED_SCALE });
  }

  // Kafka when KAFKA_BROKERS is set (the loader here joins the group; `marquee loader` adds
  // more members), else in-process. Redis for online features when REDIS_URL is set.
  const bus = await createBus(config, {
    logger: logger.child({ component: "bus" }),
    // The broker does not create topics on first use: every topic the outbox publishes to
    // (commerce's catalogue changes) is created here with the events topic.
    topics: [
      { name: config.KAFKA_EVENTS_TOPIC, partitions: config.KAFKA_PARTITIONS },
      { name: TOPICS.catalogTitles, partitions: config.KAFKA_PARTITIONS },
    ],
  });
  const online = await createOnlineStore(config);
  // Rows show only published titles, each audience only what it may see: the catalogue's
  // ClickHouse dimension, re-read every 15 s and right after this process's catalogue loader
  // applied a change, so an approval or a withdrawal shows at once here, within 15 s elsewhere.
  const titles = new TitleIndex(() => loadServingTitles(clickhouse.client), logger.child({ component: "serving" }));
  // Catalogue changes (catalog.titles.v1) → ClickHouse's titles dimension, on either bus. The
  // messages carry each title's state. Older ones without it are completed from the catalogue
  // on Kafka only: the in-process bus runs this consumer inside the outbox relay's publish,
  // whose transaction holds PGlite's one connection, so a read there would wait forever.
  await startCatalogLoader(bus, {
    titles: bus.kind === "kafka" ? (ids) => catalog.titleStates(ids) : undefined,
    dimension: (rows) => upsertTitleDimension(clickhouse.client, rows),
    logger: logger.child({ component: "catalog-loader" }),
    onApplied: ({ written }) => {
      if (written > 0) void titles.changed();
    },
  });
  // Before the loader: its marquee_loader_* counters (dead letters, duplicates) go on /metrics.
  const metrics = createMetricsRegistry();
  await startLoader(
    bus,
    { clickhouse: clickhouse.client, online, logger: logger.child({ component: "loader" }), metrics },
    {
      topic: config.KAFKA_EVENTS_TOPIC,
      group: config.LOADER_GROUP,
      batchRows: config.LOADER_BATCH_ROWS,
      batchMs: config.LOADER_BATCH_MS,
      concurrency: config.LOADER_CONCURRENCY,
      consumers: config.LOADER_CONSUMERS,
    },
  );

  // Commerce's transactional outbox → the bus (purchases, rentals, refunds as commerce lands).
  const relay = new OutboxRelay({
    db: postgres.db,
    bus,
    logger: logger.child({ component: "outbox-relay" }),
    idleMs: 1_000,
  });
  relay.start();

  const store = new ModelStore(config.MODEL_DIR ?? path.join(config.dataDir, "models"));
  const models = new ModelHub(store, logger.child({ component: "serving" }));
  const refresh = new SingleFlightSchedule(async () => {
    const result = await refreshFastModels({ clickhouse: clickhouse.client, store, logger });
    await models.reload();
    return result;
  }, logger);
  await models.reload();
  if (!models.current.popularity) await refresh.runNow();
  refresh.start(config.MODEL_REFRESH_SECONDS);
  // Nightly full retrain of the personal model (gated promotion) in a worker thread,
  // single-flight across processes through the registry's lock files. A fresh store trains
  // its first one right after start (Top picks use item-to-item until it lands).
  // MODEL_REFRESH_SECONDS=0 turns scheduled training off altogether.
  const retrain = new RetrainScheduler(
    [
      {
        name: "retrain-personal",
        cron: DEFAULT_RETRAIN_CRON.full,
        run: async () => {
          const result = await retrainPersonal({ clickhouse: clickhouse.client, store, logger, inWorker: true });
          await models.reload();
          return result;
        },
      },
    ],
    { lockDir: path.join(store.root, ".locks"), logger },
  );
  if (config.MODEL_REFRESH_SECONDS > 0) {
    retrain.start();
    if (!models.current.personal)
      retrain.runNow("retrain-personal").catch((err) => logger.error({ err }, "first personal model failed"));
  }

  await titles.refresh();
  titles.watch();
  const recommender = new Recommender(models, new OnlineFeatures(online, clickhouse.client), { titles });

  app = Fastify({
    // Per-request logs only at warn and above: access logs belong to the proxy in front.
    loggerInstance: logger.child({ component: "http" }, { level: "warn" }) as FastifyBaseLogger,
    trustProxy: false,
  });
  app.setErrorHandler(httpErrorHandler);
  // Liveness: answers while the process runs, checks nothing (a restart cures no database).
  app.get("/health", async () => ({ status: "ok", mode, models: models.versions() }));
  // Readiness: every dependency a request needs, each bounded by a timeout; 503 names the
  // ones that failed, so a load balancer stops sending traffic and an operator sees why.
  app.get("/ready", async (_request, reply) => {
    const report = await checkReadiness({
      postgres: () => postgres.db.execute(sql`select 1`),
      clickhouse: async () => (await clickhouse.client.query({ query: "SELECT 1", format: "JSON" })).json(),
      bus: async () => bus.health?.(),
      models: async () => {
        if (!models.ready()) throw new Error("no popularity model loaded yet");
      },
      catalogue: async () => {
        if (!titles.ready) throw new Error("the published catalogue has not been read yet");
      },
    });
    return reply
      .code(report.status === "ok" ? 200 : 503)
      .header("cache-control", "no-store")
      .send(report);
  });
  app.get("/metrics", async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));
  await app.register(collectorRoutes, {
    bus,
    logger,
    metrics,
    online,
    topic: config.KAFKA_EVENTS_TOPIC,
    corsOrigins: config.CORS_ORIGINS,
    rateLimitPerMinute: config.COLLECTOR_RATE_LIMIT,
    maxEventAgeDays: config.COLLECTOR_MAX_EVENT_AGE_DAYS,
  });
  await mountServing(app, {
    config,
    recommender,
    keys: keyCache,
    authenticate: servingAuthenticator(commerce.accounts, publicUrl),
  });
  // /api/v1 for apps and other clients, the Stripe webhook, and (without Stripe keys) the
  // local test checkout pages.
  await app.register(commerceApiRoutes, { commerce, publicUrl });
  // Media: the origin (signed playlists, segments, keys; public trailers), play and heartbeat,
  // resumable uploads.
  await composedMedia.register(app);

  if (options.storefront ?? true) {
    if (!existsSync(STOREFRONT_BUILD.server)) {
      throw new Error(`storefront is not built (${STOREFRONT_BUILD.server} missing): run npm run build:storefront`);
    }
    const build = (await import(STOREFRONT_BUILD.server)) as ServerBuild;
    await app.register(fastifyStatic, {
      root: STOREFRONT_BUILD.client,
      wildcard: false,
      setHeaders(res, file) {
        res.setHeader(
          "cache-control",
          file.includes(`${path.sep}assets${path.sep}`)
            ? "public, max-age=31536000, immutable"
            : "public, max-age=3600",
        );
      },
    });
    const services = storefrontServices({
      catalog,
      recommender,
      commerce,
      media: composedMedia.services,
      publicUrl,
      log: logger.child({ component: "storefront" }),
    });
    await app.register(remixRoutes, {
      build,
      mode: config.NODE_ENV === "production" ? "production" : "development",
      // The socket address: sign-ups and sign-ins are limited per client where they are handled.
      loadContext: (request) => ({ services, clientAddress: request.ip }),
    });
  }

  // Last, in the background, so the store is up first: demo clips are generated and transcoded
  // while it serves (a title says "preparing" until its clip is ready).
  if (config.SEED_ON_START) void composedMedia.seedDemo().catch((err) => logger.error({ err }, "demo media failed"));

  let closed = false;
  return {
    app,
    config,
    logger,
    postgres,
    clickhouse,
    bus,
    commerce,
    catalog,
    publicUrl,
    models,
    titles,
    refresh,
    media: composedMedia,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweep);
      keyCache.stop();
      await operator?.close();
      await app.close();
      await refresh.stop();
      await retrain.stop();
      models.stop();
      titles.stop();
      // Before the database closes: a relay left running polls a closed PGlite forever, and a
      // transcode worker would fail its job.
      await relay.stop();
      await composedMedia.close();
      await bus.close();
      await online.close();
      await clickhouse.close();
      await postgres.close();
    },
  };
}

/**
 * http://localhost:PORT for a store bound to a loopback or wildcard address (what people type;
 * cookies are per host name), else http://HOST:PORT; the listening port once there is one.
 */
function ownUrl(config: Config, app: FastifyInstance | undefined): string {
  const address = app?.server.address();
  const port = address && typeof address === "object" ? address.port : config.PORT;
  const local = ["127.0.0.1", "0.0.0.0", "::", "::1", "localhost"].includes(config.HOST);
  const host = local ? "localhost" : config.HOST.includes(":") ? `[${config.HOST}]` : config.HOST;
  return `http://${host}:${port}`;
}

/**
 * The storefront's view of the rest of Marquee, in-process: the catalogue filtered by each
 * viewer's audience (kids' limits, region), serving's rows, and commerce's server functions
 * (each checks roles and ownership itself). In scaled mode the same shape is HTTP clients.
 */
function storefrontServices(parts: {
  catalog: Catalog;
  recommender: Recommender;
  commerce: Pick<Commerce, "accounts" | "checkout" | "library" | "selling">;
  media: Pick<StorefrontServices, "media" | "uploads">;
  /** The store's public address (return URLs from payment, Secure cookies when https); read per request. */
  publicUrl: () => string;
  log: Logger;
}): StorefrontServices {
  const { catalog, recommender, commerce, log } = parts;
  const posterUrl = (id: string) => `/posters/${encodeURIComponent(id)}.svg`;
  const withPoster = <T extends { id: string }>(c: T) => ({ ...c, poster_url: posterUrl(c.id) });
  return {
    catalog: {
      async cards(ids, audience) {
        return (await catalog.cards(ids, audience)).map(withPoster);
      },
      async title(id, audience) {
        const t = await catalog.title(id, audience);
        return t ? withPoster(t) : null;
      },
      poster: (id, audience) => catalog.poster(id, audience),
      async search(query, options) {
        return (await catalog.search(query, options)).map(withPoster);
      },
    },
    serving: {
      rows: (actorId, opts) => recommender.rows(actorId, opts),
      similar: (itemId, opts) => recommender.similar(itemId, opts),
    },
    commerce: {
      accounts: commerce.accounts,
      checkout: commerce.checkout,
      library: commerce.library,
      selling: commerce.selling,
    },
    media: parts.media.media,
    uploads: parts.media.uploads,
    // A getter: without PUBLIC_URL the address follows the port the server ends up on.
    get publicUrl() {
      return parts.publicUrl();
    },
    eventsUrl: "/v1/events",
    log,
  };
}
