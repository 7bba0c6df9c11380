import path from "node:path";
import { z } from "zod";
import { AppError } from "./errors.ts";

const emptyToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);
const optionalUrl = (protocols: string[]) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .url()
      .refine((u) => protocols.some((p) => u.startsWith(`${p}:`)), `must start with ${protocols.join(": or ")}:`)
      .optional(),
  );

/**
 * Every variable the services read. Parsed once, at start, by `loadConfig`; everything else
 * receives the typed result. `.env.example` documents each one.
 */
export const ConfigSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATA_DIR: z.string().min(1).default(".data"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Unset: embedded Postgres (PGlite) in $DATA_DIR/pg. */
  DATABASE_URL: optionalUrl(["postgres", "postgresql"]),
  /** Unset: embedded ClickHouse (chDB) in $DATA_DIR/clickhouse. */
  CLICKHOUSE_URL: optionalUrl(["http", "https"]),
  CLICKHOUSE_USER: z.string().default("default"),
  CLICKHOUSE_PASSWORD: z.string().default(""),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a plain identifier")
    .default("marquee"),
  /** How often the demo rebuilds the popularity and item-to-item models, in seconds (0 = never). */
  MODEL_REFRESH_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
  /** Size of the synthetic world seeded on first start. */
  SEED_SCALE: z.enum(["tiny", "demo", "large"]).default("demo"),
  /** Seed on first start when the catalogue is empty. */
  SEED_ON_START: z
    .enum(["true", "false", "1", "0"])
    .default("true")
    .transform((v) => v === "true" || v === "1"),
  /** Origins allowed to post events from a browser, comma-separated; the store's own is always allowed. */
  CORS_ORIGINS: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  /** Kafka brokers, comma-separated host:port. Unset: the in-process bus (embedded mode). */
  KAFKA_BROKERS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .transform((v) =>
        v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .refine(
        (list) => list.length > 0 && list.every((b) => /^[^\s:/]+:\d{1,5}$/.test(b)),
        "must be host:port[,host:port]",
      )
      .optional(),
  ),
  KAFKA_CLIENT_ID: z.string().min(1).default("marquee"),
  /** Partitions of events.v1 when Marquee creates it (existing topics are left as they are). */
  KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(6),
  /** Compression of produced batches: gzip (built into kafkajs) or none. */
  KAFKA_COMPRESSION: z.enum(["gzip", "none"]).default("gzip"),
  /** The events topic (the collector publishes there, the loader reads it; its DLQ is `<topic>.dlq`). */
  KAFKA_EVENTS_TOPIC: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,200}$/, "must be a Kafka topic name")
    .default("events.v1"),
  /** Consumer group of the ClickHouse loader. */
  LOADER_GROUP: z.string().min(1).default("clickhouse-loader"),
  /** The loader inserts up to this many rows per ClickHouse insert ... */
  LOADER_BATCH_ROWS: z.coerce.number().int().min(1).max(1_000_000).default(50_000),
  /** ... and waits at most this long (ms) for a batch to fill. */
  LOADER_BATCH_MS: z.coerce.number().int().min(1).max(60_000).default(250),
  /** Unset: online features in memory (embedded mode). */
  REDIS_URL: optionalUrl(["redis", "rediss"]),
  /** Collector requests per client (IP) per minute; 0 turns the limit off. */
  COLLECTOR_RATE_LIMIT: z.coerce.number().int().min(0).default(6000),
});

export type Config = Readonly<z.infer<typeof ConfigSchema> & { dataDir: string }>;

/** Parse the environment once. Throws an AppError('config') naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new AppError("config", `invalid configuration: ${problems.join("; ")}`, {
      details: { problems },
    });
  }
  return Object.freeze({ ...parsed.data, dataDir: path.resolve(parsed.data.DATA_DIR) });
}

export function modeOf(config: Config): {
  postgres: "pglite" | "server";
  clickhouse: "chdb" | "server";
  bus: "in-process" | "kafka";
  online: "memory" | "redis";
} {
  return {
    postgres: config.DATABASE_URL ? "server" : "pglite",
    clickhouse: config.CLICKHOUSE_URL ? "server" : "chdb",
    bus: config.KAFKA_BROKERS ? "kafka" : "in-process",
    online: config.REDIS_URL ? "redis" : "memory",
  };
}
