import { mkdirSync } from "node:fs";
import path from "node:path";
import type { AppError, Logger } from "@marquee/runtime";
import { FileStore } from "@tus/file-store";
import { Server } from "@tus/server";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** What a seller uploads for a title. */
export const UPLOAD_KINDS = ["film", "trailer", "poster", "captions"] as const;
export type UploadKind = (typeof UPLOAD_KINDS)[number];

/** The largest upload of each kind, bytes: a 4K feature, a trailer, a poster, a subtitle file. */
export const UPLOAD_LIMITS: Record<UploadKind, number> = {
  film: 40 * 1024 ** 3,
  trailer: 4 * 1024 ** 3,
  poster: 20 * 1024 ** 2,
  captions: 2 * 1024 ** 2,
};

/** Who may upload for a title: the viewer's user id, or an AppError-shaped refusal (401/403/404). */
export type UploadAuthorizer = (headers: Record<string, string>, titleId: string) => Promise<{ userId: string }>;

/** A complete upload, on local disk, before anything is done with it. */
export interface FinishedUpload {
  id: string;
  /** The uploaded bytes (removed by the uploader once `accept` returns or throws). */
  file: string;
  size: number;
  titleId: string;
  kind: UploadKind;
  filename: string | null;
  /** Caption language (BCP 47), for `captions`. */
  lang: string | null;
  userId: string;
}

/**
 * Takes a finished upload: probes it (refusing what is not a decodable video, or image for a
 * poster, with a reason), stores it and queues its transcode. Throws a client error (an
 * AppError, or an error with a 4xx `status`, or ffprobe's refusal) to refuse it.
 */
export type UploadAcceptor = (upload: FinishedUpload) => Promise<{ asset_id: string; status: string }>;

export interface UploadRoutesOptions {
  /** Where partial uploads live until they complete (tus's file store). */
  dir: string;
  authorize: UploadAuthorizer;
  accept: UploadAcceptor;
  logger: Logger;
  /** URL path of the tus endpoint. */
  path?: string;
  /** Partial uploads untouched this long are deleted (ms; default a day). */
  expireAfterMs?: number;
  limits?: Partial<Record<UploadKind, number>>;
}

/** A refusal the tus server sends as is: its status and a one-line reason. */
class Refusal extends Error {
  constructor(
    readonly status_code: number,
    readonly body: string,
  ) {
    super(body);
  }
}

const refuse = (status: number, reason: string) => new Refusal(status, `${reason}\n`);

function clientStatus(err: unknown): number | null {
  const e = err as Partial<AppError> & { status?: number; status_code?: number; name?: string };
  const status = e?.status ?? e?.status_code;
  if (typeof status === "number" && status >= 400 && status < 500) return status;
  if (e?.name === "MediaRejected") return 422;
  return null;
}

function metadataOf(upload: { metadata?: Record<string, string | null> }) {
  const m = upload.metadata ?? {};
  return {
    titleId: m.title_id ?? "",
    kind: (m.kind ?? "") as UploadKind,
    filename: m.filename ?? m.name ?? null,
    lang: m.lang ?? null,
    userId: m.uploaded_by ?? "",
  };
}

/**
 * Resumable uploads (the tus protocol, `@tus/server` on local disk) for a title's film,
 * trailer, poster and captions, at `/media/uploads`. Creating an upload needs metadata
 * `title_id` and `kind`, a declared length within the kind's limit, and a viewer allowed to
 * manage the title (its seller or an admin); every later request (resume, append, delete) must
 * come from the same user. A dropped connection resumes from the offset the server has. When
 * the last byte lands the file goes to `accept` (probe, store, queue); a refusal deletes it and
 * answers 422 with the reason. Nothing partial ever leaves this folder: an asset is created only
 * for a complete, probed file.
 */
