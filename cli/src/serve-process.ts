import path from "node:path";
import { migrateClickHouse } from "@marquee/analytics";
import { Accounts, schema as commerceSchema } from "@marquee/commerce";
import { loadServingTitles, OnlineFeatures } from "@marquee/feature-store";
import {
  type Config,
  checkReadiness,
  createClickHouse,
  createMetricsRegistry,
  createOnlineStore,
  createPostgres,
  httpErrorHandler,
  type Logger,
  ModelStore,
  type PostgresHandle,
  sql,
} from "@marquee/runtime";
import { ModelHub, Recommender, servingMetrics, TitleIndex } from "@marquee/serving";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { mountServing, servingAuthenticator, startApiKeys } from "./serving-mount.ts";

export interface ServeProcess {
  app: FastifyInstance;
  hub: ModelHub;
  titles: TitleIndex;
  close(): Promise<void>;
}

/** How often a replica re-reads the registry's `current` pointers and experiments.json. */
const MODEL_POLL_MS = 5_000;

/**
 * The scoring API as its own process (`marquee serve`): stateless, so run as many replicas as
 * the traffic needs behind a load balancer. Each one
 *  - holds the models of the registry (MODEL_DIR, default $DATA_DIR/models: a shared volume in
 *    scaled mode) in memory, following its `current` pointers and experiments.json every 5 s
 *    (a promoted version is swapped in whole, a version that fails to load is refused);
 *  - reads viewers' recent history from the online store (Redis with REDIS_URL; the loader
 *    appends to it as events land), with ClickHouse read-through for viewers it has not seen;
 *  - filters by the published catalogue (ClickHouse's titles dimension, re-read every 15 s);
 *  - checks sign-in against commerce's sessions when DATABASE_URL is set (else only anonymous
 *    ids and API keys are served).
 * It loads no training code. /health (alive), /ready (models and catalogue loaded, stores
 * answering), /metrics (Prometheus), /v1/… (the API, /v1/openapi.json its document).
 */
export async function startServeProcess(config: Config, logger: Logger): Promise<ServeProcess> {
  const log = logger.child({ component: "serving" });
  const clickhouse = await createClickHouse(config);
  await migrateClickHouse(clickhouse.client);
  const online = await createOnlineStore(config);
  const postgres: PostgresHandle<typeof commerceSchema> | null = config.DATABASE_URL
    ? await createPostgres(config, commerceSchema, {
        onIdleError: (err) => log.warn({ err }, "postgres dropped an idle connection; the pool opens a new one"),
      })
    : null;
  if (!postgres)
    log.warn(
      "no DATABASE_URL: sign-in and API keys are not checked here, so only anonymous ids and the server key are served",
    );
  const { keyCache } = await startApiKeys(postgres, log);

  const store = new ModelStore(config.MODEL_DIR ?? path.join(config.dataDir, "models"));
  const hub = new ModelHub(store, log);
  await hub.reload();
  hub.watch(MODEL_POLL_MS);
  const titles = new TitleIndex(() => loadServingTitles(clickhouse.client), log);
  await titles.refresh();
  titles.watch();
  // With Redis the loader keeps every viewer's history there: no ClickHouse read on a request
  // (the embedded driver runs such queries one at a time, so a burst of newcomers would queue).
  const recommender = new Recommender(hub, new OnlineFeatures(online, config.REDIS_URL ? null : clickhouse.client), {
    titles,
    logger: log,
  });

  const metrics = createMetricsRegistry();
  const app = Fastify({
    loggerInstance: logger.child({ component: "http" }, { level: "warn" }) as FastifyBaseLogger,
    trustProxy: false,
  });
  app.setErrorHandler(httpErrorHandler);
  servingMetrics(app, { registry: metrics, hub });
  app.get("/health", async () => ({ status: "ok", service: "serving", models: hub.versions() }));
  app.get("/ready", async (_request, reply) => {
    const report = await checkReadiness({
      models: async () => {
        if (!hub.ready()) throw new Error("no popularity model loaded yet");
      },
      catalogue: async () => {
        if (!titles.ready) throw new Error("the published catalogue has not been read yet");
      },
      online: async () => online.recent("__readiness__", 1),
      ...(postgres ? { postgres: () => postgres.db.execute(sql`select 1`) } : {}),
    });
    return reply
      .code(report.status === "ok" ? 200 : 503)
      .header("cache-control", "no-store")
      .send(report);
  });
  app.get("/metrics", async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));
  // Sign-in against commerce's sessions; the cookie name follows the store's public address.
  const publicUrl = () => config.PUBLIC_URL ?? `http://localhost:${config.PORT}`;
  await mountServing(app, {
    config,
    recommender,
    keys: keyCache,
    ...(postgres ? { authenticate: servingAuthenticator(new Accounts(postgres.db), publicUrl) } : {}),
  });

  return {
    app,
    hub,
    titles,
    async close() {
      hub.stop();
      titles.stop();
      keyCache.stop();
      await app.close();
      await online.close();
      await clickhouse.close();
      await postgres?.close();
    },
  };
}
