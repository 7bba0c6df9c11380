import { timingSafeEqual } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Commerce, Viewer } from "@marquee/commerce";
import { readCookie, sessionCookieFor } from "@marquee/commerce/session-cookie";
import {
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
  mediaUploadRoutes,
  seedDemoMedia,
} from "@marquee/media";
import { AppError, type Config, type Logger, type PostgresHandle } from "@marquee/runtime";
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

export async function composeMedia(parts: {
  config: Config;
  mediaSigningSecret: string;
  postgres: PostgresHandle<Record<string, unknown>>;
  commerce: Commerce;
  logger: Logger;
  publicUrl: () => string;
}): Promise<ComposedMedia> {
  const { config, postgres, commerce } = parts;
  const logger = parts.logger.child({ component: "media" });
  await postgres.migrate(MEDIA_MIGRATIONS, { table: MEDIA_MIGRATIONS_TABLE });
  const storage = await createMediaStorage(config);
  const ffmpeg = await locateFfmpeg({
    ...(config.FFMPEG_PATH ? { ffmpegPath: config.FFMPEG_PATH } : {}),
    ...(config.FFPROBE_PATH ? { ffprobePath: config.FFPROBE_PATH } : {}),
  });
  logger.info({ ffmpeg: ffmpeg.ffmpeg, version: ffmpeg.version, source: ffmpeg.source }, "ffmpeg for transcodes");
  // Transcodes stage sources and renditions here, on the data volume (not a small /tmp).
  const tmpDir = path.join(config.dataDir, "tmp");
  mkdirSync(tmpDir, { recursive: true });
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
  for (const w of workers) await w.start();
  const poke = () => {
    for (const w of workers) w.poke();
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

  const cookieName = () => sessionCookieFor(parts.publicUrl()).name;
  /** The signed-in viewer of a request: bearer token (apps) or the session cookie. */
  const viewerOf = async (headers: { authorization?: string; cookie?: string }): Promise<Viewer | null> => {
    const bearer = /^Bearer +(\S{1,200}) *$/i.exec(headers.authorization ?? "")?.[1];
    const token = bearer ?? readCookie(headers.cookie, cookieName());
    return token ? commerce.accounts.authenticate(token) : null;
  };
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
            const sent = Buffer.from(headers["x-csrf-token"] ?? "");
            const expected = Buffer.from(viewer.csrfToken);
            if (sent.length !== expected.length || !timingSafeEqual(sent, expected))
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
      await Promise.all(workers.map((w) => w.stop()));
      await streams.close();
      (storage as { close?: () => void }).close?.();
    },
  };
}
