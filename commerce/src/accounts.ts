import { AGE_RATINGS, describeIssues } from "@marquee/contracts";
import { AppError } from "@marquee/runtime";
import { and, eq, gt, sql } from "drizzle-orm";
import { z } from "zod";
import type { CommerceDb } from "./catalog.ts";
import { newId, newToken, sha256Hex } from "./ids.ts";
import { checkPasswordPolicy, decoyHash, hashPassword, verifyPassword } from "./passwords.ts";
import { loginAttempts, profiles, sellers, sessions, users } from "./schema.ts";

export const ROLES = ["viewer", "seller", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** Failures before each further try must wait (doubling from 1 s, capped at 60 s)... */
export const DELAY_AFTER = 3;
/** ...and before the address is locked for LOCKOUT_MINUTES. */
export const LOCKOUT_AFTER = 10;
export const LOCKOUT_MINUTES = 15;
/** Default per-client (e.g. IP) sign-up and sign-in attempts per minute; 0 turns the limit off. */
export const CLIENT_ATTEMPTS_PER_MINUTE = 30;
export const SESSION_DAYS = 30;

const Email = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email({ message: "must be an e-mail address" }));

export const SignUpSchema = z.object({
  email: Email,
  password: z.string(),
  display_name: z.string().trim().min(1).max(80).optional(),
  region: z
    .string()
    .regex(/^[A-Z]{2}$/, "must be an ISO 3166-1 alpha-2 code such as US")
    .default("US"),
});
export type SignUpInput = z.input<typeof SignUpSchema>;

export const ProfileInputSchema = z
  .object({
    name: z.string().trim().min(1).max(40),
    kind: z.enum(["standard", "kids"]).default("standard"),
    max_age_rating: z.enum(AGE_RATINGS).nullable().optional(),
    pin: z
      .string()
      .regex(/^\d{4,6}$/, "must be 4 to 6 digits")
      .optional(),
  })
  .refine((p) => p.kind !== "kids" || (p.max_age_rating && p.pin), {
    message: "a kids' profile needs an age limit and a purchase PIN",
  });
export type ProfileInput = z.input<typeof ProfileInputSchema>;

export interface Profile {
  id: string;
  name: string;
  kind: "standard" | "kids";
  max_age_rating: string | null;
  has_pin: boolean;
}

/** Who is acting, as every server function sees it: checked roles, the chosen profile. */
export interface Viewer {
  sessionId: string;
  userId: string;
  email: string;
  displayName: string;
  roles: Role[];
  region: string;
  profile: Profile;
  sellerId: string | null;
  csrfToken: string;
  expiresAt: Date;
}

export interface SignedIn {
  /** The bearer secret: a `__Host-` cookie's value, or an app's Authorization header. */
  token: string;
  viewer: Viewer;
}

export interface AccountsOptions {
  now?: () => Date;
  /**
   * Sign-up and sign-in attempts one client (the key its caller passes: the socket address)
   * may make per minute, over every UI together; 0 = no limit. Default CLIENT_ATTEMPTS_PER_MINUTE.
   */
  clientAttemptsPerMinute?: number;
}

/**
 * Every throttle lives in `login_attempts`, keyed by what is being guessed at: an e-mail address
 * as is, a profile's PIN as `pin:<profile id>`, a client's minute window as `client:<key>`.
 * Neither prefixed form is an e-mail address, so the keys never collide.
 */
const pinKey = (profileId: string) => `pin:${profileId}`;
const clientKey = (client: string) => `client:${client.slice(0, 100)}`;

/**
 * Accounts, sessions and profiles. Passwords are argon2id; a session's id is the SHA-256 of
 * its token, so a database leak does not leak usable sessions. Sign-in always issues a fresh
 * token (rotation) and drops the one it replaces.
 */
export class Accounts {
  private readonly now: () => Date;
  private readonly clientAttemptsPerMinute: number;

  constructor(
    private readonly db: CommerceDb,
    options: AccountsOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.clientAttemptsPerMinute = options.clientAttemptsPerMinute ?? CLIENT_ATTEMPTS_PER_MINUTE;
  }

