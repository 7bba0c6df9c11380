import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { fileURLToPath } from "node:url";
import { describeIssues } from "@marquee/contracts";
import { AppError, type Database, type Logger } from "@marquee/runtime";
import { and, asc, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import {
  API_KEY_SCOPES,
  type ApiKeyCheck,
  type ApiKeyScope,
  type ApiKeyVerifier,
  type ClientKey,
  parseClientKey,
} from "./access.ts";
import { servingApiKeys, type servingSchema } from "./schema.ts";

/** Serving's drizzle-kit migrations, for `PostgresHandle.migrate(SERVING_MIGRATIONS, { table: SERVING_MIGRATIONS_TABLE })`. */
export const SERVING_MIGRATIONS = fileURLToPath(new URL("../drizzle", import.meta.url));
/** Serving's own drizzle bookkeeping table, so its migrations and commerce's or media's never shadow each other. */
export const SERVING_MIGRATIONS_TABLE = "__drizzle_migrations_serving";

export type ServingDb = Database<typeof servingSchema>;

/** Requests per minute a new key may make unless told otherwise. */
export const DEFAULT_KEY_RATE_LIMIT = 600;

/** How often a replica re-reads the keys: a revocation reaches every replica within this. */
export const API_KEY_REFRESH_MS = 5_000;

const SCOPE_NAMES = Object.keys(API_KEY_SCOPES) as ApiKeyScope[];

/** A browser origin exactly: scheme, host, port; no path, no wildcard, no `null`. */
const OriginSchema = z
  .string()
  .trim()
  .transform((value, ctx) => {
    let url: URL | null = null;
    try {
      url = new URL(value);
    } catch {
      // reported below
    }
    const bare = value.replace(/\/$/, "").toLowerCase();
    if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.origin !== bare) {
      ctx.addIssue({
        code: "custom",
        message: `${JSON.stringify(value)} is not an origin: give scheme, host and port only, like https://partner.example`,
      });
      return z.NEVER;
    }
    return url.origin;
  });

export const CreateApiKeySchema = z.object({
  name: z.string().trim().min(1, "give the key a name (who uses it)").max(100),
  scopes: z
    .array(z.string().trim())
    .min(1, `give at least one scope: ${SCOPE_NAMES.join(", ")}`)
    .superRefine((scopes, ctx) => {
      for (const s of scopes)
        if (!SCOPE_NAMES.includes(s as ApiKeyScope))
          ctx.addIssue({ code: "custom", message: `unknown scope ${s}: the scopes are ${SCOPE_NAMES.join(", ")}` });
    })
    .transform((scopes) => [...new Set(scopes)] as ApiKeyScope[]),
  rateLimitPerMinute: z.number().int().min(1).max(1_000_000).default(DEFAULT_KEY_RATE_LIMIT),
  corsOrigins: z
    .array(OriginSchema)
    .max(50)
    .default([])
    .transform((origins) => [...new Set(origins)]),
});
export type CreateApiKey = z.input<typeof CreateApiKeySchema>;

/** A key as `api-keys list` shows it: never its secret nor its hash. */
export interface ApiKeyView {
  id: string;
  name: string;
  scopes: ApiKeyScope[];
  rate_limit_per_minute: number;
  cors_origins: string[];
  created_at: string;
  revoked_at: string | null;
}

type Row = typeof servingApiKeys.$inferSelect;

function viewOf(row: Row): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes as ApiKeyScope[],
    rate_limit_per_minute: row.rateLimitPerMinute,
    cors_origins: row.corsOrigins,
    created_at: row.createdAt.toISOString(),
    revoked_at: row.revokedAt ? row.revokedAt.toISOString() : null,
  };
}

const sha256 = (text: string) => createHash("sha256").update(text).digest();

