import type { RouteContext } from "../route-context.ts";
import { PlaybackGrantSchema, PlaybackStartRequestSchema, PlaybackStartSchema, ProgressSchema } from "../schemas.ts";

/** Playback authorisation and where each profile stopped watching. */
export function playbackRoutes({ app, api, commerce }: RouteContext): void {
  api.route(app, {
    method: "POST",
    path: "/playback/:titleId",
    operationId: "authorizePlayback",
    summary: "Authorise playback now: a short-lived signed grant for the media origin",
    description:
      "Checked on the server at every call: ownership, rental windows, the profile's age limit. A grant costs nothing: it does not start a rental's watch window nor end the self-serve refund; playback starts at the media step's first key request (POST /playback/{titleId}/start). A title that is not published answers 404 to anyone who has not bought it.",
    tag: "library",
    auth: "viewer",
    response: { description: "Grant", schema: PlaybackGrantSchema },
    errors: [403, 404],
    handler: ({ viewer, param }) => commerce.library.authorizePlayback(viewer, param("titleId")),
  });
  api.route(app, {
    method: "POST",
    path: "/playback/:titleId/start",
    operationId: "playbackStarted",
    summary: "Playback really started: the media step's first key request for a grant",
    description:
      "Called by the media key server (or a player) when the first content key is requested for a grant; the grant's token is the credential, so no session is needed. The first call starts a rental's watch window (from now) and counts the title as played (no self-serve refund after); every repeat, concurrent or not, answers the same start. An invalid, tampered or expired grant is 401; a grant for another title 404.",
    tag: "library",
    auth: "none",
    body: PlaybackStartRequestSchema,
    response: { description: "Started (or already started)", schema: PlaybackStartSchema },
    errors: [401, 403, 404],
    handler: ({ body, param }) => commerce.library.playbackStarted(body.token, param("titleId")),
  });
  api.route(app, {
    method: "PUT",
    path: "/progress/:titleId",
    operationId: "saveProgress",
    summary: "Remember where the profile stopped watching",
    tag: "library",
    auth: "viewer",
    body: ProgressSchema,
    response: { status: 204, description: "Saved" },
    handler: ({ viewer, body, param }) =>
      commerce.library.saveProgress(viewer, param("titleId"), body.position_s, body.duration_s),
  });
}
