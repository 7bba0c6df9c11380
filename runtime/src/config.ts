import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { issueMessages } from "@marquee/contracts";
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
  /**
   * The model registry `marquee serve` replicas and the store read (and training writes):
   * a shared volume in scaled mode. Unset: $DATA_DIR/models.
   */
  MODEL_DIR: z.preprocess(emptyToUndefined, z.string().min(1).optional()),
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
  /** Compression of produced batches: lz4 (the default: cheapest on CPU), gzip or none. */
  KAFKA_COMPRESSION: z.enum(["lz4", "gzip", "none"]).default("lz4"),
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
  /**
   * Partitions one loader works on at once: batches are decoded while an insert runs, and those
   * ready go into the next insert together. As many as partitions (6) measured best on two cores.
   */
  LOADER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(6),
  /**
   * Consumers one loader process runs in its group: kafkajs fetches again only after all of a
   * fetch's batches were handled, so with two, one decodes while the other's batches insert.
   */
  LOADER_CONSUMERS: z.coerce.number().int().min(1).max(16).default(2),
  /** Unset: online features in memory (embedded mode). */
  REDIS_URL: optionalUrl(["redis", "rediss"]),
  /** Collector requests per client (IP) per minute; 0 turns the limit off. */
  COLLECTOR_RATE_LIMIT: z.coerce.number().int().min(0).default(6000),
  /**
   * The collector refuses events whose occurred_at is more than this many days before it
   * received them (a per-event reason): one request must not reach back over years of
   * ClickHouse's monthly partitions. Raise it for apps that send long offline backlogs.
   */
  COLLECTOR_MAX_EVENT_AGE_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** Sign-up and sign-in attempts per client (IP) per minute, API and storefront together; 0 = no limit. */
  AUTH_RATE_LIMIT: z.coerce.number().int().min(0).default(30),
  /**
   * Where viewers reach the store, e.g. https://store.example.com: checkout return addresses,
   * the local checkout page, and whether the session cookie is `__Host-` + Secure (https) or
   * plain (http, local development). Unset: http://localhost:PORT.
   */
  PUBLIC_URL: z.preprocess(
    (v) => (typeof v === "string" ? emptyToUndefined(v.trim().replace(/\/+$/, "")) : v),
    z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), "must start with http:// or https://")
      .refine((u) => !/[?#]/.test(u), "must not carry a query or fragment")
      .optional(),
  ),
  /** Stripe API key (sk_… or rk_…). Set together with STRIPE_WEBHOOK_SECRET; unset: the local test checkout. */
  STRIPE_SECRET_KEY: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^(sk|rk)_[A-Za-z0-9_]+$/, "must be a Stripe secret or restricted key (sk_… or rk_…)")
      .optional(),
  ),
  /** The webhook endpoint's signing secret (whsec_…), for /api/v1/webhooks/stripe. */
  STRIPE_WEBHOOK_SECRET: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^whsec_\S+$/, "must be a webhook signing secret (whsec_…)")
      .optional(),
  ),
  /** Another Stripe API host, e.g. stripe-mock at http://127.0.0.1:12111 (tests). */
  STRIPE_API_URL: optionalUrl(["http", "https"]),
  /** Platform fee on sellers' sales, basis points (1500 = 15 %); new sellers get it. */
  PLATFORM_FEE_BPS: z.coerce.number().int().min(0).max(10_000).default(1500),
  /** Signs playback grants (media origin checks them). Unset: generated once into $DATA_DIR/secrets.json. */
  PLAYBACK_SECRET: z.preprocess(emptyToUndefined, z.string().min(32, "must be at least 32 characters").optional()),
  /**
   * The serving API's server key, for trusted backends: `Authorization: Bearer <key>` or
   * `x-api-key: <key>` reads any viewer's rows. Unset: only viewers' own sessions (and
   * anonymous ids) are accepted.
   */
  SERVING_API_KEY: z.preprocess(emptyToUndefined, z.string().min(32, "must be at least 32 characters").optional()),
  /**
   * Serving requests per minute of callers without an API key: per address when anonymous, per
   * account when signed in; 0 = no limit. Each client key has its own limit (`marquee api-keys`).
   */
  SERVING_RATE_LIMIT: z.coerce.number().int().min(0).default(600),
  /** "true": serving refuses callers with no credentials at all (401): every client then needs a key. */
  SERVING_REQUIRE_CREDENTIALS: z
    .enum(["true", "false", "1", "0"])
    .default("false")
    .transform((v) => v === "true" || v === "1"),
  /** Signs the local test checkout's events. Unset: generated once into $DATA_DIR/secrets.json. */
  LOCAL_WEBHOOK_SECRET: z.preprocess(emptyToUndefined, z.string().min(16, "must be at least 16 characters").optional()),
  /**
   * Media storage in scaled mode: an S3-compatible endpoint (e.g. SeaweedFS from infra/s3 at
   * http://127.0.0.1:8333, or AWS). Unset: local files under $DATA_DIR/media.
   */
  MEDIA_S3_URL: optionalUrl(["http", "https"]),
  MEDIA_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name")
    .default("marquee-media"),
  MEDIA_S3_REGION: z.string().min(1).default("us-east-1"),
  MEDIA_S3_ACCESS_KEY: z.preprocess(emptyToUndefined, z.string().min(1).optional()),
  MEDIA_S3_SECRET_KEY: z.preprocess(emptyToUndefined, z.string().min(1).optional()),
  /**
   * The ffmpeg and ffprobe media transcodes with (both or neither). Unset: the ones on PATH,
   * else the binaries shipped in the @ffmpeg-installer/@ffprobe-installer npm packages.
   */
  FFMPEG_PATH: z.preprocess(emptyToUndefined, z.string().min(1).optional()),
  FFPROBE_PATH: z.preprocess(emptyToUndefined, z.string().min(1).optional()),
  /**
   * Signs playback links (`/media/s/<token>/…`); the CDN edge checks them with the same value.
   * Unset: generated once into $DATA_DIR/secrets.json (embedded mode, no edge).
   */
  MEDIA_SIGNING_SECRET: z.preprocess(emptyToUndefined, z.string().min(32, "must be at least 32 characters").optional()),
  /** Where players fetch media: the CDN edge's URL in scaled mode (e.g. http://127.0.0.1:8088). Unset: this server. */
  MEDIA_BASE_URL: optionalUrl(["http", "https"]),
  /** How long a signed playback link lasts, seconds (players renew it while playing). */
  MEDIA_TOKEN_TTL_S: z.coerce.number().int().min(60).max(86_400).default(14_400),
  /** Streams one account may play at once (a rental plays on one device at a time). */
  MEDIA_MAX_STREAMS: z.coerce.number().int().min(1).max(20).default(3),
  /** Transcode workers in this process; 0 = none (scaled mode can run `marquee transcode-worker` instead). */
  MEDIA_WORKERS: z.coerce.number().int().min(0).max(8).default(1),
  /** Give the seeded world playable demo films and trailers (generated with ffmpeg on first start). */
  SEED_MEDIA: z
    .enum(["true", "false", "1", "0"])
    .default("true")
    .transform((v) => v === "true" || v === "1"),
  /**
   * Titles must have a transcoded film before they can be submitted for review. Off only for
   * tests of other flows that do not want to transcode a film first.
   */
  REQUIRE_FILM_FOR_REVIEW: z
    .enum(["true", "false", "1", "0"])
    .default("true")
    .transform((v) => v === "true" || v === "1"),
});

