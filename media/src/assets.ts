import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { type Database, rowsOf, sql } from "@marquee/runtime";
import { and, desc, eq } from "drizzle-orm";
import type { MediaItemStatus, TitleMediaStatus } from "./playback-types.ts";
import { type AssetRung, mediaAssets, mediaJobs, type mediaSchema } from "./schema.ts";
import type { UploadKind } from "./uploads.ts";

/** Media's drizzle-kit migrations, for `PostgresHandle.migrate(MEDIA_MIGRATIONS, { table: MEDIA_MIGRATIONS_TABLE })`. */
export const MEDIA_MIGRATIONS = fileURLToPath(new URL("../drizzle", import.meta.url));
/** Media's own drizzle bookkeeping table, so its migrations and commerce's never shadow each other. */
export const MEDIA_MIGRATIONS_TABLE = "__drizzle_migrations_media";

export type MediaDb = Database<typeof mediaSchema>;

/** A title's current asset of a kind, as playback reads it. */
export interface PlaybackAssetView {
  id: string;
  /** Storage prefix of its files, without the trailing slash. */
  root: string;
  status: "ready" | "preparing" | "failed";
  duration_s: number | null;
  captions: Array<{ lang: string; label: string; path: string }>;
}

const LANGUAGE_NAMES = new Intl.DisplayNames(["en"], { type: "language" });
/** `en` → English, `pt-BR` → Brazilian Portuguese; the code itself when unknown. */
export function languageLabel(lang: string): string {
  if (lang === "und") return "Captions";
  try {
    return LANGUAGE_NAMES.of(lang) ?? lang;
  } catch {
    return lang;
  }
}
export type MediaAsset = typeof mediaAssets.$inferSelect;
export type AssetStatus = "uploaded" | "queued" | "transcoding" | "ready" | "failed";

/** Transcode attempts before an asset is `failed` (the first try and three retries). */
export const DEFAULT_MAX_ATTEMPTS = 4;

const BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz";
/** `<prefix>_` + 20 random base36 characters: safe in URLs and storage keys. */
export function mediaId(prefix: string): string {
  let id = `${prefix}_`;
  for (const b of randomBytes(20)) id += BASE36[b % 36];
  return id;
}

/** Where an asset's served files live: `titles/<title>/<kind>/<asset>/`. */
export function assetPrefix(titleId: string, kind: UploadKind, assetId: string): string {
  return `titles/${titleId}/${kind}/${assetId}/`;
}

/** Where an upload's original lives: outside `titles/`, so nothing that serves a root can reach it. */
export function sourceKeyOf(titleId: string, assetId: string, extension: string): string {
  const ext = /^\.[a-z0-9]{1,5}$/i.test(extension) ? extension.toLowerCase() : "";
  return `sources/${titleId}/${assetId}/source${ext}`;
}

const VIDEO_KINDS = new Set<UploadKind>(["film", "trailer"]);

export interface CreateAssetInput {
  /** A fresh id from `mediaId("ma")`, chosen before the source is stored so its key can name it. */
  id?: string;
  titleId: string;
  kind: UploadKind;
  /** The source, already in media storage. */
  sourceKey: string;
  filename?: string | null;
  lang?: string | null;
  uploadedBy?: string | null;
  /** Films are encrypted (default); trailers are public. */
  encrypted?: boolean;
  /** What probing found (posters: their size). */
  width?: number | null;
  height?: number | null;
  durationS?: number | null;
  maxAttempts?: number;
}

/**
 * Media's assets: what was uploaded for each title, how its transcode goes, and the keys.
 * Every method is one statement or one transaction; the job queue (jobs.ts) moves the states.
 */
export class MediaAssets {
  constructor(private readonly db: MediaDb) {}