export async function mediaUploadRoutes(app: FastifyInstance, options: UploadRoutesOptions): Promise<void> {
  const route = options.path ?? "/media/uploads";
  const limits = { ...UPLOAD_LIMITS, ...options.limits };
  mkdirSync(options.dir, { recursive: true });
  const store = new FileStore({
    directory: options.dir,
    expirationPeriodInMilliseconds: options.expireAfterMs ?? 24 * 3_600_000,
  });
  const log = options.logger;

  const authorize = async (headers: Headers, titleId: string) => {
    try {
      return await options.authorize(Object.fromEntries(headers), titleId);
    } catch (err) {
      const status = clientStatus(err);
      if (status !== null) throw refuse(status, (err as Error).message);
      throw err;
    }
  };
  const tus = new Server({
    path: route,
    datastore: store,
    relativeLocation: true,
    maxSize: Math.max(...Object.values(limits)),
    async onUploadCreate(req, upload) {
      const m = metadataOf(upload);
      if (!m.titleId) throw refuse(400, "metadata title_id is required");
      if (!(UPLOAD_KINDS as readonly string[]).includes(m.kind))
        throw refuse(400, `metadata kind must be one of ${UPLOAD_KINDS.join(", ")}`);
      if (upload.sizeIsDeferred || upload.size === undefined)
        throw refuse(400, "declare the upload's length (Upload-Length) when creating it");
      if (upload.size === 0) throw refuse(400, "the file is empty");
      if (upload.size > limits[m.kind])
        throw refuse(413, `a ${m.kind} may be at most ${Math.floor(limits[m.kind] / 1024 ** 2)} MiB`);
      const { userId } = await authorize(req.headers, m.titleId);
      return { metadata: { ...upload.metadata, uploaded_by: userId } };
    },
    async onIncomingRequest(req, uploadId) {
      // Creation (POST) is checked in onUploadCreate; everything on an existing upload is the uploader's only.
      if (req.method === "POST" || req.method === "OPTIONS") return;
      let upload: Awaited<ReturnType<FileStore["getUpload"]>>;
      try {
        upload = await store.getUpload(uploadId);
      } catch {
        return; // tus answers 404 for an upload it does not have
      }
      const m = metadataOf(upload);
      const { userId } = await authorize(req.headers, m.titleId);
      // Another user's upload is reported exactly like a missing one.
      if (userId !== m.userId) throw refuse(404, "no such upload");
    },
    async onUploadFinish(_req, upload) {
      const m = metadataOf(upload);
      const file = path.join(options.dir, upload.id);
      try {
        const accepted = await options.accept({
          id: upload.id,
          file,
          size: upload.size ?? 0,
          titleId: m.titleId,
          kind: m.kind,
          filename: m.filename,
          lang: m.lang,
          userId: m.userId,
        });
        return {
          status_code: 200,
          headers: { "content-type": "application/json" },
          body: JSON.stringify(accepted),
        };
      } catch (err) {
        const status = clientStatus(err);
        if (status === null) log.error({ err, upload_id: upload.id, kind: m.kind }, "upload could not be taken");
        else log.info({ upload_id: upload.id, kind: m.kind, reason: (err as Error).message }, "upload refused");
        throw status === null
          ? refuse(500, "the upload could not be stored: try again")
          : refuse(status, (err as Error).message);
      } finally {
        // Accepted files were copied into media storage; refused ones must not linger.
        await store.remove(upload.id).catch(() => undefined);
      }
    },
    onResponseError(_req, err) {
      if (err instanceof Refusal) return { status_code: err.status_code, body: err.body };
      const status = clientStatus(err);
      if (status !== null) return { status_code: status, body: `${(err as Error).message}\n` };
      return undefined;
    },
  });

  // Partial uploads abandoned for a day are deleted (hourly; each process sweeps its own folder).
  const sweep = setInterval(
    () => void tus.cleanUpExpiredUploads().catch((err) => log.warn({ err }, "expired upload sweep failed")),
    3_600_000,
  );
  sweep.unref();
  app.addHook("onClose", async () => clearInterval(sweep));

  await app.register(async (scope) => {
    // tus reads the raw request body itself: no parser may consume it first.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_request, _payload, done) => done(null));
    const handle = (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      return tus.handle(request.raw, reply.raw);
    };
    scope.all(route, handle);
    scope.all(`${route}/*`, handle);
  });
}