export type Config = Readonly<z.infer<typeof ConfigSchema> & { dataDir: string }>;

/** Parse the environment once. Throws an AppError('config') naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  const problems = parsed.success ? [] : issueMessages(parsed.error);
  // Half a Stripe setup would take payments nobody can confirm (or the reverse): both or neither.
  if (parsed.success && Boolean(parsed.data.STRIPE_SECRET_KEY) !== Boolean(parsed.data.STRIPE_WEBHOOK_SECRET))
    problems.push("STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET: set both (Stripe) or neither (local test checkout)");
  if (parsed.success && Boolean(parsed.data.FFMPEG_PATH) !== Boolean(parsed.data.FFPROBE_PATH))
    problems.push("FFMPEG_PATH and FFPROBE_PATH: set both or neither (then PATH, or the npm packages' binaries)");
  if (!parsed.success || problems.length > 0) {
    throw new AppError("config", `invalid configuration: ${problems.join("; ")}`, {
      details: { problems },
    });
  }
  return Object.freeze({ ...parsed.data, dataDir: path.resolve(parsed.data.DATA_DIR) });
}

/** The signing secrets, from the environment or from `$DATA_DIR/secrets.json`. */
export interface Secrets {
  playbackSecret: string;
  localWebhookSecret: string;
  mediaSigningSecret: string;
  /** Where generated secrets are kept, and which of them were generated by this call. */
  file: string;
  generated: string[];
}