  /**
   * `client` identifies who is asking (the socket address), for the per-client limit: each
   * attempt costs an argon2id hash, so an unlimited stream is both a guessing tool across many
   * addresses (which the per-address throttle does not see) and a cheap way to burn the CPU.
   * Counted here, where the attempt is handled, so no spelling of a URL can go around it.
   */
  async signUp(input: SignUpInput, replacesToken?: string | null, client?: string | null): Promise<SignedIn> {
    if (client) await this.countClientAttempt(client);
    const parsed = SignUpSchema.safeParse(input);
    if (!parsed.success) throw new AppError("bad_request", firstIssue(parsed.error));
    const { email, password, region } = parsed.data;
    checkPasswordPolicy(password, { email });
    const passwordHash = await hashPassword(password);
    const userId = newId("u");
    const displayName = parsed.data.display_name ?? email.split("@")[0] ?? "viewer";
    const inserted = await this.db
      .insert(users)
      .values({ id: userId, email, passwordHash, displayName, region, roles: ["viewer"] })
      .onConflictDoNothing()
      .returning({ id: users.id });
    if (inserted.length === 0) throw new AppError("conflict", "an account with this e-mail already exists");
    await this.db.insert(profiles).values({ id: newId("p"), userId, name: displayName, kind: "standard" });
    return this.openSession(userId, replacesToken);
  }

  /**
   * Sign in with growing delays: after DELAY_AFTER failures for an address, each try must wait
   * 2^(n-DELAY_AFTER) s (max 60 s) since the last one; after LOCKOUT_AFTER the address is
   * locked for LOCKOUT_MINUTES. Unknown addresses are throttled the same way and answered with
   * the same message, so the answer does not say whether an account exists. Each try is counted
   * before its password is checked, in the one statement that checks the throttle, so tries
   * sent at once are counted one by one and cannot all pass the check first.
   */
  async signIn(
    input: { email: string; password: string },
    replacesToken?: string | null,
    client?: string | null,
  ): Promise<SignedIn> {
    if (client) await this.countClientAttempt(client);
    const email = Email.safeParse(input.email);
    if (!email.success || typeof input.password !== "string" || input.password.length === 0)
      throw new AppError("bad_request", "e-mail and password are required");
    await this.reserveAttempt(email.data, "too many failed sign-ins");
    const [user] = await this.db.select().from(users).where(eq(users.email, email.data));
    const ok = await verifyPassword(user?.passwordHash ?? (await decoyHash()), input.password);
    if (!user || !ok) throw new AppError("unauthorized", "wrong e-mail or password");
    await this.db.delete(loginAttempts).where(eq(loginAttempts.email, email.data));
    return this.openSession(user.id, replacesToken);
  }

  async signOut(token: string): Promise<void> {
    await this.db.delete(sessions).where(eq(sessions.id, sha256Hex(token)));
  }

  /** The viewer behind a token, or null when it is unknown or expired. */
  async authenticate(token: string | null | undefined): Promise<Viewer | null> {
    if (!token || token.length > 200) return null;
    const id = sha256Hex(token);
    const [row] = await this.db
      .select({ session: sessions, user: users })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(and(eq(sessions.id, id), gt(sessions.expiresAt, this.now())));
    if (!row) return null;
    const all = await this.db.select().from(profiles).where(eq(profiles.userId, row.user.id));
    const chosen = all.find((p) => p.id === row.session.profileId) ?? all.find((p) => p.kind === "standard") ?? all[0];
    if (!chosen) return null;
    const [seller] = await this.db.select({ id: sellers.id }).from(sellers).where(eq(sellers.userId, row.user.id));
    return {
      sessionId: id,
      userId: row.user.id,
      email: row.user.email,
      displayName: row.user.displayName,
      roles: row.user.roles.filter((r): r is Role => (ROLES as readonly string[]).includes(r)),
      region: row.user.region,
      profile: toProfile(chosen),
      sellerId: seller?.id ?? null,
      csrfToken: row.session.csrfToken,
      expiresAt: row.session.expiresAt,
    };
  }

