import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppHandler, csrfIn, hasBuild, openBuiltApp, text } from "./built-app";
import { openTestStore, type TestServices, type TestStore, testServices } from "./test-services";

/**
 * The account, checkout, library and seller pages of the built app, against the real commerce
 * (in-memory PGlite, local payment gateway): what a browser without JavaScript gets (form
 * posts, redirects, cookies). e2e/test/commerce.browser.test.ts drives the same in Chromium.
 */

/** A browser's cookie jar, just enough for these tests. */
class Jar {
  readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair = ""] = c.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (/Max-Age=0/i.test(c) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

describe.skipIf(!hasBuild)("storefront commerce pages (built app, real commerce)", () => {
  let handler: AppHandler;
  let store: TestStore;

  beforeAll(async () => {
    ({ handler, store } = await openBuiltApp());
  });

  afterAll(() => store?.close());

  /** A visitor: one jar of cookies, one set of services; follows nothing by itself. */
  const visitor = (services: TestServices = testServices(store), origin = "http://store.test") => {
    const jar = new Jar();
    const send = async (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) => {
      const headers = new Headers(init.headers);
      if (jar.cookies.size > 0) headers.set("cookie", jar.header());
      const res = await handler(new Request(`${origin}${path}`, { ...init, headers }), { services });
      jar.take(res);
      return res;
    };
    return {
      jar,
      services,
      get: (path: string, headers: Record<string, string> = {}) => send(path, { headers }),
      post: (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
        send(path, {
          method: "POST",
          body: new URLSearchParams(fields),
          headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
        }),
      /** GET a page and read the CSRF token its forms carry. */
      async token(path: string) {
        const res = await send(path);
        return csrfIn(await res.text());
      },
    };
  };

  /** The viewer behind a visitor's session cookie. */
  const viewerOf = async (v: ReturnType<typeof visitor>) => {
    const viewer = await v.services.commerce.accounts.authenticate(v.jar.cookies.get("mq_session"));
    if (!viewer) throw new Error("not signed in");
    return viewer;
  };

  /** A visitor signed in through the sign-up form. */
  const signedUp = async (services?: TestServices) => {
    const v = visitor(services);
    const _csrf = await v.token("/signup");
    const res = await v.post("/signup", {
      _csrf,
      email: `viewer${Math.random().toString(36).slice(2)}@example.com`,
      password: "a long enough passphrase",
      region: "US",
    });
    expect(res.status).toBe(302);
    return v;
  };

  it("signs up with the double-submit token, sets an HttpOnly session cookie, and rejects a post without it", async () => {
    const v = visitor();
    const page = await v.get("/signup");
    const html = text(await page.text());
    expect(html).toContain("At least 12 characters");
    expect(html).toContain('minLength="12"');
    const csrfCookie = page.headers.getSetCookie().find((c) => c.startsWith("mq_csrf="));
    expect(csrfCookie).toMatch(/HttpOnly/);
    expect(csrfCookie).toMatch(/SameSite=Lax/);
    const token = csrfIn(html);
    expect(token).toBe(v.jar.cookies.get("mq_csrf"));

    const email = `new${Math.random().toString(36).slice(2, 8)}@example.com`;
    const fields = { email, password: "a long enough passphrase", region: "US" };
    // No token, a wrong one, or the token without its cookie: 403, and no account.
    expect((await v.post("/signup", fields)).status).toBe(403);
    expect((await v.post("/signup", { ...fields, _csrf: "x".repeat(43) })).status).toBe(403);
    const stranger = visitor(v.services);
    expect((await stranger.post("/signup", { ...fields, _csrf: token })).status).toBe(403);
    expect(await v.services.store.userExists(email)).toBe(false);

    const ok = await v.post("/signup", { ...fields, _csrf: token, next: "/library" });
    expect(ok.status).toBe(302);
    expect(ok.headers.get("location")).toBe("/library");
    const session = ok.headers.getSetCookie().find((c) => c.startsWith("mq_session="));
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Lax/);
    expect(session).toMatch(/Path=\//);
    expect(session).not.toMatch(/Secure/);

    // Signed in: the header shows the account menu.
    const home = text(await (await v.get("/")).text());
    expect(home).toContain(`Account menu, profile ${email.split("@")[0]}`);
    expect(home).toContain("Sign out");
  });

  it("uses a __Host- Secure session cookie on https", async () => {
    const services = testServices(store, { publicUrl: "https://store.example" });
    const v = visitor(services, "https://store.example");
    const page = await v.get("/signup");
    expect(page.headers.getSetCookie().some((c) => c.startsWith("__Host-mq_csrf=") && /Secure/.test(c))).toBe(true);
    const _csrf = csrfIn(await page.text());
    const res = await v.post("/signup", { _csrf, email: "tls@example.com", password: "a long enough passphrase" });
    expect(res.status).toBe(302);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("__Host-mq_session="));
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Domain/i);
    // A plain `mq_session` cookie is not read on an https store.
    const token = v.jar.cookies.get("__Host-mq_session") ?? "";
    const planted = await services.store.signedIn();
    const other = visitor(services, "https://store.example");
    other.jar.cookies.set("mq_session", planted.token);
    expect(text(await (await other.get("/")).text())).toContain("Sign in");
    expect(token.length).toBeGreaterThan(20);
  });

  it("shows sign-in errors inline, throttles with a retry time, and rotates the session", async () => {
    const v = visitor();
    const _csrf = await v.token("/signup");
    await v.post("/signup", { _csrf, email: "me@example.com", password: "correct horse battery staple" });
    const first = v.jar.cookies.get("mq_session") as string;
    const csrf1 = await v.token("/");
    await v.post("/signout", { _csrf: csrf1 });
    expect(v.jar.cookies.has("mq_session")).toBe(false);
    expect(await v.services.commerce.accounts.authenticate(first)).toBeNull();

    const token = await v.token("/signin");
    const wrong = await v.post("/signin", { _csrf: token, email: "me@example.com", password: "nope nope nope" });
    expect(wrong.status).toBe(401);
    const wrongHtml = text(await wrong.text());
    expect(wrongHtml).toContain('role="alert"');
    expect(wrongHtml).toContain("Wrong e-mail or password.");
    expect(wrongHtml).toContain('value="me@example.com"');
    await v.post("/signin", { _csrf: token, email: "me@example.com", password: "nope" });
    await v.post("/signin", { _csrf: token, email: "me@example.com", password: "nope" });
    const throttled = await v.post("/signin", {
      _csrf: token,
      email: "me@example.com",
      password: "correct horse battery staple",
    });
    // Commerce's delay after three failures is 2^0 s (it doubles with each further one).
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("1");
    expect(text(await throttled.text())).toMatch(/wait 1 second and try again \(after \d+ \w+ \d{4}, \d\d:\d\d UTC\)/);

    // Sign-in replaces the session the browser had (once the delay has passed).
    v.services.store.clock.advance(2_000);
    const stale = await v.services.store.signedIn();
    v.jar.cookies.set("mq_session", stale.token);
    const ok = await v.post("/signin", {
      _csrf: token,
      email: "me@example.com",
      password: "correct horse battery staple",
    });
    expect(ok.status).toBe(302);
    expect(await v.services.commerce.accounts.authenticate(stale.token)).toBeNull();
    expect(v.jar.cookies.get("mq_session")).not.toBe(stale.token);
  });

  it("rejects a signed-in form post whose _csrf is not the session's", async () => {
    const v = await signedUp();
    const ok = await v.token("/library");
    expect(ok).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The double-submit cookie token is not accepted for a signed-in action.
    const cookieToken = v.jar.cookies.get("mq_csrf") ?? "y".repeat(43);
    for (const bad of ["", cookieToken, `${ok.slice(0, -1)}${ok.endsWith("A") ? "B" : "A"}`]) {
      const res = await v.post("/profiles", { _csrf: bad, intent: "create", name: "Kid" });
      expect(res.status).toBe(403);
    }
    expect((await v.post("/profiles", { _csrf: ok, intent: "create", name: "Guest" })).status).toBe(200);
    // Signing out needs the token too.
    expect((await v.post("/signout", { _csrf: cookieToken })).status).toBe(403);
  });

  it("sends signed-out visitors to sign in and back", async () => {
    const v = visitor();
    for (const path of ["/library", "/profiles", "/sell", "/checkout?title=t_orbit9&kind=rent&quality=HD"]) {
      const res = await v.get(path);
      expect(res.status, path).toBe(302);
      expect(res.headers.get("location"), path).toBe(`/signin?next=${encodeURIComponent(path)}`);
    }
    const page = text(await (await v.get("/signin?next=%2F%2Fevil.example")).text());
    expect(page).toContain('name="next" value="/"');
  });

  it("rents: title page → checkout (terms before paying) → payment → order paid → library → play → refund", async () => {
    const v = await signedUp();
    const title = text(await (await v.get("/titles/t_nightfall")).text());
    // The sale: list price struck through, with its end date.
    expect(title).toMatch(/<del class="list-price"><span class="visually-hidden">Was <\/span>\$3\.99<\/del>/);
    expect(title).toContain("$3.49");
    expect(title).toContain("Sale ends 15 Jan 2031, 12:00 UTC");
    expect(title).toContain("30 days to start, 48 hours to finish once started");

    const checkout = text(await (await v.get("/checkout?title=t_nightfall&kind=rent&quality=HD")).text());
    expect(checkout).toContain("Rental: 30 days to start, 48 hours to finish once started.");
    expect(checkout).toContain("Pay $3.49");
    expect(checkout).not.toContain("not ownership"); // renting is not buying
    const _csrf = csrfIn(checkout);

    const created = await v.post("/checkout", { _csrf, title: "t_nightfall", kind: "rent", quality: "HD" });
    expect(created.status).toBe(303);
    const payUrl = created.headers.get("location") ?? "";
    expect(payUrl).toMatch(/^http:\/\/store\.test\/checkout\/local\/cs_local_/);
    const [order] = await v.services.store.sql<{ id: string }>(
      `select id from orders where checkout_url = '${payUrl.replace(/'/g, "''")}'`,
    );
    const orderId = order?.id ?? "";

    const pending = text(await (await v.get(`/orders/${orderId}`)).text());
    expect(pending).toContain("Waiting for your payment to be confirmed");
    expect(await v.services.store.pay(payUrl)).toBe(`/orders/${orderId}`);
    const paid = text(await (await v.get(`/orders/${orderId}`)).text());
    expect(paid).toContain("Payment received");
    expect(paid).toContain("Nightfall Express");

    const library = text(await (await v.get("/library")).text());
    expect(library).toMatch(/Rented · start by \d+ \w+ \d{4}, \d\d:\d\d UTC/);
    expect(library).toContain("Refund");
    const libCsrf = csrfIn(library);

    // The title page now offers Play, and buying shows the rental's credit (rent-to-own).
    const owned = text(await (await v.get("/titles/t_nightfall")).text());
    expect(owned).toContain("You're renting this in HD");
    expect(owned).toContain("Play");
    expect(owned).toContain("Rent-to-own: your rental's $3.49 counts towards buying it");

    const refund = await v.post("/library", {
      _csrf: libCsrf,
      intent: "refund",
      entitlement_id: /data-entitlement="([^"]+)"/.exec(library)?.[1] ?? "",
    });
    expect(refund.status).toBe(200);
    expect(text(await refund.text())).toContain("Refunded $3.49");

    // Another order and play: refund is gone once played.
    const again = await v.post("/checkout", { _csrf, title: "t_saltwind", kind: "rent", quality: "SD" });
    await v.services.store.pay(again.headers.get("location") ?? "");
    const play = await v.post("/library", { _csrf: libCsrf, intent: "play", title_id: "t_saltwind" });
    const granted = text(await play.text());
    expect(granted).toContain("Playback authorised");
    // A grant costs nothing: the rental has not started and can still be refunded.
    expect(granted).toContain("watch window starts when the film starts playing");
    expect(granted).not.toContain("it has been played");
    // The media step's first key request starts it: then the window runs and the refund is gone.
    const { library: lib } = v.services.commerce;
    await lib.playbackStarted((await lib.authorizePlayback(await viewerOf(v), "t_saltwind")).token);
    const played = text(await (await v.get("/library")).text());
    expect(played).toMatch(/Rented · watch until \d+ \w+ \d{4}, \d\d:\d\d UTC/);
    expect(played).toContain("it has been played, so it cannot be refunded here");
  });

  it("asks a profile with a PIN for it at checkout", async () => {
    const services = testServices(store);
    const { token } = await services.store.signedIn({ pin: "2468" });
    const v = visitor(services);
    v.jar.cookies.set("mq_session", token);
    const page = text(await (await v.get("/checkout?title=t_orbit9&kind=buy&quality=HD")).text());
    expect(page).toContain("Profile PIN");
    expect(page).toContain("not ownership of it");
    const _csrf = csrfIn(page);
    const wrong = await v.post("/checkout", { _csrf, title: "t_orbit9", kind: "buy", quality: "HD", pin: "1111" });
    expect(wrong.status).toBe(403);
    expect(text(await wrong.text())).toContain("That PIN is not right.");
    const right = await v.post("/checkout", { _csrf, title: "t_orbit9", kind: "buy", quality: "HD", pin: "2468" });
    expect(right.status).toBe(303);
  });

  it("never shows a kids' profile a title above its limit: rows, title page, search, posters", async () => {
    const services = testServices(store);
    const { token } = await services.store.signedIn({ kids: "PG" });
    const v = visitor(services);
    v.jar.cookies.set("mq_session", token);
    const home = text(await (await v.get("/")).text());
    for (const r of ["t_paperkings", "t_ironvale", "t_quietroom", "t_cipher", "t_orbit9"])
      expect(home).not.toContain(`/titles/${r}"`);
    expect(home).toContain("/titles/t_lanterns");
    expect((await v.get("/titles/t_quietroom")).status).toBe(404);
    expect((await v.get("/posters/t_quietroom.svg")).status).toBe(404);
    const search = text(await (await v.get("/search?q=Ines%20Calder")).text());
    expect(search).not.toContain("Cipher & Smoke");
    expect(search).not.toContain("Nightfall Express"); // PG-13
    expect(text(await (await visitor().get("/search?q=Ines%20Calder")).text())).toContain("Cipher &amp; Smoke");
    // Leaving the kids' profile needs the PIN; the menu offers no seller dashboard.
    expect(home).not.toContain("Sell on Marquee");
    const profiles = text(await (await v.get("/profiles")).text());
    expect(profiles).toContain("Ask a grown-up for the PIN.");
    expect(profiles).not.toContain("Add a profile");
  });

  it("shows the seller dashboard to sellers and the review queue to admins only", async () => {
    const v = await signedUp();
    const become = text(await (await v.get("/sell")).text());
    expect(become).toContain("Become a seller");
    const _csrf = csrfIn(become);
    const res = await v.post("/sell", { _csrf, intent: "become", display_name: "Indie Films" });
    expect(res.status).toBe(302);
    const dash = text(await (await v.get("/sell")).text());
    expect(dash).toContain("Seller dashboard");
    expect(dash).toContain("Net to you");
    expect(dash).toContain("Set up payouts with Stripe");
    expect((await v.get("/admin/review")).status).toBe(403);

    const admin = visitor(v.services);
    admin.jar.cookies.set("mq_session", (await v.services.store.signedIn({ roles: ["viewer", "admin"] })).token);
    const queue = await admin.get("/admin/review");
    expect(queue.status).toBe(200);
    expect(text(await queue.text())).toContain("Nothing is waiting for review.");
  });
  it("keeps the watchlist in commerce: add from the title page, see it after a reload and on /watchlist, remove (no JavaScript)", async () => {
    const v = await signedUp();
    const page = text(await (await v.get("/titles/t_orbit9")).text());
    expect(page).toContain('action="/watchlist"');
    expect(page).toMatch(/aria-pressed="false"[^>]*>.*Add to watchlist/);
    expect(page).not.toContain('name="via"'); // only the hydrated page posts through a fetcher
    const _csrf = csrfIn(page);

    const added = await v.post("/watchlist", { _csrf, intent: "add", title_id: "t_orbit9", next: "/titles/t_orbit9" });
    expect(added.status).toBe(303);
    expect(added.headers.get("location")).toBe("/titles/t_orbit9");
    // Stored in Postgres, for this profile: a new request (a reload, a restart) reads it back.
    expect(await v.services.commerce.library.watchlist(await viewerOf(v))).toEqual(["t_orbit9"]);
    const again = text(await (await v.get("/titles/t_orbit9")).text());
    expect(again).toMatch(/aria-pressed="true"[^>]*>.*On your watchlist/);
    expect(again).toContain('name="intent" value="remove"');
    const other = text(await (await v.get("/titles/t_saltwind")).text());
    expect(other).toContain("Add to watchlist");

    // Adding twice keeps one entry; the list page shows it, linked from the header and the library.
    await v.post("/watchlist", { _csrf, intent: "add", title_id: "t_saltwind", next: "/watchlist" });
    await v.post("/watchlist", { _csrf, intent: "add", title_id: "t_saltwind", next: "/watchlist" });
    const list = text(await (await v.get("/watchlist")).text());
    expect(list).toContain("<h1>Your watchlist</h1>");
    expect(list).toContain('href="/titles/t_orbit9"');
    expect(list).toContain('href="/titles/t_saltwind"');
    expect(list.indexOf("t_saltwind")).toBeLessThan(list.indexOf("t_orbit9")); // newest first
    expect(list).toContain('href="/watchlist"'); // the header
    expect(text(await (await v.get("/library")).text())).toMatch(/<a [^>]*href="\/watchlist"[^>]*>your watchlist<\/a>/);

    const removed = await v.post("/watchlist", { _csrf, intent: "remove", title_id: "t_orbit9", next: "/watchlist" });
    expect(removed.status).toBe(303);
    expect(removed.headers.get("location")).toBe("/watchlist");
    const after = text(await (await v.get("/watchlist")).text());
    expect(after).not.toContain('href="/titles/t_orbit9"');
    expect(after).toContain('href="/titles/t_saltwind"');
    expect(text(await (await v.get("/titles/t_orbit9")).text())).toContain("Add to watchlist");
    await v.post("/watchlist", { _csrf, intent: "remove", title_id: "t_saltwind", next: "/watchlist" });
    expect(text(await (await v.get("/watchlist")).text())).toContain("Nothing on your watchlist yet");
  });

  it("answers a bad watchlist post with a 4xx and a reason, and checks its CSRF token", async () => {
    const v = await signedUp();
    const _csrf = await v.token("/watchlist");
    expect((await v.post("/watchlist", { intent: "add", title_id: "t_orbit9" })).status).toBe(403);
    const bad = await v.post("/watchlist", { _csrf, intent: "add", title_id: "../etc" });
    expect(bad.status).toBe(400);
    expect(text(await bad.text())).toContain("Unknown watchlist action.");
    expect((await v.post("/watchlist", { _csrf, intent: "wipe", title_id: "t_orbit9" })).status).toBe(400);
    const missing = await v.post("/watchlist", { _csrf, intent: "add", title_id: "t_nope" });
    expect(missing.status).toBe(404);
    expect(text(await missing.text())).toContain("No such title.");
    // A post from an off-site page may only send the browser back into the store.
    const offsite = await v.post("/watchlist", { _csrf, intent: "add", title_id: "t_orbit9", next: "//evil.example" });
    expect(offsite.headers.get("location")).toBe("/");
    expect(v.services.logged).toEqual([]);
  });

  it("sends a signed-out viewer who wants to keep a title to sign in, and back to the title", async () => {
    const v = visitor();
    const page = text(await (await v.get("/titles/t_orbit9")).text());
    expect(page).toMatch(/<a [^>]*href="\/signin\?next=%2Ftitles%2Ft_orbit9"[^>]*>.*Add to watchlist/);
    const _csrf = csrfIn(page);
    const post = await v.post("/watchlist", { _csrf, intent: "add", title_id: "t_orbit9", next: "/titles/t_orbit9" });
    expect(post.status).toBe(302);
    expect(post.headers.get("location")).toBe("/signin?next=%2Ftitles%2Ft_orbit9");
    const list = await v.get("/watchlist");
    expect(list.status).toBe(302);
    expect(list.headers.get("location")).toBe("/signin?next=%2Fwatchlist");
  });

  it("never lists a title above a kids' profile's limit on its watchlist", async () => {
    const services = testServices(store);
    const { token, viewer } = await services.store.signedIn({ kids: "PG" });
    const v = visitor(services);
    v.jar.cookies.set("mq_session", token);
    const _csrf = await v.token("/watchlist");
    const refused = await v.post("/watchlist", { _csrf, intent: "add", title_id: "t_quietroom", next: "/watchlist" });
    expect(refused.status).toBe(404);
    expect(await services.commerce.library.watchlist(viewer)).toEqual([]);
    expect((await v.post("/watchlist", { _csrf, intent: "add", title_id: "t_lanterns", next: "/" })).status).toBe(303);
    // A row for an R-rated title (saved before a limit was set, say) is still never shown.
    await services.store.sql(
      `insert into watchlist (profile_id, title_id) values ('${viewer.profile.id}', 't_quietroom')`,
    );
    const list = text(await (await v.get("/watchlist")).text());
    expect(list).toContain('href="/titles/t_lanterns"');
    expect(list).not.toContain("t_quietroom");
    expect(list).not.toContain("The Quiet Room");
    // The watchlist is the profile's: the grown-up's profile has its own, empty one.
    const [grownUp] = (await services.commerce.accounts.listProfiles(viewer.userId)).filter((p) => p.kind !== "kids");
    expect(grownUp).toBeDefined();
    expect(
      await services.commerce.library.watchlist({ ...viewer, profile: { ...viewer.profile, ...grownUp } }),
    ).toEqual([]);
  });

  it("states the platform fee commerce charges: the configured rate, then the seller's own", async () => {
    // A store configured with a 12.5 % fee says so before anyone becomes a seller.
    const other = await openTestStore({ platformFeeBps: 1250 });
    try {
      const v = await signedUp(testServices(other));
      const become = text(await (await v.get("/sell")).text());
      expect(become).toContain("Marquee keeps a 12.5 % platform fee on each sale");
      expect(become).not.toContain("15 %");
    } finally {
      await other.close();
    }
    const v = await signedUp();
    const become = text(await (await v.get("/sell")).text());
    expect(become).toContain("Marquee keeps a 15 % platform fee on each sale");
    const _csrf = csrfIn(become);
    expect((await v.post("/sell", { _csrf, intent: "become", display_name: "Fee Films" })).status).toBe(302);
    expect(text(await (await v.get("/sell")).text())).toContain("Platform fee (15 %)");
    // A seller with a negotiated rate sees theirs.
    const viewer = await viewerOf(v);
    await v.services.store.sql(`update sellers set fee_bps = 1000 where user_id = '${viewer.userId}'`);
    const dash = text(await (await v.get("/sell")).text());
    expect(dash).toContain("Platform fee (10 %)");
    expect(dash).not.toContain("15 %");
  });
});
