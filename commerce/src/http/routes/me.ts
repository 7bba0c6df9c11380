import { z } from "zod";
import { ProfileInputSchema } from "../../accounts.ts";
import { userView } from "../../views.ts";
import type { RouteContext } from "../route-context.ts";
import { MeSchema, ProfileSchema, SelectProfileSchema } from "../schemas.ts";

/** The signed-in account and its profiles. */
export function meRoutes({ app, api, commerce }: RouteContext): void {
  api.route(app, {
    method: "GET",
    path: "/me",
    operationId: "me",
    summary: "The signed-in account, its current profile and all its profiles",
    tag: "accounts",
    auth: "viewer",
    response: { description: "The viewer", schema: MeSchema },
    handler: async ({ viewer }) => ({
      user: userView(viewer),
      profile: viewer.profile,
      profiles: await commerce.accounts.listProfiles(viewer.userId),
      csrf_token: viewer.csrfToken,
      session_expires_at: viewer.expiresAt.toISOString(),
    }),
  });
  api.route(app, {
    method: "POST",
    path: "/me/profiles",
    operationId: "createProfile",
    summary: "Add a profile (kids' profiles need an age limit and a purchase PIN)",
    tag: "accounts",
    auth: "viewer",
    body: ProfileInputSchema,
    response: { status: 201, description: "The new profile", schema: ProfileSchema },
    errors: [409],
    handler: ({ viewer, body }) => commerce.accounts.createProfile(viewer, body),
  });
  api.route(app, {
    method: "POST",
    path: "/me/profile",
    operationId: "selectProfile",
    summary: "Switch this session to another profile",
    description: "Leaving a kids' profile for one without its limit needs the PIN.",
    tag: "accounts",
    auth: "viewer",
    body: SelectProfileSchema,
    response: { description: "The profile now in use", schema: z.object({ profile: ProfileSchema }) },
    errors: [404],
    handler: async ({ viewer, body }) => ({
      profile: await commerce.accounts.selectProfile(viewer, body.profile_id, body.pin),
    }),
  });
}
