import { parseArgs } from "node:util";
import { migrateClickHouse } from "@marquee/analytics";
import { Accounts, Catalog, COMMERCE_MIGRATIONS, schema as commerceSchema, ROLES, type Role } from "@marquee/commerce";
import { operatorSocketPath, sendOperatorCommand, sendOperatorExtension } from "@marquee/commerce/operator-socket";
import { AppError, createClickHouse, createLogger, createPostgres, type Logger, loadConfig } from "@marquee/runtime";
import { loadMovieLensDir } from "@marquee/seed";
import {
  ApiKeys,
  apiKeyCommands,
  describeApiKeysResult,
  parseApiKeysArgs,
  SERVING_MIGRATIONS,
  SERVING_MIGRATIONS_TABLE,
  servingSchema,
} from "@marquee/serving";
import { createMarquee } from "./app.ts";
import { EXPERIMENT_USAGE, experimentCommand } from "./experiment-command.ts";
import { startLoaderProcess } from "./loader-process.ts";
import { startTranscodeWorkers } from "./media.ts";
import { seedIfEmpty, storeWorld } from "./seed-store.ts";
import { startServeProcess } from "./serve-process.ts";

const USAGE = `marquee <command>

  start                      run the whole store in one process (embedded mode unless URLs are set)
  serve                      run the scoring API on its own (stateless: run several replicas;
                             MODEL_DIR the model registry, REDIS_URL the online store)
  loader                     run the Kafka → ClickHouse loader on its own (needs KAFKA_BROKERS)
  transcode-worker           run media's transcode workers on their own (needs DATABASE_URL;
                             MEDIA_S3_URL for shared storage; MEDIA_WORKERS per process)
  seed [--scale tiny|demo|large] [--seed N]
                             store a deterministic synthetic world (when the catalogue is empty)
  grant-role EMAIL ROLE      give an account a role (viewer, seller or admin), e.g. the first admin
  api-keys create|list|revoke
                             serving API keys for other clients (apps, partner sites):
                             create --name NAME --scopes catalog:read,users:read [--rate-limit N/min]
                             [--cors-origin https://…]…; list; revoke KEY_ID
  experiment start|stop|show A/B test personal model versions, without a restart:
                             ${EXPERIMENT_USAGE.replaceAll("\n  ", "\n                             ")}
  seed --movielens DIR       load MovieLens files (u.data+u.item, ratings.dat+movies.dat or
                             ratings.csv+movies.csv) as the catalogue and rating events
`;

/**
 * A long-running command's end: on SIGINT or SIGTERM, log `stopping`, close, exit 0. Returns
 * main's "keep running" (-1).
 */