  /**
   * Records an upload. A film or trailer is `queued` with its transcode job in the same
   * transaction (a film gets a fresh random AES-128 key); a poster or captions file is served
   * as stored, so it is `ready` at once.
   */
  async create(input: CreateAssetInput): Promise<MediaAsset> {
    const id = input.id ?? mediaId("ma");
    const video = VIDEO_KINDS.has(input.kind);
    const encrypted = video && (input.encrypted ?? input.kind === "film");
    const now = new Date();
    return await this.db.transaction(async (tx) => {
      const [asset] = await tx
        .insert(mediaAssets)
        .values({
          id,
          titleId: input.titleId,
          kind: input.kind,
          status: video ? "queued" : "ready",
          sourceKey: input.sourceKey,
          root: assetPrefix(input.titleId, input.kind, id),
          filename: input.filename ?? null,
          lang: input.lang ?? null,
          uploadedBy: input.uploadedBy ?? null,
          encrypted,
          key: encrypted ? randomBytes(16) : null,
          width: input.width ?? null,
          height: input.height ?? null,
          durationS: input.durationS ?? null,
          progress: video ? 0 : null,
          readyAt: video ? null : now,
        })
        .returning();
      if (video)
        await tx.insert(mediaJobs).values({
          id: mediaId("mj"),
          assetId: id,
          maxAttempts: input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        });
      return asset as MediaAsset;
    });
  }

  /**
   * An asset of `titleId` that plays another asset's rendition (demo titles sharing a pool
   * clip): the same root and key, so nothing is transcoded or stored twice. It is ready when
   * the other is, and moves with it while that one transcodes (jobs.ts updates both).
   */
  async createLinked(titleId: string, from: MediaAsset): Promise<MediaAsset> {
    const [row] = await this.db
      .insert(mediaAssets)
      .values({
        ...from,
        id: mediaId("ma"),
        titleId,
        uploadedBy: null,
        createdAt: new Date(),
        updatedAt: new Date(),
      })
      .returning();
    return row as MediaAsset;
  }

  /** The same as `createLinked` for many titles at once (500 rows a statement): seeding links thousands. */
  async createLinkedMany(links: readonly { titleId: string; from: MediaAsset }[]): Promise<number> {
    const now = new Date();
    for (let i = 0; i < links.length; i += 500) {
      const rows = links.slice(i, i + 500).map(({ titleId, from }) => ({
        ...from,
        id: mediaId("ma"),
        titleId,
        uploadedBy: null,
        createdAt: now,
        updatedAt: now,
      }));
      if (rows.length > 0) await this.db.insert(mediaAssets).values(rows);
    }
    return links.length;
  }

