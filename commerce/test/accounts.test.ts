import { serviceSuite } from "@marquee/runtime/testing";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Accounts, DELAY_AFTER, LOCKOUT_AFTER } from "../src/accounts.ts";
import { sha256Hex } from "../src/ids.ts";
import { ARGON2_OPTIONS } from "../src/passwords.ts";
import { loginAttempts, sessions, users } from "../src/schema.ts";
import { type Db, openPglite, openPostgres, TestClock } from "./support.ts";

describe("accounts (PGlite)", () => accountsSuite(openPglite));
serviceSuite("postgres", process.env.TEST_DATABASE_URL, (url) => {
  describe("accounts (Postgres)", () => accountsSuite(() => openPostgres(url)));
});

/** Outcomes of settled sign-in promises: "ok", or the error's status. */
const outcomes = (settled: PromiseSettledResult<unknown>[]) =>
  settled.map((r) => (r.status === "fulfilled" ? "ok" : (r.reason as { status: number }).status));
const count = <T>(xs: T[], x: T) => xs.filter((y) => y === x).length;

function accountsSuite(open: () => Promise<{ pg: Db; drop: () => Promise<void> }>) {
  let env: Awaited<ReturnType<typeof openPglite>>;
  const clock = new TestClock();
  let accounts: Accounts;
  beforeAll(async () => {
    env = await open();
    accounts = new Accounts(env.pg.db, { now: clock.now, clientAttemptsPerMinute: 0 });
  });
  afterAll(() => env?.drop());

  it("hashes with argon2id at m=19 MiB, t=2, p=1 and never stores the password", async () => {
    const { viewer } = await accounts.signUp({ email: "Ada@Example.com", password: "twelve chars!" });
    const [u] = await env.pg.db.select().from(users).where(eq(users.id, viewer.userId));
    expect(u?.email).toBe("ada@example.com");
    expect(u?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(u?.passwordHash).not.toContain("twelve");
    expect(ARGON2_OPTIONS).toMatchObject({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
  });

  it("asks only for 12 characters: no composition rules, but no e-mail as password", async () => {
    await expect(accounts.signUp({ email: "b@example.com", password: "short pass" })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining("12"),
    });
    await expect(accounts.signUp({ email: "c@example.com", password: "alllowercaseletters" })).resolves.toBeTruthy();
    await expect(
      accounts.signUp({ email: "d@example.com", password: "😀😀😀😀😀😀😀😀😀😀😀😀" }),
    ).resolves.toBeTruthy();
    await expect(
      accounts.signUp({ email: "longname@example.com", password: "longname@example.com" }),
    ).rejects.toMatchObject({
      status: 400,
    });
    await expect(accounts.signUp({ email: "not-an-email", password: "long enough password" })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining("email"),
    });
    await expect(accounts.signUp({ email: "ADA@example.com", password: "another password!" })).rejects.toMatchObject({
      status: 409,
    });
  });

  it("rotates the session at sign-in and forgets it at sign-out", async () => {
    const first = await accounts.signIn({ email: "ada@example.com", password: "twelve chars!" });
    const second = await accounts.signIn({ email: "ada@example.com", password: "twelve chars!" }, first.token);
    expect(second.token).not.toBe(first.token);
    expect(second.viewer.csrfToken).not.toBe(first.viewer.csrfToken);
    expect(await accounts.authenticate(first.token)).toBeNull();
    expect((await accounts.authenticate(second.token))?.email).toBe("ada@example.com");
    // Only the hash of the token is stored.
    const stored = await env.pg.db
      .select()
      .from(sessions)
      .where(eq(sessions.id, sha256Hex(second.token)));
    expect(stored).toHaveLength(1);
    await accounts.signOut(second.token);
    expect(await accounts.authenticate(second.token)).toBeNull();
  });

  it("expires sessions after 30 days", async () => {
    const s = await accounts.signIn({ email: "ada@example.com", password: "twelve chars!" });
    clock.advanceHours(30 * 24 + 1);
    expect(await accounts.authenticate(s.token)).toBeNull();
  });

  it("answers repeated failures with growing delays, then a lockout, the same for unknown addresses", async () => {
    for (const email of ["ada@example.com", "nobody@example.com"]) {
      const wrong = () => accounts.signIn({ email, password: "wrong password!!" });
      for (let i = 0; i < DELAY_AFTER; i++) await expect(wrong()).rejects.toMatchObject({ status: 401 });
      // The next try right away must wait 1 s; after waiting, it is heard (and fails: 2 s next).
      await expect(wrong()).rejects.toMatchObject({ status: 429, details: { retryAfterSeconds: 1 } });
      clock.advanceHours(1 / 3600);
      await expect(wrong()).rejects.toMatchObject({ status: 401 });
      await expect(wrong()).rejects.toMatchObject({ status: 429, details: { retryAfterSeconds: 2 } });
      for (let i = DELAY_AFTER + 1; i < LOCKOUT_AFTER; i++) {
        clock.advanceHours(61 / 3600);
        await expect(wrong()).rejects.toMatchObject({ status: 401 });
      }
      clock.advanceHours(61 / 3600);
      // Locked for 15 minutes, even with the right password.
      await expect(accounts.signIn({ email, password: "twelve chars!" })).rejects.toMatchObject({
        status: 429,
        message: expect.stringMatching(/try again in \d+ s/),
      });
      clock.advanceHours(16 / 60);
    }
    // After the lockout, the right password works and clears the count.
    await expect(accounts.signIn({ email: "ada@example.com", password: "twelve chars!" })).resolves.toBeTruthy();
    await expect(accounts.signIn({ email: "ada@example.com", password: "wrong password!!" })).rejects.toMatchObject({
      status: 401,
    });
  });

  it("counts sign-ins sent at once one by one: 25 at once are throttled like 25 in a row", async () => {
    await accounts.signUp({ email: "rush@example.com", password: "the right password" });
    const wrong = Array.from({ length: 24 }, (_, i) =>
      accounts.signIn({ email: "rush@example.com", password: `wrong guess ${i}!!` }),
    );
    const got = outcomes(await Promise.allSettled(wrong));
    // Only DELAY_AFTER tries were heard (each a password check); the rest had to wait.
    expect(count(got, 401)).toBe(DELAY_AFTER);
    expect(count(got, 429)).toBe(24 - DELAY_AFTER);
    const [row] = await env.pg.db.select().from(loginAttempts).where(eq(loginAttempts.email, "rush@example.com"));
    expect(row?.failures).toBe(DELAY_AFTER);
    // The right password, sent in the same burst, waits too.
    await expect(accounts.signIn({ email: "rush@example.com", password: "the right password" })).rejects.toMatchObject({
      status: 429,
    });
    clock.advanceMinutes(2);
    await expect(accounts.signIn({ email: "rush@example.com", password: "the right password" })).resolves.toBeTruthy();
  });

  it("limits sign-ups and sign-ins per client, whatever address they try, and tells other clients apart", async () => {
    const limited = new Accounts(env.pg.db, { now: clock.now, clientAttemptsPerMinute: 3 });
    clock.advanceMinutes(1);
    clock.current = new Date(Math.floor(clock.current.getTime() / 60_000) * 60_000); // a fresh window
    const a = "203.0.113.7";
    await expect(limited.signIn({ email: "x1@example.com", password: "whatever pass" }, null, a)).rejects.toMatchObject(
      {
        status: 401,
      },
    );
    await expect(
      limited.signUp({ email: "perclient@example.com", password: "long enough pass" }, null, a),
    ).resolves.toBeTruthy();
    await expect(limited.signIn({ email: "x2@example.com", password: "whatever pass" }, null, a)).rejects.toMatchObject(
      {
        status: 401,
      },
    );
    // The fourth in the minute, even with the right password for an address never tried.
    const over = limited.signIn({ email: "perclient@example.com", password: "long enough pass" }, null, a);
    await expect(over).rejects.toMatchObject({ status: 429, details: { retryAfterSeconds: 60 } });
    await expect(
      limited.signUp({ email: "y@example.com", password: "long enough pass" }, null, a),
    ).rejects.toMatchObject({
      status: 429,
    });
    // Another client is not affected; the next minute is a new window.
    await expect(
      limited.signIn({ email: "perclient@example.com", password: "long enough pass" }, null, "203.0.113.8"),
    ).resolves.toBeTruthy();
    clock.advanceMinutes(1);
    await expect(
      limited.signIn({ email: "perclient@example.com", password: "long enough pass" }, null, a),
    ).resolves.toBeTruthy();
  });

  it("throttles and locks wrong PINs like passwords, for purchases and for leaving a kids' profile", async () => {
    const parent = await accounts.signUp({ email: "parent@example.com", password: "parent password" });
    const kid = await accounts.createProfile(parent.viewer, {
      name: "Kid",
      kind: "kids",
      max_age_rating: "PG",
      pin: "4321",
    });
    const wrongPins = Array.from({ length: 30 }, (_, i) => accounts.verifyPin(kid.id, String(1000 + i)));
    const got = outcomes(await Promise.allSettled(wrongPins));
    expect(got.filter((o) => o === "ok")).toHaveLength(DELAY_AFTER); // heard (and false)
    expect(count(got, 429)).toBe(30 - DELAY_AFTER);
    // The right PIN right after the burst must wait as well.
    await expect(accounts.verifyPin(kid.id, "4321")).rejects.toMatchObject({ status: 429 });
    // Leaving the kids' profile checks the same PIN through the same throttle.
    const session = await accounts.signIn({ email: "parent@example.com", password: "parent password" });
    await accounts.selectProfile(session.viewer, kid.id);
    const asKid = await accounts.authenticate(session.token);
    if (!asKid) throw new Error("no session");
    await expect(accounts.selectProfile(asKid, parent.viewer.profile.id, "4321")).rejects.toMatchObject({
      status: 429,
    });
    // Up to the lockout, one try at a time after each wait; then locked even for the right PIN.
    for (let i = DELAY_AFTER; i < LOCKOUT_AFTER; i++) {
      clock.advanceMinutes(1.1);
      expect(await accounts.verifyPin(kid.id, "0000")).toBe(false);
    }
    clock.advanceMinutes(1.1);
    await expect(accounts.verifyPin(kid.id, "4321")).rejects.toMatchObject({ status: 429 });
    clock.advanceMinutes(16);
    await expect(accounts.selectProfile(asKid, parent.viewer.profile.id, "4321")).resolves.toMatchObject({
      kind: "standard",
    });
    expect(await accounts.verifyPin(kid.id, "0000")).toBe(false); // the count started again
  });

  it("takes a granted role into account at the next authentication of an open session", async () => {
    const s = await accounts.signUp({ email: "soon-admin@example.com", password: "long enough pass" });
    expect(s.viewer.roles).toEqual(["viewer"]);
    expect(await accounts.grantRoleByEmail("Soon-Admin@example.com", "admin")).toBe(true);
    expect((await accounts.authenticate(s.token))?.roles).toEqual(expect.arrayContaining(["viewer", "admin"]));
  });
}
