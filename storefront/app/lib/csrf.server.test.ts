import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestStore, type TestServices, type TestStore, testServices } from "../../test/test-services";
import { csrfCookie, csrfMatches, formToken, newCsrfToken, protectedForm, tokensEqual } from "./csrf.server";

// One real commerce (in-memory PGlite) for the file; each test signs up its own accounts.
let store: TestStore;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => store?.close());

const context = (publicUrl?: string): { services: TestServices } => ({
  services: testServices(store, publicUrl ? { publicUrl } : {}),
});

const post = (fields: Record<string, string>, cookie = "", url = "http://store.test/x") =>
  new Request(url, {
    method: "POST",
    body: new URLSearchParams(fields),
    headers: { "content-type": "application/x-www-form-urlencoded", cookie },
  });

const statusOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 200;
  } catch (e) {
    return (e as { init?: { status?: number } }).init?.status ?? -1;
  }
};

describe("CSRF tokens", () => {
  it("are 32 random bytes, base64url, never repeated", () => {
    const tokens = new Set(Array.from({ length: 200 }, newCsrfToken));
    expect(tokens.size).toBe(200);
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("compare equal only when identical", () => {
    const t = newCsrfToken();
    expect(tokensEqual(t, t)).toBe(true);
    expect(tokensEqual(t, `${t.slice(0, -1)}${t.endsWith("A") ? "B" : "A"}`)).toBe(false);
    expect(tokensEqual(t, t.slice(1))).toBe(false);
  });

  it("match only a well-formed submitted value against a non-empty expected token", () => {
    const t = newCsrfToken();
    expect(csrfMatches(t, [null, t])).toBe(true);
    expect(csrfMatches(t, [undefined, null, ""])).toBe(false);
    expect(csrfMatches("", [""])).toBe(false);
    expect(csrfMatches(null, [t])).toBe(false);
    expect(csrfMatches(new File([t], "x"), [t])).toBe(false);
    expect(csrfMatches("short", ["short"])).toBe(false);
  });

  it("ride in an HttpOnly SameSite=Lax cookie, __Host- and Secure on https", () => {
    expect(csrfCookie("abc", false)).toBe("mq_csrf=abc; Path=/; HttpOnly; SameSite=Lax");
    expect(csrfCookie("abc", true)).toBe("__Host-mq_csrf=abc; Path=/; HttpOnly; SameSite=Lax; Secure");
  });
});

describe("formToken", () => {
  it("mints one double-submit token per request when signed out, and reuses the cookie's", () => {
    const ctx = context();
    const req = new Request("http://store.test/signin");
    const a = formToken(req, ctx, null);
    const b = formToken(req, ctx, null);
    expect(a.token).toBe(b.token);
    expect(a.setCookie).toContain(`mq_csrf=${a.token}`);
    const again = formToken(
      new Request("http://store.test/", { headers: { cookie: `mq_csrf=${a.token}` } }),
      context(),
      null,
    );
    expect(again).toEqual({ token: a.token, setCookie: null });
  });

  it("gives a signed-in viewer their session's token", async () => {
    const ctx = context();
    const { viewer } = await ctx.services.store.signedIn();
    expect(formToken(new Request("http://store.test/"), ctx, viewer)).toEqual({
      token: viewer.csrfToken,
      setCookie: null,
    });
  });
});

describe("protectedForm", () => {
  it("accepts a signed-in viewer's session token and nothing else", async () => {
    const ctx = context();
    const { token, viewer } = await ctx.services.store.signedIn();
    const cookie = `mq_session=${token}`;
    const ok = await protectedForm(post({ _csrf: viewer.csrfToken, a: "1" }, cookie), ctx);
    expect(ok.form.get("a")).toBe("1");
    expect(ok.viewer?.userId).toBe(viewer.userId);
    expect(await statusOf(protectedForm(post({ a: "1" }, cookie), context()))).toBe(403);
    const other = newCsrfToken();
    // A double-submit pair does not stand in for the session's token on signed-in forms...
    expect(await statusOf(protectedForm(post({ _csrf: other }, `${cookie}; mq_csrf=${other}`), ctx))).toBe(403);
  });

  it("accepts the double-submit pair only where anonymous forms are allowed", async () => {
    const t = newCsrfToken();
    expect(await statusOf(protectedForm(post({ _csrf: t }, `mq_csrf=${t}`), context(), { anonymous: true }))).toBe(200);
    expect(await statusOf(protectedForm(post({ _csrf: t }, `mq_csrf=${t}`), context()))).toBe(403);
    expect(
      await statusOf(protectedForm(post({ _csrf: t }, `mq_csrf=${newCsrfToken()}`), context(), { anonymous: true })),
    ).toBe(403);
    expect(await statusOf(protectedForm(post({ _csrf: t }), context(), { anonymous: true }))).toBe(403);
    // On an https store only the __Host- cookie counts.
    const https = context("https://store.example");
    expect(
      await statusOf(
        protectedForm(post({ _csrf: t }, `mq_csrf=${t}`, "https://store.example/x"), https, { anonymous: true }),
      ),
    ).toBe(403);
    expect(
      await statusOf(
        protectedForm(
          post({ _csrf: t }, `__Host-mq_csrf=${t}`, "https://store.example/x"),
          context("https://store.example"),
          {
            anonymous: true,
          },
        ),
      ),
    ).toBe(200);
  });
});
