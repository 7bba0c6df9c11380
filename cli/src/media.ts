import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Commerce, Viewer } from "@marquee/commerce";
import { sameSecret } from "@marquee/commerce/session-cookie";
import {
  BullMqTranscodes,
  createMediaStorage,
  createStreamSessions,
  createUploadAcceptor,
  type FfmpegInfo,
  locateFfmpeg,
  MEDIA_MIGRATIONS,
  MEDIA_MIGRATIONS_TABLE,
  MediaAssets,
  type MediaDb,
  MediaPlayback,
  MediaSigner,
  type MediaStorage,
  MediaWorker,
  mediaOriginRoutes,
  mediaPlaybackRoutes,
  mediaSchema,
  mediaUploadRoutes,
  seedDemoMedia,
} from "@marquee/media";
import { AppError, type Config, createPostgres, type Logger, type PostgresHandle } from "@marquee/runtime";
import type { StorefrontServices } from "@marquee/storefront";
import type { FastifyInstance, FastifyRequest } from "fastify";

/** The tus endpoint's path (the storefront's uploader posts here). */
const UPLOADS_PATH = "/media/uploads";

/**
 * Media in the store's process, composed: storage (local files or S3), ffmpeg, the assets and
 * their transcode queue on the commerce database, the transcode workers, protected playback
 * (signed links, keys through commerce's rules, stream limits), resumable uploads, and demo
 * media for the seeded catalogue. Part of the app factory (cli/src/app.ts).
 */
export interface ComposedMedia {
  storage: MediaStorage;
  ffmpeg: FfmpegInfo;
  assets: MediaAssets;
  playback: MediaPlayback;
  workers: MediaWorker[];
  /** Why a title's film is not ready for review, or null (commerce's `filmProblem`). */
  filmProblem(titleId: string): Promise<string | null>;
  /** The storefront's `media` and `uploads` services. */
  services: Pick<StorefrontServices, "media" | "uploads">;
  /** Mount the origin, playback and upload routes. */
  register(app: FastifyInstance): Promise<void>;
  /** Give the house catalogue its demo films and trailers (background; idempotent). */
  seedDemo(): Promise<void>;
  close(): Promise<void>;
}

/**
 * How queued transcodes reach the workers: on a shared Postgres with Redis (scaled mode) BullMQ
 * dispatches them at once to whichever process is free (Postgres stays the record: ADR 010);
 * otherwise each worker polls the table (embedded mode, or scaled without Redis), poked on upload.
 */
async function startDispatch(
  config: Config,
  db: MediaDb,
  workers: MediaWorker[],
  shared: boolean,
  logger: Logger,
): Promise<{ queued(assetId: string): void; stop(): Promise<void> }> {
  if (shared && config.REDIS_URL && workers.length > 0) {
    const redisUrl = config.REDIS_URL;
    const bulls = workers.map((worker) => new BullMqTranscodes({ redisUrl, db, worker, logger }));
    for (const b of bulls) await b.start();
    return {
      queued: (assetId) =>
        void bulls[0]
          ?.announceAsset(assetId)
          .catch((err) => logger.warn({ err, asset_id: assetId }, "announce failed; the sweep will")),
      stop: async () => {
        await Promise.all(bulls.map((b) => b.stop()));
      },
    };
  }
  for (const w of workers) await w.start();
  return {
    queued: () => {
      for (const w of workers) w.poke();
    },
    stop: async () => {
      await Promise.all(workers.map((w) => w.stop()));
    },
  };
}

/** What every media process opens first: storage, ffmpeg, and a staging folder on the data volume. */
async function openMediaTools(config: Config, logger: Logger) {
  const storage = await createMediaStorage(config);
  const ffmpeg = await locateFfmpeg({
    ...(config.FFMPEG_PATH ? { ffmpegPath: config.FFMPEG_PATH } : {}),
    ...(config.FFPROBE_PATH ? { ffprobePath: config.FFPROBE_PATH } : {}),
  });
  logger.info({ ffmpeg: ffmpeg.ffmpeg, version: ffmpeg.version, source: ffmpeg.source }, "ffmpeg for transcodes");
  // Transcodes stage sources and renditions here, on the data volume (not a small /tmp).
  const tmpDir = path.join(config.dataDir, "tmp");
  mkdirSync(tmpDir, { recursive: true });
  return { storage, ffmpeg, tmpDir };
}

