import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Accounts, DELAY_AFTER, LOCKOUT_AFTER } from "../src/accounts.ts";
import { sha256Hex } from "../src/ids.ts";
import { ARGON2_OPTIONS } from "../src/passwords.ts";
import { sessions, users } from "../src/schema.ts";
import { openPglite, TestClock } from "./support.ts";

describe("accounts", () => {
  let env: Awaited<ReturnType<typeof openPglite>>;
  const clock = new TestClock();
  let accounts: Accounts;
  beforeAll(async () => {
    env = await openPglite();
    accounts = new Accounts(env.pg.db, { now: clock.now });
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
});