/** A key's id from what an operator types: the id, the `mq_<id>` prefix list shows, or the whole key. */
export function keyIdOf(text: string): string {
  const whole = parseClientKey(text.trim());
  if (whole) return whole.keyId;
  const m = /^(?:mq_)?([0-9a-f]{16})(?:_.*)?$/.exec(text.trim());
  if (!m) throw new AppError("bad_request", `${JSON.stringify(text)} is not an API key id (16 hex characters)`);
  return m[1] as string;
}

/** The keys table: create (the full key returned once), list, revoke. */
export class ApiKeys {
  constructor(private readonly db: ServingDb) {}

  async create(input: unknown): Promise<{ key: ApiKeyView; api_key: string }> {
    const parsed = CreateApiKeySchema.safeParse(input);
    if (!parsed.success) throw new AppError("bad_request", describeIssues(parsed.error));
    const id = randomBytes(8).toString("hex");
    // 256 bits: unguessable, so a plain SHA-256 of it is a safe thing to store.
    const secret = randomBytes(32).toString("base64url");
    const [row] = await this.db
      .insert(servingApiKeys)
      .values({
        id,
        name: parsed.data.name,
        secretSha256: sha256(secret).toString("hex"),
        scopes: parsed.data.scopes,
        rateLimitPerMinute: parsed.data.rateLimitPerMinute,
        corsOrigins: parsed.data.corsOrigins,
      })
      .returning();
    return { key: viewOf(row as Row), api_key: `mq_${id}_${secret}` };
  }

  async list(): Promise<ApiKeyView[]> {
    const rows = await this.db.select().from(servingApiKeys).orderBy(asc(servingApiKeys.createdAt));
    return rows.map(viewOf);
  }

  /** Idempotent: revoking a revoked key keeps its first revocation time. */
  async revoke(keyId: string): Promise<{ key: ApiKeyView; already_revoked: boolean }> {
    const id = keyIdOf(keyId);
    const [revoked] = await this.db
      .update(servingApiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(servingApiKeys.id, id), isNull(servingApiKeys.revokedAt)))
      .returning();
    if (revoked) return { key: viewOf(revoked), already_revoked: false };
    const [existing] = await this.db.select().from(servingApiKeys).where(eq(servingApiKeys.id, id));
    if (!existing) throw new AppError("not_found", `no API key with the id ${id}`);
    return { key: viewOf(existing), already_revoked: true };
  }

  /** Every key with its hash, for ApiKeyCache (revoked ones too, to answer "revoked"). */
  async stored(): Promise<Row[]> {
    return this.db.select().from(servingApiKeys);
  }
}

interface CachedKey {
  key: ClientKey;
  hash: Buffer;
  revoked: boolean;
}

/**
 * The keys in memory, re-read every few seconds, so verifying a request costs a SHA-256 and
 * no query, and a key revoked on any replica (or by the CLI on the database) is refused by
 * every replica within `refreshMs`. An id the cache does not know triggers an early re-read
 * (at most one a second), so a key works as soon as it is made. If a re-read fails the last
 * keys stay in use (logged): serving keeps answering while the database is away.
 */
export class ApiKeyCache implements ApiKeyVerifier {
  private byId = new Map<string, CachedKey>();
  private origins = new Set<string>();
  private loaded = false;
  private inflight: Promise<void> | null = null;
  private lastMissRefresh = 0;
  private missRefresh: Promise<void> | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly refreshMs: number;

  constructor(
    private readonly source: Pick<ApiKeys, "stored">,
    private readonly options: { refreshMs?: number; logger?: Logger } = {},
  ) {
    this.refreshMs = options.refreshMs ?? API_KEY_REFRESH_MS;
  }

  /** First read, then a re-read every `refreshMs`. A failing first read is logged, not thrown. */
  async start(): Promise<void> {
    await this.refresh().catch((err) => this.options.logger?.warn({ err }, "API keys could not be read; retrying"));
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.refresh().catch((err) =>
        this.options.logger?.warn({ err }, "API keys could not be re-read; keeping the last"),
      );
    }, this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Whether the keys were read at least once. */
  get ready(): boolean {
    return this.loaded;
  }

