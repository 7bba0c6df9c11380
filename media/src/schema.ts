import { sql } from "drizzle-orm";
import { boolean, check, customType, index, integer, jsonb, pgTable, real, text, timestamp } from "drizzle-orm/pg-core";

/** Raw bytes (the AES key). node-postgres gives a Buffer, PGlite a Uint8Array: both become a Buffer. */
const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => "bytea",
  fromDriver: (v) => Buffer.from(v),
  toDriver: (v) => v,
});

/** A rung of a ready video, as the master playlist lists it. */
export interface AssetRung {
  name: string;
  width: number;
  height: number;
  bandwidth: number;
  average_bandwidth: number;
  codecs: string;
}

/**
 * Media's tables, on the same database as commerce (PGlite embedded, Postgres scaled) with their
 * own migrations and drizzle bookkeeping table (`MEDIA_MIGRATIONS_TABLE`). Titles are referred
 * to by id only: media never joins commerce's tables.
 *
 * An asset is one upload of one kind for one title. Video kinds go uploaded → queued →
 * transcoding → ready | failed; posters and captions are ready when stored.
 */
export const mediaAssets = pgTable(
  "media_assets",
  {
    id: text("id").primaryKey(),
    titleId: text("title_id").notNull(),
    kind: text("kind").notNull(),
    status: text("status").notNull(),
    /** Transcoding progress, percent. */
    progress: real("progress"),
    etaS: integer("eta_s"),
    /** Why it failed, in words for the seller. */
    error: text("error"),
    attempts: integer("attempts").notNull().default(0),
    /** The uploaded file in media storage (outside the served root: sources are never served). */
    sourceKey: text("source_key").notNull(),
    /** Storage prefix of what is served: `titles/<title>/<kind>/<asset>/` (ends with `/`). */
    root: text("root").notNull(),
    filename: text("filename"),
    /** Captions' language (BCP 47). */
    lang: text("lang"),
    uploadedBy: text("uploaded_by"),
    durationS: real("duration_s"),
    width: integer("width"),
    height: integer("height"),
    rungs: jsonb("rungs").$type<AssetRung[]>(),
    encrypted: boolean("encrypted").notNull().default(false),
    /** The AES-128 key of an encrypted asset. Never logged, never in storage; handed out by the key endpoint only. */
    key: bytea("key"),
    /** The ffmpeg that transcoded it (path and version). */
    ffmpeg: text("ffmpeg"),
    ffmpegVersion: text("ffmpeg_version"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    readyAt: timestamp("ready_at", { withTimezone: true }),
  },
  (t) => [
    index("media_assets_title_kind").on(t.titleId, t.kind, t.createdAt),
    check("media_assets_kind", sql`${t.kind} in ('film', 'trailer', 'poster', 'captions')`),
    check("media_assets_status", sql`${t.status} in ('uploaded', 'queued', 'transcoding', 'ready', 'failed')`),
    check("media_assets_key", sql`${t.key} is null or length(${t.key}) = 16`),
  ],
);

/**
 * The durable transcode queue: one row per asset to transcode. A worker claims a due row with
 * `FOR UPDATE SKIP LOCKED` and holds it by a lease it renews (heartbeat); a row whose lease ran
 * out (its worker died) is due again. Failures come back after an exponential backoff
 * (`run_after`) until `max_attempts`.
 */
export const mediaJobs = pgTable(
  "media_jobs",
  {
    id: text("id").primaryKey(),
    assetId: text("asset_id")
      .notNull()
      .unique()
      .references(() => mediaAssets.id, { onDelete: "cascade" }),
    /** queued | running | done | failed */
    status: text("status").notNull().default("queued"),
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull().default(4),
    runAfter: timestamp("run_after", { withTimezone: true }).notNull().defaultNow(),
    lockedBy: text("locked_by"),
    leaseUntil: timestamp("lease_until", { withTimezone: true }),
    lastError: text("last_error"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("media_jobs_due").on(t.status, t.runAfter),
    check("media_jobs_status", sql`${t.status} in ('queued', 'running', 'done', 'failed')`),
  ],
);

export const mediaSchema = { mediaAssets, mediaJobs };