export async function composeMedia(parts: {
  config: Config;
  mediaSigningSecret: string;
  postgres: PostgresHandle<Record<string, unknown>>;
  commerce: Commerce;
  logger: Logger;
  /** The signed-in viewer of a request's bearer token or session cookie (the app's one reading of them). */
  viewerOf: (credentials: { bearer: string | null; cookie: string | undefined }) => Promise<Viewer | null>;
}): Promise<ComposedMedia> {
  const { config, postgres, commerce } = parts;
  const logger = parts.logger.child({ component: "media" });
  await postgres.migrate(MEDIA_MIGRATIONS, { table: MEDIA_MIGRATIONS_TABLE });
  const { storage, ffmpeg, tmpDir } = await openMediaTools(config, logger);
  const db = postgres.db as unknown as MediaDb;
  const assets = new MediaAssets(db);
  const workers = Array.from(
    { length: config.MEDIA_WORKERS },
    () =>
      new MediaWorker({
        db,
        storage,
        ffmpeg,
        logger,
        // PGlite belongs to this one process: a job left running was ours before a restart.
        resumeOnStart: postgres.kind === "pglite",
        tmpDir,
      }),
  );
  const dispatch = await startDispatch(config, db, workers, postgres.kind !== "pglite", logger);
  const poke = (assetId?: string) => {
    if (assetId) dispatch.queued(assetId);
    else for (const w of workers) w.poke();
  };

  const signer = new MediaSigner(parts.mediaSigningSecret);
  const streams = createStreamSessions(config.REDIS_URL);
  const playback = new MediaPlayback({
    rules: commerce.library,
    assets: assets.playbackAssets(),
    signer,
    streams,
    storage,
    logger,
    titleVisible: async (id, audience) => Boolean(await commerce.catalog.title(id, audience)),
    ...(config.MEDIA_BASE_URL ? { mediaBaseUrl: config.MEDIA_BASE_URL.replace(/\/+$/, "") } : {}),
    tokenTtlS: config.MEDIA_TOKEN_TTL_S,
    maxStreams: config.MEDIA_MAX_STREAMS,
  });

  const viewerOf = (headers: { authorization?: string; cookie?: string }) =>
    parts.viewerOf({
      bearer: /^Bearer +(\S{1,200}) *$/i.exec(headers.authorization ?? "")?.[1] ?? null,
      cookie: headers.cookie,
    });
  const authenticate = (request: FastifyRequest) =>
    viewerOf({ authorization: request.headers.authorization, cookie: request.headers.cookie });

  return {
    storage,
    ffmpeg,
    assets,
    playback,
    workers,
    async filmProblem(titleId) {
      if (!config.REQUIRE_FILM_FOR_REVIEW) return null;
      // A ready film counts even while a newer upload of it transcodes.
      if ((await assets.filmReady([titleId])).has(titleId)) return null;
      const film = await assets.latest(titleId, "film");
      if (!film) return "upload the film first: a title is reviewed with the film viewers will watch";
      if (film.status === "failed")
        return `the film could not be transcoded (${film.error ?? "unknown reason"}): upload it again`;
      if (film.status !== "ready")
        return `the film is still being prepared (${film.progress ?? 0} %): submit it once it is ready`;
      return null;
    },
    services: {
      media: {
        startFilm: (viewer, titleId) => playback.startFilm(viewer, titleId),
        trailer: (titleId, audience) => playback.trailer(titleId, audience),
        ...(config.MEDIA_BASE_URL ? { origin: new URL(config.MEDIA_BASE_URL).origin } : {}),
      },
      uploads: {
        endpoint: UPLOADS_PATH,
        async status(viewer, titleId) {
          await commerce.selling.mayManageMedia(viewer, titleId);
          return assets.titleStatus(titleId);
        },
      },
    },
    async register(app) {
      await app.register(mediaOriginRoutes, {
        storage,
        signer,
        key: (claims) => playback.key(claims),
        requester: async (request) => {
          const v = await authenticate(request);
          return v ? { userId: v.userId } : null;
        },
        logger,
      });
      await app.register(mediaPlaybackRoutes, { playback, authenticate });
      await app.register(mediaUploadRoutes, {
        path: UPLOADS_PATH,
        dir: path.join(config.dataDir, "uploads"),
        logger,
        accept: createUploadAcceptor({ assets, storage, ffmpeg, onQueued: poke }),
        async authorize(headers, titleId) {
          const viewer = await viewerOf(headers);
          if (!viewer) throw new AppError("unauthorized", "sign in to upload");
          // A browser's cookie is ambient: its uploads must carry the session's CSRF token too
          // (the storefront's uploader sends it), so another site cannot upload as the viewer.
          if (!/^Bearer /i.test(headers.authorization ?? "")) {
            if (!sameSecret(headers["x-csrf-token"] ?? "", viewer.csrfToken))
              throw new AppError("forbidden", "the upload must carry this session's CSRF token: reload the page");
          }
          return commerce.selling.mayManageMedia(viewer, titleId);
        },
      });
    },
    async seedDemo() {
      if (!config.SEED_MEDIA || config.MEDIA_WORKERS === 0) return;
      const titles = await commerce.catalog.houseTitles();
      const result = await seedDemoMedia({
        assets,
        storage,
        ffmpeg,
        logger,
        titles,
        tmpDir,
        onQueued: poke,
      });
      if (result.generated > 0 || result.titles > 0) logger.info(result, "demo media queued for the house catalogue");
    },
    async close() {
      await dispatch.stop();
      await streams.close();
      (storage as { close?: () => void }).close?.();
    },
  };
}

