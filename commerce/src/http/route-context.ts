import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Profile, SignedIn, Viewer } from "../accounts.ts";
import type { Audience } from "../catalog.ts";
import type { Commerce } from "../commerce.ts";
import type { ApiRouter } from "./api-router.ts";
import type { Session } from "./schemas.ts";
import type { SessionCookie } from "./session-cookie.ts";

/**
 * What every route module gets from `commerceApiRoutes`: the router (guards, validation, the
 * OpenAPI table), the store, and the few helpers several resources share.
 */
export interface RouteContext {
  app: FastifyInstance;
  api: ApiRouter;
  commerce: Commerce;
  cookie: SessionCookie;
  now(): Date;
  /** The store's public address, without a trailing slash. */
  base(): string;
  /** A catalogue card or page with the address its poster is served from. */
  withPoster<T extends { id: string }>(card: T): T & { poster_url: string };
  /** Whom the catalogue is filtered for: the profile's age limit and region, or an anonymous region. */
  audienceOf(viewer: Viewer | null, region?: string): Audience;
  /** Sets the session cookie and answers with the bearer token for apps. */
  startSession(reply: FastifyReply, signed: SignedIn): SessionAnswer;
  /** The token this request already carries (cookie or bearer), so sign-in replaces it. */
  presentedToken(request: FastifyRequest): string | null;
}

/** The sign-in answer (`SessionSchema`; the profile's rating is the column's text). */
export type SessionAnswer = Omit<Session, "profile"> & { profile: Profile };

/** A resource's routes: registers them on `ctx.api` (synchronously, or in a scope of its own). */
export type RouteModule = (ctx: RouteContext) => void | Promise<void>;
