import type { RouteContext } from "../route-context.ts";
import { PlaybackGrantSchema, ProgressSchema } from "../schemas.ts";

/** Playback authorisation and where each profile stopped watching. */
export function playbackRoutes({ app, api, commerce }: RouteContext): void {
  api.route(app, {
    method: "POST",
    path: "/playback/:titleId",
    operationId: "authorizePlayback",
    summary: "Authorise playback now: a short-lived signed grant for the media origin",
    description:
      "Checked on the server at every call: ownership, rental windows (the first play of a rental opens its watch window), the profile's age limit.",
    tag: "library",
    auth: "viewer",
    response: { description: "Grant", schema: PlaybackGrantSchema },
    errors: [404],
    handler: ({ viewer, param }) => commerce.library.authorizePlayback(viewer, param("titleId")),
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