/**
 * `marquee transcode-worker` (scaled mode): transcode workers on their own, sharing the queue
 * on the shared Postgres with every other worker (each job to one of them; a dead worker's job
 * is taken again after its lease) and writing to the shared storage (S3). Several can run side
 * by side, on as many machines as the ladder needs.
 */
export async function startTranscodeWorkers(
  config: Config,
  logger: Logger,
): Promise<{ workers: MediaWorker[]; close(): Promise<void> }> {
  if (!config.DATABASE_URL)
    throw new AppError(
      "config",
      "marquee transcode-worker needs DATABASE_URL (the store's Postgres): in embedded mode the store runs its own worker",
    );
  const log = logger.child({ component: "media" });
  const postgres = await createPostgres(config, mediaSchema, {
    onIdleError: (err) => log.warn({ err }, "postgres dropped an idle connection; the pool opens a new one"),
  });
  await postgres.migrate(MEDIA_MIGRATIONS, { table: MEDIA_MIGRATIONS_TABLE });
  const { storage, ffmpeg, tmpDir } = await openMediaTools(config, log);
  if (storage.kind === "local")
    log.warn(
      { dir: path.join(config.dataDir, "media") },
      "MEDIA_S3_URL unset: renditions go to this machine's disk only",
    );
  const workers = Array.from(
    { length: Math.max(1, config.MEDIA_WORKERS) },
    () => new MediaWorker({ db: postgres.db as unknown as MediaDb, storage, ffmpeg, logger: log, tmpDir }),
  );
  const dispatch = await startDispatch(config, postgres.db as unknown as MediaDb, workers, true, log);
  return {
    workers,
    async close() {
      // A job in progress is handed back (its lease ends) for another worker to finish.
      await dispatch.stop();
      (storage as { close?: () => void }).close?.();
      await postgres.close();
    },
  };
}