const GENERATED_SECRETS = {
  PLAYBACK_SECRET: () => randomBytes(32).toString("base64url"),
  LOCAL_WEBHOOK_SECRET: () => `whsec_local_${randomBytes(24).toString("base64url")}`,
  MEDIA_SIGNING_SECRET: () => randomBytes(32).toString("base64url"),
} as const;
type SecretName = keyof typeof GENERATED_SECRETS;

/**
 * Secrets have no defaults in code. A secret the environment does not set is generated once
 * and kept in `$DATA_DIR/secrets.json` (mode 0600), so a restart keeps playback grants and
 * open local checkouts valid. Several processes sharing one database must share
 * PLAYBACK_SECRET through the environment: each would otherwise keep its own file.
 */
export function resolveSecrets(config: Pick<Config, "dataDir" | SecretName>): Secrets {
  const file = path.join(config.dataDir, "secrets.json");
  const names = Object.keys(GENERATED_SECRETS) as SecretName[];
  let values: StoredSecrets = {};
  for (const n of names) if (config[n]) values[n] = config[n];
  const generated: string[] = [];
  if (names.some((n) => !values[n])) {
    let stored = readSecretsFile(file);
    const needed = names.filter((n) => !values[n] && !usable(stored?.[n]));
    if (needed.length > 0) {
      const next: StoredSecrets = { ...stored };
      for (const n of needed) next[n] = GENERATED_SECRETS[n]();
      stored = writeSecretsFile(file, next, stored !== null);
      generated.push(...needed.filter((n) => stored?.[n] === next[n]));
    } else {
      tightenMode(file);
    }
    values = { ...stored, ...values };
  }
  const pick = (n: SecretName) => {
    const v = values[n];
    if (!v) throw new AppError("config", `${n} could not be read or generated in ${file}`);
    return v;
  };
  return {
    playbackSecret: pick("PLAYBACK_SECRET"),
    localWebhookSecret: pick("LOCAL_WEBHOOK_SECRET"),
    mediaSigningSecret: pick("MEDIA_SIGNING_SECRET"),
    file,
    generated,
  };
}

type StoredSecrets = Partial<Record<SecretName, string>>;

const usable = (v: unknown): v is string => typeof v === "string" && v.length >= 16;

/** The stored secrets, or null when there is no file yet. */
function readSecretsFile(file: string): StoredSecrets | null {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new AppError("config", `cannot read ${file}`, { cause: err });
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
    return parsed as StoredSecrets;
  } catch (cause) {
    throw new AppError(
      "config",
      `${file} is not a JSON object of secrets: fix it, or delete it to generate new ones (outstanding playback grants then stop working)`,
      { cause },
    );
  }
}

/**
 * A new file is created exclusively, so two processes starting at once agree on the first
 * one's secrets; an existing one gets the missing names through a 0600 temporary file and a
 * rename, so a crash never leaves half a file. Returns what the file now holds.
 */
function writeSecretsFile(file: string, next: StoredSecrets, exists: boolean): StoredSecrets {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const text = `${JSON.stringify(next, null, 2)}\n`;
  if (!exists) {
    try {
      fs.writeFileSync(file, text, { flag: "wx", mode: 0o600 });
      return next;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const theirs = readSecretsFile(file) ?? {};
      const merged = { ...next, ...Object.fromEntries(Object.entries(theirs).filter(([, v]) => usable(v))) };
      if (Object.keys(GENERATED_SECRETS).every((n) => usable(theirs[n as SecretName]))) return theirs;
      return writeSecretsFile(file, merged, true);
    }
  }
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  fs.writeFileSync(tmp, text, { flag: "wx", mode: 0o600 });
  fs.renameSync(tmp, file);
  return next;
}

function tightenMode(file: string): void {
  try {
    if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  } catch {
    // Read fine a moment ago; a filesystem without modes (e.g. some mounts) is not an error.
  }
}

export function modeOf(config: Config): {
  postgres: "pglite" | "server";
  clickhouse: "chdb" | "server";
  bus: "in-process" | "kafka";
  online: "memory" | "redis";
  payments: "stripe" | "local";
} {
  return {
    postgres: config.DATABASE_URL ? "server" : "pglite",
    clickhouse: config.CLICKHOUSE_URL ? "server" : "chdb",
    bus: config.KAFKA_BROKERS ? "kafka" : "in-process",
    online: config.REDIS_URL ? "redis" : "memory",
    payments: config.STRIPE_SECRET_KEY ? "stripe" : "local",
  };
}
