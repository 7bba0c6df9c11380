import { sessionCookieHeader } from "@marquee/commerce/session-cookie";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestStore, type TestServices, type TestStore, testServices } from "../../test/test-services";
import {
  actorOf,
  audienceOf,
  clearSessionCookie,
  getViewer,
  readSessionToken,
  requireViewer,
  safeNext,
  secureCookies,
  sessionCookie,
} from "./session.server";

// One real commerce (in-memory PGlite) for the file; each test signs up its own accounts.
let store: TestStore;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => store?.close());

const context = (publicUrl?: string): { services: TestServices } => ({
  services: testServices(store, publicUrl ? { publicUrl } : {}),
});
const req = (cookie: string, url = "http://store.test/", headers: Record<string, string> = {}) =>
  new Request(url, { headers: { cookie, ...headers } });

describe("session cookies", () => {
  it("are HttpOnly, SameSite=Lax, Path=/ and live as long as the session", () => {
    const now = Date.UTC(2030, 0, 1);
    // The JSON API's own cookie (one implementation, commerce's): the same attributes either way.
    const c = sessionCookie("tok", new Date(now + 3600_000), false, now);
    expect(c).toBe(
      sessionCookieHeader({ name: "mq_session", secure: false }, "tok", new Date(now + 3600_000), new Date(now)),
    );
    expect(c).toBe(
      "mq_session=tok; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600; Expires=Tue, 01 Jan 2030 01:00:00 GMT",
    );
    expect(sessionCookie("tok", new Date(now + 10_000), true, now)).toBe(
      "__Host-mq_session=tok; Path=/; HttpOnly; SameSite=Lax; Max-Age=10; Expires=Tue, 01 Jan 2030 00:00:10 GMT; Secure",
    );
    expect(clearSessionCookie(true)).toBe(
      "__Host-mq_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure",
    );
  });

  it("are read under the one name the store's scheme allows", () => {
    const tok = "A".repeat(43);
    expect(readSessionToken(req(`mq_session=${tok}`), context())).toBe(tok);
    expect(readSessionToken(req(`__Host-mq_session=${tok}`), context())).toBeNull();
    const https = context("https://store.example");
    expect(readSessionToken(req(`mq_session=${tok}`, "https://store.example/"), https)).toBeNull();
    expect(readSessionToken(req(`__Host-mq_session=${tok}`, "https://store.example/"), https)).toBe(tok);
    // Garbage is not worth a lookup.
    expect(readSessionToken(req("mq_session=<script>"), context())).toBeNull();
  });

  it("are Secure by the configured public address, else by the request (or its proxy)", () => {
    expect(secureCookies(req(""), context("https://store.example"))).toBe(true);
    expect(secureCookies(req("", "https://x.test/"), context("http://localhost:3000"))).toBe(false);
    expect(secureCookies(req("", "http://x.test/", { "x-forwarded-proto": "https" }), context())).toBe(true);
    expect(secureCookies(req(""), context())).toBe(false);
  });
});

describe("getViewer and friends", () => {
  it("authenticates once per request and keys rows by the signed-in user", async () => {
    const ctx = context();
    const { token, viewer } = await ctx.services.store.signedIn();
    let calls = 0;
    // A counting view of the shared commerce: the store's own objects stay untouched.
    const real = ctx.services.commerce;
    const accounts = Object.create(real.accounts) as typeof real.accounts;
    accounts.authenticate = (t) => {
      calls++;
      return real.accounts.authenticate(t);
    };
    ctx.services.commerce = Object.assign(Object.create(real) as typeof real, { accounts });
    const r = req(`mq_session=${token}; mq_anon=a_abcdefghij0123456789`);
    expect((await getViewer(r, ctx))?.userId).toBe(viewer.userId);
    const actor = await actorOf(r, ctx);
    expect(actor.id).toBe(viewer.userId);
    expect(actor.anonymousId).toBe("a_abcdefghij0123456789");
    expect(calls).toBe(1);
    const anon = await actorOf(req("mq_anon=a_abcdefghij0123456789"), context());
    expect(anon.id).toBe("a_abcdefghij0123456789");
    expect(anon.viewer).toBeNull();
  });

  it("sends a signed-out visitor to sign in, coming back afterwards", async () => {
    const thrown = await requireViewer(req("", "http://store.test/library?tab=rentals"), context()).catch((e) => e);
    expect(thrown).toBeInstanceOf(Response);
    expect((thrown as Response).headers.get("location")).toBe("/signin?next=%2Flibrary%3Ftab%3Drentals");
  });

  it("accepts only in-store paths to return to", () => {
    expect(safeNext("/titles/t_1?x=1")).toBe("/titles/t_1?x=1");
    for (const bad of [
      "//evil.example",
      "/\\evil.example",
      "https://evil.example",
      "",
      null,
      42,
      `/${"a".repeat(600)}`,
    ])
      expect(safeNext(bad)).toBe("/");
  });

  it("filters the catalogue by the profile's age limit and the account's region", async () => {
    const ctx = context();
    const { viewer } = await ctx.services.store.signedIn({ kids: "PG" });
    expect(audienceOf(viewer)).toEqual({ maxAgeRating: "PG", region: "US" });
    expect(audienceOf(null)).toEqual({});
  });
});