  async listProfiles(userId: string): Promise<Profile[]> {
    const rows = await this.db.select().from(profiles).where(eq(profiles.userId, userId));
    return rows.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).map(toProfile);
  }

  /** Only a standard profile may create profiles (a child cannot lift their own limit). */
  async createProfile(viewer: Viewer, input: ProfileInput): Promise<Profile> {
    if (viewer.profile.kind === "kids") throw new AppError("forbidden", "a kids' profile cannot manage profiles");
    const parsed = ProfileInputSchema.safeParse(input);
    if (!parsed.success) throw new AppError("bad_request", firstIssue(parsed.error));
    const p = parsed.data;
    const existing = await this.db.select({ id: profiles.id }).from(profiles).where(eq(profiles.userId, viewer.userId));
    if (existing.length >= 6) throw new AppError("conflict", "an account can have at most 6 profiles");
    const [row] = await this.db
      .insert(profiles)
      .values({
        id: newId("p"),
        userId: viewer.userId,
        name: p.name,
        kind: p.kind,
        maxAgeRating: p.max_age_rating ?? null,
        pinHash: p.pin ? await hashPassword(p.pin) : null,
      })
      .returning();
    if (!row) throw new AppError("internal", "profile was not created");
    return toProfile(row);
  }

  /**
   * Switch the session to another of the account's profiles. Leaving a kids' profile for an
   * unrestricted one needs that profile's PIN when it has one.
   */
  async selectProfile(viewer: Viewer, profileId: string, pin?: string): Promise<Profile> {
    const [p] = await this.db
      .select()
      .from(profiles)
      .where(and(eq(profiles.id, profileId), eq(profiles.userId, viewer.userId)));
    if (!p) throw new AppError("not_found", "no such profile");
    if (viewer.profile.kind === "kids" && p.kind !== "kids") {
      // The target's own PIN if it has one, else the kids' profile's (set by the parent).
      const owner = p.pinHash ? p.id : viewer.profile.id;
      if (!(await this.verifyPin(owner, pin)))
        throw new AppError("forbidden", "the PIN is needed to leave a kids' profile");
    }
    await this.db.update(sessions).set({ profileId: p.id }).where(eq(sessions.id, viewer.sessionId));
    return toProfile(p);
  }

  /**
   * True when `pin` is the profile's PIN (or the profile has none). Throttled like passwords,
   * per profile: a 4-digit PIN is 10,000 guesses, so after DELAY_AFTER wrong ones each try
   * waits longer and after LOCKOUT_AFTER the PIN is locked for LOCKOUT_MINUTES (429 with
   * Retry-After). Every PIN check (leaving a kids' profile, buying) goes through here.
   */
  async verifyPin(profileId: string, pin: string | undefined): Promise<boolean> {
    const hash = await this.pinHashOf(profileId);
    if (!hash) return true;
    await this.reserveAttempt(pinKey(profileId), "too many wrong PINs");
    const ok = pin !== undefined && /^\d{4,6}$/.test(pin) && (await verifyPassword(hash, pin));
    if (ok) await this.db.delete(loginAttempts).where(eq(loginAttempts.email, pinKey(profileId)));
    return ok;
  }

  async grantRole(userId: string, role: Role): Promise<void> {
    await this.db
      .update(users)
      .set({ roles: sql`array(select distinct unnest(${users.roles} || array[${role}]::text[]))` })
      .where(eq(users.id, userId));
  }

  /** Grant a role by e-mail address (operators: `marquee grant-role`). False when no such account. */
  async grantRoleByEmail(email: string, role: Role): Promise<boolean> {
    const [user] = await this.db
      .select({ id: users.id })
      .from(users)
      .where(eq(users.email, email.trim().toLowerCase()));
    if (!user) return false;
    await this.grantRole(user.id, role);
    return true;
  }

  /** Drop expired sessions and stale throttles; run on a schedule. */
  async sweep(): Promise<void> {
    const now = this.now();
    await this.db.delete(sessions).where(sql`${sessions.expiresAt} <= ${now}`);
    await this.db
      .delete(loginAttempts)
      .where(sql`${loginAttempts.lastFailureAt} < ${new Date(now.getTime() - 24 * 3600_000)}`);
  }

  /**
   * Count one try at `key` unless it is throttled now, in one statement: the upsert takes the
   * row's lock, so concurrent tries queue and each sees the ones before it. A try is counted
   * as a failure up front; the caller deletes the row when it succeeds.
   */
  private async reserveAttempt(key: string, what: string): Promise<void> {
    const now = this.now();
    const lockedUntil = new Date(now.getTime() + LOCKOUT_MINUTES * 60_000);
    const a = loginAttempts;
    const throttled = sql`(${a.lockedUntil} is not null and ${a.lockedUntil} > ${now}::timestamptz)
      or (${a.failures} >= ${sql.raw(String(DELAY_AFTER))} and ${a.lastFailureAt} is not null
        and ${a.lastFailureAt} + make_interval(secs => least(60, power(2, (${a.failures} - ${sql.raw(String(DELAY_AFTER))})::float8))) > ${now}::timestamptz)`;
    const counted = await this.db
      .insert(loginAttempts)
      .values({ email: key, failures: 1, lastFailureAt: now, lockedUntil: null })
      .onConflictDoUpdate({
        target: loginAttempts.email,
        set: {
          failures: sql`${a.failures} + 1`,
          lastFailureAt: now,
          lockedUntil: sql`case when ${a.failures} + 1 >= ${sql.raw(String(LOCKOUT_AFTER))} then ${lockedUntil}::timestamptz else null end`,
        },
        setWhere: sql`not (${throttled})`,
      })
      .returning({ failures: loginAttempts.failures });
    if (counted.length > 0) return;
    const [row] = await this.db.select().from(loginAttempts).where(eq(loginAttempts.email, key));
    const wait = Math.max(1, row ? waitSeconds(row, now) : 1);
    throw new AppError("rate_limited", `${what}: try again in ${wait} s`, { details: { retryAfterSeconds: wait } });
  }

  /** One more attempt in the client's current minute (fixed windows); over the limit → 429. */
  private async countClientAttempt(client: string): Promise<void> {
    const limit = this.clientAttemptsPerMinute;
    if (limit <= 0) return;
    const now = this.now();
    const windowStart = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
    const a = loginAttempts;
    const [row] = await this.db
      .insert(loginAttempts)
      .values({ email: clientKey(client), failures: 1, lastFailureAt: windowStart })
      .onConflictDoUpdate({
        target: loginAttempts.email,
        set: {
          failures: sql`case when ${a.lastFailureAt} = ${windowStart}::timestamptz then ${a.failures} + 1 else 1 end`,
          lastFailureAt: windowStart,
        },
      })
      .returning({ failures: loginAttempts.failures });
    if ((row?.failures ?? 0) <= limit) return;
    const wait = Math.max(1, Math.ceil((windowStart.getTime() + 60_000 - now.getTime()) / 1000));
    throw new AppError("rate_limited", `too many sign-in and sign-up attempts from here: try again in ${wait} s`, {
      details: { retryAfterSeconds: wait, scope: "client" },
    });
  }

  private async pinHashOf(profileId: string): Promise<string | null> {
    const [p] = await this.db.select({ pinHash: profiles.pinHash }).from(profiles).where(eq(profiles.id, profileId));
    return p?.pinHash ?? null;
  }

  private async openSession(userId: string, replacesToken?: string | null): Promise<SignedIn> {
    if (replacesToken) await this.signOut(replacesToken);
    const token = newToken();
    const now = this.now();
    await this.db.insert(sessions).values({
      id: sha256Hex(token),
      userId,
      csrfToken: newToken(),
      createdAt: now,
      expiresAt: new Date(now.getTime() + SESSION_DAYS * 24 * 3600_000),
    });
    const viewer = await this.authenticate(token);
    if (!viewer) throw new AppError("internal", "session was not created");
    return { token, viewer };
  }
}

