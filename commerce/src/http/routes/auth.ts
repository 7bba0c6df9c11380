import { SignUpSchema } from "../../accounts.ts";
import type { RouteContext } from "../route-context.ts";
import { SessionSchema, SignInSchema } from "../schemas.ts";
import { clearSessionCookieHeader } from "../session-cookie.ts";

/** Sign-up, sign-in and sign-out. Attempts are counted per client by its socket address (request.ip). */
export function authRoutes({ app, api, commerce, cookie, startSession, presentedToken }: RouteContext): void {
  api.route(app, {
    method: "POST",
    path: "/auth/signup",
    operationId: "signUp",
    summary: "Create an account and sign in",
    description:
      "Passwords need 12+ characters, no composition rules. Returns a bearer token for apps and sets the session cookie for browsers.",
    tag: "accounts",
    auth: "none",
    body: SignUpSchema,
    response: { status: 201, description: "Signed in", schema: SessionSchema },
    errors: [409],
    handler: async ({ request, reply, body }) =>
      startSession(reply, await commerce.accounts.signUp(body, presentedToken(request), request.ip)),
  });
  api.route(app, {
    method: "POST",
    path: "/auth/signin",
    operationId: "signIn",
    summary: "Sign in (a fresh session each time; the one presented is dropped)",
    description:
      "After 3 failures for an address each try waits longer (1 s doubling to 60 s); after 10 the address is locked for 15 minutes. Each client also has a per-minute limit on sign-ups and sign-ins together. Throttled tries answer 429 with Retry-After.",
    tag: "accounts",
    auth: "none",
    body: SignInSchema,
    response: { description: "Signed in", schema: SessionSchema },
    errors: [401, 429],
    handler: async ({ request, reply, body }) =>
      startSession(reply, await commerce.accounts.signIn(body, presentedToken(request), request.ip)),
  });
  api.route(app, {
    method: "POST",
    path: "/auth/signout",
    operationId: "signOut",
    summary: "End the session (the bearer token or the cookie's)",
    tag: "accounts",
    auth: "viewer",
    response: { status: 204, description: "Signed out; the cookie is cleared" },
    handler: async ({ reply, auth }) => {
      if (auth.token) await commerce.accounts.signOut(auth.token);
      reply.header("set-cookie", clearSessionCookieHeader(cookie));
    },
  });
}