function untilSignalled(logger: Logger, stopping: string, close: () => Promise<void>): number {
  const stop = async (signal: string) => {
    logger.info({ signal }, stopping);
    await close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
  return -1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const config = loadConfig();
  const logger = createLogger({ service: "marquee", level: config.LOG_LEVEL });
  switch (command) {
    case "start": {
      const started = performance.now();
      const marquee = await createMarquee(config, { logger });
      const address = await marquee.app.listen({ host: config.HOST, port: config.PORT });
      logger.info({ address, ready_seconds: Math.round(performance.now() - started) / 1000 }, "Marquee is ready");
      process.stdout.write(`\n  Marquee is running at ${address.replace("127.0.0.1", "localhost")}\n\n`);
      return untilSignalled(logger, "shutting down", () => marquee.close());
    }
    case "serve": {
      const started = performance.now();
      const serving = await startServeProcess(config, logger);
      const address = await serving.app.listen({ host: config.HOST, port: config.PORT });
      logger.info(
        { address, models: serving.hub.versions(), ready_seconds: Math.round(performance.now() - started) / 1000 },
        "serving is ready",
      );
      return untilSignalled(logger, "serving shutting down", () => serving.close());
    }
    case "loader": {
      const loader = await startLoaderProcess(config, logger);
      logger.info({ topic: config.KAFKA_EVENTS_TOPIC, group: config.LOADER_GROUP }, "loader is running");
      return untilSignalled(logger, "loader draining", () => loader.close());
    }
    case "transcode-worker": {
      const workers = await startTranscodeWorkers(config, logger);
      logger.info({ workers: workers.workers.length }, "transcode workers are running");
      return untilSignalled(logger, "transcode workers stopping", () => workers.close());
    }
    case "experiment": {
      process.stdout.write(await experimentCommand(config, rest));
      return 0;
    }
    case "grant-role": {
      const [email, role] = rest;
      if (!email || !role || !(ROLES as readonly string[]).includes(role))
        throw new AppError("bad_request", `usage: grant-role EMAIL ${ROLES.join("|")}`);
      const said = `${email} is now ${role === "admin" ? "an" : "a"} ${role}\n`;
      // A store running on this data folder owns its PGlite files: it makes the change itself,
      // so it applies from the next request (opening the files here would go unseen by it).
      if (!config.DATABASE_URL) {
        const reply = await sendOperatorCommand(operatorSocketPath(config.dataDir), {
          command: "grant-role",
          email,
          role: role as Role,
        });
        if (reply) {
          if (!reply.ok) throw new AppError(reply.code, reply.message);
          if (!reply.granted) throw new AppError("not_found", `no account with the e-mail ${email}`);
          process.stdout.write(said);
          return 0;
        }
      }
      // No store running here, or a database server that every process reads afresh.
      const postgres = await createPostgres(config, commerceSchema);
      try {
        await postgres.migrate(COMMERCE_MIGRATIONS);
        const granted = await new Accounts(postgres.db).grantRoleByEmail(email, role as Role);
        if (!granted) throw new AppError("not_found", `no account with the e-mail ${email}`);
        process.stdout.write(said);
        return 0;
      } finally {
        await postgres.close();
      }
    }
    case "api-keys": {
      const { command: op, args, json } = parseApiKeysArgs(rest);
      // Like grant-role: a running embedded store owns its PGlite files, so it runs the command
      // (and its key cache sees the change at once); else the database directly.
      if (!config.DATABASE_URL) {
        const reply = await sendOperatorExtension(operatorSocketPath(config.dataDir), op, args);
        if (reply) {
          if (!reply.ok) throw new AppError(reply.code, reply.message);
          process.stdout.write(describeApiKeysResult(op, reply.result, json));
          return 0;
        }
      }
      const postgres = await createPostgres(config, servingSchema);
      try {
        await postgres.migrate(SERVING_MIGRATIONS, { table: SERVING_MIGRATIONS_TABLE });
        const result = await apiKeyCommands(new ApiKeys(postgres.db))[op](args);
        process.stdout.write(describeApiKeysResult(op, result, json));
        return 0;
      } finally {
        await postgres.close();
      }
    }
    case "seed": {
      const { values } = parseArgs({
        args: rest,
        options: {
          scale: { type: "string", default: config.SEED_SCALE },
          seed: { type: "string", default: "42" },
          movielens: { type: "string" },
        },
      });
      const scale = values.scale;
      if (scale !== "tiny" && scale !== "demo" && scale !== "large") {
        throw new AppError("bad_request", `--scale must be tiny, demo or large, not ${scale}`);
      }
      const postgres = await createPostgres(config, commerceSchema);
      await postgres.migrate(COMMERCE_MIGRATIONS);
      const clickhouse = await createClickHouse(config);
      await migrateClickHouse(clickhouse.client);
      const catalog = new Catalog(postgres.db);
      try {
        if (values.movielens) {
          const data = await loadMovieLensDir(values.movielens);
          const stored = await storeWorld({
            catalog,
            clickhouse: clickhouse.client,
            logger,
            titles: data.titles,
            events: data.ratings,
            label: `movielens-${values.movielens}`,
          });
          process.stdout.write(
            `loaded ${stored.titles} titles and ${stored.events} ratings from ${values.movielens}\n`,
          );
        } else {
          const seeded = await seedIfEmpty({
            catalog,
            clickhouse: clickhouse.client,
            logger,
            scale,
            seed: Number(values.seed),
          });
          process.stdout.write(seeded ? "seeded\n" : "catalogue already has titles: nothing to do\n");
        }
      } finally {
        await clickhouse.close();
        await postgres.close();
      }
      return 0;
    }
    default:
      process.stdout.write(USAGE);
      return command === undefined || command === "help" || command === "--help" ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    const message = err instanceof AppError ? err.message : err instanceof Error ? err.stack : String(err);
    process.stderr.write(`marquee: ${message}\n`);
    process.exit(1);
  },
);