function waitSeconds(a: { failures: number; lastFailureAt: Date | null; lockedUntil: Date | null }, now: Date): number {
  if (a.lockedUntil && a.lockedUntil > now) return Math.ceil((a.lockedUntil.getTime() - now.getTime()) / 1000);
  if (a.failures < DELAY_AFTER || !a.lastFailureAt) return 0;
  const delayS = Math.min(60, 2 ** (a.failures - DELAY_AFTER));
  const readyAt = a.lastFailureAt.getTime() + delayS * 1000;
  return readyAt > now.getTime() ? Math.ceil((readyAt - now.getTime()) / 1000) : 0;
}

function toProfile(p: typeof profiles.$inferSelect): Profile {
  return {
    id: p.id,
    name: p.name,
    kind: p.kind === "kids" ? "kids" : "standard",
    max_age_rating: p.maxAgeRating,
    has_pin: p.pinHash !== null,
  };
}

/** The first issue alone, in contracts' wording: a form shows one field's problem at a time. */
export function firstIssue(error: z.ZodError): string {
  return describeIssues(error, 1);
}

/** Throws unless the viewer holds `role`. */
export function requireRole(viewer: Viewer | null, role: Role): Viewer {
  if (!viewer) throw new AppError("unauthorized", "sign in first");
  if (!viewer.roles.includes(role)) throw new AppError("forbidden", `this needs the ${role} role`);
  return viewer;
}
