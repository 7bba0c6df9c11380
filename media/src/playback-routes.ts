import type { Viewer } from "@marquee/commerce";
import { AppError, toErrorResponse } from "@marquee/runtime";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Heartbeat, MediaPlayback } from "./playback.ts";

export interface MediaPlaybackRoutesOptions {
  playback: MediaPlayback;
  /** The signed-in viewer of a request (session cookie or bearer token), or null. */
  authenticate: (request: FastifyRequest) => Promise<Viewer | null>;
}

function send(reply: FastifyReply, e: unknown) {
  const { status, body } = toErrorResponse(e);
  // The player tells a full account from any other conflict by this code.
  const details = (e as { details?: { reason?: string; limit?: number } })?.details;
  const reason = details?.reason;
  return reply
    .code(status)
    .header("cache-control", "no-store")
    .send(
      reason
        ? { error: { ...body.error, code: reason, ...(details?.limit !== undefined ? { limit: details.limit } : {}) } }
        : body,
    );
}

function heartbeatOf(raw: unknown): Heartbeat {
  let body = raw;
  // navigator.sendBeacon (a closing tab's last beat) sends its JSON as text/plain.
  if (typeof raw === "string") {
    try {
      body = raw.trim() === "" ? null : JSON.parse(raw);
    } catch {
      throw new AppError("bad_request", "the body must be a JSON object");
    }
  }
  if (body === undefined || body === null) return {};
  if (typeof body !== "object" || Array.isArray(body))
    throw new AppError("bad_request", "the body must be a JSON object");
  const b = body as Record<string, unknown>;
  const beat: Heartbeat = {};
  for (const field of ["position_s", "duration_s"] as const) {
    const v = b[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 86_400)
      throw new AppError("bad_request", `${field} must be a number of seconds between 0 and 86400`);
    beat[field] = v;
  }
  if (b.ended !== undefined && typeof b.ended !== "boolean")
    throw new AppError("bad_request", "ended must be true or false");
  if (b.ended) beat.ended = true;
  return beat;
}

/**
 * Playback over HTTP, for the player and the apps:
 * - `POST /media/play/:titleId` (signed in; body `{"device_id"?}`) → FilmPlayback, 409 `stream_limit`;
 * - `POST /media/heartbeat/:token` (body `{"position_s"?, "duration_s"?, "ended"?}`) → the renewed
 *   link `{"hls_token","hls_url","token_expires_at"}`, 204 after `ended`, 403 once playback is not
 *   allowed, 409 `stream_limit`;
 * - `GET /media/trailer/:titleId` → TrailerPlayback, 404 when it has none.
 */
export async function mediaPlaybackRoutes(app: FastifyInstance, options: MediaPlaybackRoutesOptions): Promise<void> {
  const { playback } = options;

  app.post<{ Params: { titleId: string }; Body: unknown }>("/media/play/:titleId", async (request, reply) => {
    try {
      const viewer = await options.authenticate(request);
      if (!viewer) throw new AppError("unauthorized", "sign in to watch");
      const body = (request.body ?? {}) as { device_id?: unknown };
      const deviceId = typeof body.device_id === "string" ? body.device_id.slice(0, 128) : undefined;
      const film = await playback.startFilm(viewer, request.params.titleId, deviceId ? { deviceId } : {});
      return reply.header("cache-control", "no-store").send(film);
    } catch (e) {
      return send(reply, e);
    }
  });

  // A wildcard, not `:token`: a token is longer than Fastify's default maxParamLength (100).
  app.post<{ Params: { "*": string }; Body: unknown }>("/media/heartbeat/*", async (request, reply) => {
    try {
      const answer = await playback.heartbeat(request.params["*"], heartbeatOf(request.body));
      if (!answer) return reply.code(204).header("cache-control", "no-store").send();
      return reply.header("cache-control", "no-store").send(answer);
    } catch (e) {
      return send(reply, e);
    }
  });

  app.get<{ Params: { titleId: string } }>("/media/trailer/:titleId", async (request, reply) => {
    try {
      const viewer = await options.authenticate(request);
      const trailer = await playback.trailer(
        request.params.titleId,
        viewer ? { maxAgeRating: viewer.profile.max_age_rating, region: viewer.region } : {},
      );
      if (!trailer) throw new AppError("not_found", "this title has no trailer");
      return reply.header("cache-control", "no-store").send(trailer);
    } catch (e) {
      return send(reply, e);
    }
  });
}