  /** Titles that have any asset of `kind`, among `titleIds`. */
  async titlesWith(kind: UploadKind, titleIds: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < titleIds.length; i += 1000) {
      const chunk = titleIds.slice(i, i + 1000);
      const rows = rowsOf<{ title_id: string }>(
        await this.db.execute(
          sql`select distinct title_id from media_assets where kind = ${kind} and title_id in (${sql.join(
            chunk.map((t) => sql`${t}`),
            sql`, `,
          )})`,
        ),
      );
      for (const r of rows) out.add(r.title_id);
    }
    return out;
  }

  /** The newest asset of a kind for a title, whatever its state. */
  async latest(titleId: string, kind: UploadKind): Promise<MediaAsset | null> {
    const [row] = await this.db
      .select()
      .from(mediaAssets)
      .where(and(eq(mediaAssets.titleId, titleId), eq(mediaAssets.kind, kind)))
      .orderBy(desc(mediaAssets.createdAt))
      .limit(1);
    return row ?? null;
  }

  async get(assetId: string): Promise<MediaAsset | null> {
    const [row] = await this.db.select().from(mediaAssets).where(eq(mediaAssets.id, assetId)).limit(1);
    return row ?? null;
  }

  /** The asset a title plays for a kind: its newest ready one (an older one keeps playing while a new upload transcodes). */
  async current(titleId: string, kind: UploadKind): Promise<MediaAsset | null> {
    const [row] = await this.db
      .select()
      .from(mediaAssets)
      .where(and(eq(mediaAssets.titleId, titleId), eq(mediaAssets.kind, kind), eq(mediaAssets.status, "ready")))
      .orderBy(desc(mediaAssets.readyAt), desc(mediaAssets.createdAt))
      .limit(1);
    return row ?? null;
  }

  /** Every ready asset of a title, newest first per kind (captions: one per language). */
  async readyOf(titleId: string): Promise<MediaAsset[]> {
    return await this.db
      .select()
      .from(mediaAssets)
      .where(and(eq(mediaAssets.titleId, titleId), eq(mediaAssets.status, "ready")))
      .orderBy(desc(mediaAssets.readyAt));
  }

  /** An encrypted asset's AES-128 key (16 bytes), or null. Callers check entitlement first; never log it. */
  async keyOf(assetId: string): Promise<Buffer | null> {
    const [row] = await this.db
      .select({ key: mediaAssets.key })
      .from(mediaAssets)
      .where(eq(mediaAssets.id, assetId))
      .limit(1);
    return row?.key ?? null;
  }

  /**
   * A title's media as its seller sees it: per kind the newest upload, its progress, ETA or
   * failure reason; `film_ready` when some film of the title is ready (a re-upload that is
   * still transcoding does not take the ready one away).
   */
  async titleStatus(titleId: string): Promise<TitleMediaStatus> {
    const rows = await this.db
      .select()
      .from(mediaAssets)
      .where(eq(mediaAssets.titleId, titleId))
      .orderBy(desc(mediaAssets.createdAt));
    const kinds = ["film", "trailer", "poster", "captions"] as const;
    const items: MediaItemStatus[] = kinds.map((kind) => {
      const a = rows.find((r) => r.kind === kind);
      if (!a) return { kind, status: "none", progress: null, eta_s: null, error: null, updated_at: null };
      const running = a.status === "queued" || a.status === "transcoding";
      const item: MediaItemStatus = {
        kind,
        status: a.status as AssetStatus,
        progress: running ? (a.progress ?? 0) : a.status === "ready" ? 100 : null,
        eta_s: running ? a.etaS : null,
        error: a.status === "failed" ? a.error : null,
        updated_at: a.updatedAt.toISOString(),
      };
      if (a.rungs) item.rungs = a.rungs.map((r: AssetRung) => r.height);
      if (a.durationS !== null) item.duration_s = a.durationS;
      return item;
    });
    return { title_id: titleId, items, film_ready: rows.some((r) => r.kind === "film" && r.status === "ready") };
  }

  /**
   * The title's ready captions, newest per language, as playback lists them: files under the
   * film's root (`captions/<lang>.vtt`, placed there by `placeCaptions`).
   */
  async captionsOf(titleId: string): Promise<Array<{ lang: string; label: string; path: string }>> {
    const rows = await this.db
      .select({ lang: mediaAssets.lang, filename: mediaAssets.filename })
      .from(mediaAssets)
      .where(and(eq(mediaAssets.titleId, titleId), eq(mediaAssets.kind, "captions"), eq(mediaAssets.status, "ready")))
      .orderBy(desc(mediaAssets.createdAt));
    const seen = new Set<string>();
    const out: Array<{ lang: string; label: string; path: string }> = [];
    for (const r of rows) {
      const lang = r.lang ?? "und";
      if (seen.has(lang)) continue;
      seen.add(lang);
      out.push({ lang, label: languageLabel(lang), path: `captions/${lang}.vtt` });
    }
    return out;
  }

  /**
   * What playback (`MediaPlayback`'s PlaybackAssets) reads: the title's ready asset of a kind
   * (or the newest one, `preparing`/`failed`, when none is ready), with its storage `root`
   * (no trailing slash): demo titles share a pool clip's root, which is not their own
   * `titles/<title>/<kind>/<asset>`.
   */
  playbackAssets(): {
    currentAsset(titleId: string, kind: "film" | "trailer"): Promise<PlaybackAssetView | null>;
    keyOf(assetId: string): Promise<Buffer | null>;
  } {
    return {
      currentAsset: async (titleId, kind) => {
        const ready = await this.current(titleId, kind);
        const a = ready ?? (await this.latest(titleId, kind));
        if (!a) return null;
        return {
          id: a.id,
          root: a.root.replace(/\/+$/, ""),
          status: a.status === "ready" ? "ready" : a.status === "failed" ? "failed" : "preparing",
          duration_s: a.durationS,
          captions: kind === "film" && a.status === "ready" ? await this.captionsOf(titleId) : [],
        };
      },
      keyOf: (assetId) => this.keyOf(assetId),
    };
  }

  /** Titles whose film is ready (for review gates and the "preparing" label), among `titleIds`. */
  async filmReady(titleIds: string[]): Promise<Set<string>> {
    if (titleIds.length === 0) return new Set();
    const rows = rowsOf<{ title_id: string }>(
      await this.db.execute(
        sql`select distinct title_id from media_assets where kind = 'film' and status = 'ready' and title_id in (${sql.join(
          titleIds.map((t) => sql`${t}`),
          sql`, `,
        )})`,
      ),
    );
    return new Set(rows.map((r) => r.title_id));
  }
}