  /** Re-read now (single-flight: concurrent callers share one query). */
  refresh(): Promise<void> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /**
   * Re-read, starting after any read already under way (which may have begun before the change
   * the caller just made): what the caller wrote is in the keys when this resolves.
   */
  async reload(): Promise<void> {
    await this.inflight?.catch(() => undefined);
    return this.refresh();
  }

  private async load(): Promise<void> {
    const rows = await this.source.stored();
    const byId = new Map<string, CachedKey>();
    const origins = new Set<string>();
    for (const row of rows) {
      const revoked = row.revokedAt !== null;
      byId.set(row.id, {
        key: {
          keyId: row.id,
          name: row.name,
          scopes: row.scopes.filter((s): s is ApiKeyScope => s in API_KEY_SCOPES),
          rateLimitPerMinute: row.rateLimitPerMinute,
          corsOrigins: row.corsOrigins,
        },
        hash: Buffer.from(row.secretSha256, "hex"),
        revoked,
      });
      if (!revoked) for (const o of row.corsOrigins) origins.add(o);
    }
    this.byId = byId;
    this.origins = origins;
    this.loaded = true;
  }

  async verify(token: string): Promise<ApiKeyCheck> {
    const parsed = parseClientKey(token);
    if (!parsed) return { status: "unknown" };
    let entry = this.byId.get(parsed.keyId);
    if (!entry) {
      await this.refreshForMiss();
      entry = this.byId.get(parsed.keyId);
    }
    if (!this.loaded) throw new AppError("unavailable", "API keys are still being read; retry shortly");
    if (!entry) return { status: "unknown" };
    // Constant time over the two digests: the response time says nothing about the secret.
    if (!timingSafeEqual(sha256(parsed.secret), entry.hash)) return { status: "unknown" };
    if (entry.revoked) return { status: "revoked", keyId: parsed.keyId };
    return { status: "ok", key: entry.key };
  }

  /**
   * An id the cache does not know: re-read, but at most once a second however many unknown ids
   * arrive (a flood of made-up keys costs one query a second); misses within that second wait
   * for the next re-read together rather than being told "unknown" by a stale cache.
   */
  private refreshForMiss(): Promise<void> {
    this.missRefresh ??= (async () => {
      const wait = this.lastMissRefresh + 1_000 - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.lastMissRefresh = Date.now();
      await this.reload();
    })()
      .catch((err) => this.options.logger?.warn({ err }, "API keys could not be re-read"))
      .finally(() => {
        this.missRefresh = null;
      });
    return this.missRefresh;
  }

  /** Does some active key let pages of `origin` call the API (a preflight's question)? */
  allowsOrigin(origin: string): boolean {
    return this.origins.has(origin);
  }
}

/**
 * The three key commands as JSON in, JSON out: what `marquee api-keys` runs on the database
 * itself, or sends to a running embedded store (whose PGlite it must not open) over its
 * operator socket. `afterChange` (the store's `cache.reload()`) lets its own cache see the change at once.
 */
export function apiKeyCommands(
  keys: ApiKeys,
  options: { afterChange?: () => Promise<void> } = {},
): Record<ApiKeysCommand, (args: Record<string, unknown>) => Promise<unknown>> {
  const changed = async <T>(result: T): Promise<T> => {
    await options.afterChange?.();
    return result;
  };
  return {
    "api-keys:create": async (args) => changed(await keys.create(args)),
    "api-keys:list": async () => keys.list(),
    "api-keys:revoke": async (args) => {
      if (typeof args.id !== "string") throw new AppError("bad_request", "revoke needs the key's id");
      return changed(await keys.revoke(args.id));
    },
  };
}

export const API_KEYS_COMMANDS = ["api-keys:create", "api-keys:list", "api-keys:revoke"] as const;
export type ApiKeysCommand = (typeof API_KEYS_COMMANDS)[number];
