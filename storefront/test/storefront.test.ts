import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type AppHandler, BUILD_PATH, hasBuild, openBuiltApp } from "./built-app";
import { type TestServices, type TestStore, testServices } from "./test-services";

/**
 * Calls the built Remix app (storefront/build/server) with Fetch Requests and test services
 * (the real commerce on an in-memory PGlite, a stand-in for serving).
 * `npm test` builds the storefront first; a local run without a build skips, CI fails.
 */
const inCI = process.env.CI === "true";

it.runIf(inCI)("has a storefront build to test under CI", () => {
  expect(hasBuild, `missing ${BUILD_PATH}: run \`npm run build -w @marquee/storefront\``).toBe(true);
});

describe.skipIf(!hasBuild)("storefront (built app, test services)", () => {
  let handler: AppHandler;
  let services: TestServices;
  let store: TestStore;

  beforeAll(async () => {
    ({ handler, store } = await openBuiltApp());
  });

  afterAll(() => store?.close());

  afterEach(() => {
    vi.restoreAllMocks();
  });

  const get = (path: string, headers: Record<string, string> = {}, s?: TestServices) => {
    services = s ?? services ?? testServices(store);
    return handler(new Request(`http://store.test${path}`, { headers }), { services });
  };

  const fresh = () => {
    services = testServices(store);
    return services;
  };

  const anonCookie = (res: Response) => res.headers.getSetCookie().find((c) => c.startsWith("mq_anon="));

  it("renders home with each row's title, reason and cards, in serving's order", async () => {
    const s = fresh();
    const res = await get("/", {}, s);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    const order = ["Trending now", "Top picks for you", "Because you watched Nightfall Express"].map((t) =>
      html.indexOf(`class="shelf-title">${t}</h2>`),
    );
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(html).toContain("Popular on Marquee this week");
    expect(html).toContain('href="/titles/t_orbit9"');
    expect(html).toContain('src="/posters/t_orbit9.svg"');
    expect(html).toContain("Orbit Nine");
    expect(html).toMatch(/from <!-- -->\$2\.99/);
    expect(html).toContain('data-mq-row="top-picks"');
    expect(html).toContain('data-mq-model="cooc@fake-1"');
    // One catalogue call for all rows.
    expect(s.calls.cards).toHaveLength(1);
    expect(s.logged).toEqual([]);
  });

  it("sets an anonymous id cookie on the first visit and keeps it on the next", async () => {
    const s = fresh();
    const first = await get("/", {}, s);
    const cookie = anonCookie(first);
    expect(cookie).toBeDefined();
    const id = /^mq_anon=(a_[0-9a-z]{20});/.exec(cookie ?? "")?.[1];
    expect(id).toBeDefined();
    expect(cookie).toContain("Path=/");
    expect(cookie).toContain("SameSite=Lax");
    expect(cookie).toContain("Max-Age=31536000");
    expect(cookie).not.toMatch(/HttpOnly/i);
    expect(cookie).not.toMatch(/Secure/i);
    // Root and page loaders agree on the one new id.
    expect(s.calls.rows).toEqual([id]);

    const second = await get("/", { cookie: `other=1; mq_anon=${id}` }, s);
    expect(second.status).toBe(200);
    expect(anonCookie(second)).toBeUndefined();
    expect(s.calls.rows).toEqual([id, id]);
  });

  it("replaces a malformed cookie and marks it Secure behind https", async () => {
    const res = await get("/", { cookie: "mq_anon=<script>", "x-forwarded-proto": "https" }, fresh());
    const cookie = anonCookie(res);
    expect(cookie).toMatch(/^mq_anon=a_[0-9a-z]{20};/);
    expect(cookie).toContain("Secure");
  });

  it("sets the cookie on single-fetch data requests too", async () => {
    const res = await get("/_root.data", {}, fresh());
    expect(res.status).toBe(200);
    expect(anonCookie(res)).toBeDefined();
  });

  it("shows an empty state when serving has no rows", async () => {
    const res = await get("/", {}, testServices(store, { rows: [] }));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("nothing to show here yet");
  });

  it("renders a title page with details, offers and more like this", async () => {
    const s = fresh();
    const res = await get("/titles/t_orbit9", { cookie: "mq_anon=a_abcdefghij0123456789" }, s);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("<title>Orbit Nine (2023) — Marquee</title>");
    expect(html).toContain("2h 12m");
    expect(html).toContain("Priya Raman");
    expect(html).toContain("Jonah Reyes, Elle Park, Viktor Hale");
    expect(html).toContain("derelict station");
    for (const price of ["$8.19", "$13.19", "$18.19", "$3.01", "$4.01", "$5.51"]) expect(html).toContain(price);
    // Rental terms come from the offer, shown before checkout.
    expect(html).toContain("14 days to start, 72 hours to finish once started");
    expect(html).toContain("buying a licence to watch this film, not ownership of it");
    expect(html).toContain('href="/checkout?title=t_orbit9&amp;kind=rent&amp;quality=HD"');
    expect(html).toContain("Add to watchlist");
    expect(html).toContain("Not interested");
    expect(html).toContain("More like this");
    expect(html).not.toContain('href="/titles/t_orbit9"');
    expect(s.calls.similar).toEqual([{ itemId: "t_orbit9", actorId: "a_abcdefghij0123456789" }]);
  });

  it("still shows a title when similar titles fail, and logs a warning", async () => {
    const s = fresh();
    s.serving.similar = async () => {
      throw new Error("serving down");
    };
    const res = await get("/titles/t_orbit9", {}, s);
    expect(res.status).toBe(200);
    expect(await res.text()).not.toContain("More like this");
    expect(s.logged.map((l) => l.level)).toEqual(["warn"]);
  });

  it("answers 404 with a friendly page for an unknown title or path", async () => {
    for (const path of ["/titles/t_nope", "/titles/..%2Fetc", "/no/such/page"]) {
      const res = await get(path, {}, fresh());
      expect(res.status, path).toBe(404);
      const html = await res.text();
      expect(html, path).toMatch(/isn&#x27;t in our catalogue|couldn&#x27;t find that page/);
      expect(services.logged, path).toEqual([]);
    }
  });

  it("shows a friendly error (and logs, never console) when serving fails", async () => {
    const consoleError = vi.spyOn(console, "error").mockImplementation(() => {});
    const s = fresh();
    s.serving.rows = async () => {
      throw new Error("secret internal detail");
    };
    const res = await get("/", {}, s);
    expect(res.status).toBe(500);
    const html = await res.text();
    expect(html).toContain("Something went wrong");
    expect(html).not.toContain("secret internal detail");
    expect(s.logged.map((l) => l.level)).toContain("error");
    expect(consoleError).not.toHaveBeenCalled();
  });

  it("serves posters as cacheable SVG at /posters/<id>.svg", async () => {
    const res = await get("/posters/t_orbit9.svg", {}, fresh());
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/svg+xml");
    expect(res.headers.get("cache-control")).toBe("public, max-age=86400");
    expect(await res.text()).toMatch(/^<svg[\s>]/);

    const missing = await get("/posters/t_nope.svg", {}, fresh());
    expect(missing.status).toBe(404);
  });
  it("offers no trailer it cannot play, and only the player records a trailer_play", async () => {
    // This title has no trailer (media says none): no button, no word of one.
    const html = await (await get("/titles/t_orbit9", {}, fresh())).text();
    // (What the page shows: its scripts and preloads name the trailer's code and empty data.)
    const shown = html.replace(/<script\b[\s\S]*?<\/script>/g, "").replace(/<link\b[^>]*>/g, "");
    expect(shown).not.toMatch(/trailer/i);
    // The event feeds the models: only the player sends it, once a trailer really plays
    // (player.browser.test.ts); no page's own code does.
    const assets = fileURLToPath(new URL("../build/client/assets/", import.meta.url));
    const sources = readdirSync(assets).filter((f) => f.endsWith(".js"));
    expect(sources.length).toBeGreaterThan(0);
    const sending = sources.filter((f) => readFileSync(`${assets}${f}`, "utf8").includes("trailer_play"));
    expect(sending.map((f) => f.replace(/-[\w-]{8}\.js$/, ""))).toEqual(["player.client"]);
  });

  /** The Content-Security-Policy's directives, by name. */
  const directives = (csp: string | null) =>
    new Map(
      (csp ?? "")
        .split(";")
        .map((d) => d.trim().split(/\s+/))
        .filter((d) => d[0])
        .map(([name, ...values]) => [name as string, values]),
    );

  it("sends a nonce-based CSP, no framing, nosniff and the referrer policy with every page", async () => {
    const nonces = new Set<string>();
    for (const path of ["/", "/titles/t_orbit9", "/signin", "/search?q=night", "/no/such/page"]) {
      const res = await get(path, {}, fresh());
      const csp = directives(res.headers.get("content-security-policy"));
      const script = csp.get("script-src") ?? [];
      const nonce = /^'nonce-([A-Za-z0-9+/=]{22,})'$/.exec(script.find((v) => v.startsWith("'nonce-")) ?? "")?.[1];
      expect(nonce, path).toBeDefined();
      nonces.add(nonce as string);
      expect(script, path).not.toContain("'unsafe-inline'");
      expect(script, path).not.toContain("'unsafe-eval'");
      expect(csp.get("frame-ancestors"), path).toEqual(["'none'"]);
      expect(csp.get("object-src"), path).toEqual(["'none'"]);
      expect(csp.get("base-uri"), path).toEqual(["'none'"]);
      expect(csp.get("style-src"), path).toEqual(["'self'"]);
      expect(res.headers.get("x-frame-options"), path).toBe("DENY");
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(res.headers.get("referrer-policy"), path).toBe("strict-origin-when-cross-origin");
      // Plain-http local dev: no HSTS.
      expect(res.headers.get("strict-transport-security"), path).toBeNull();
      const html = await res.text();
      // Every script Remix writes carries this response's nonce; no inline styles to allow.
      const scripts = html.match(/<script\b[^>]*>/g) ?? [];
      expect(scripts.length, path).toBeGreaterThan(0);
      for (const tag of scripts) expect(tag, path).toContain(`nonce="${nonce}"`);
      expect(html, path).not.toMatch(/\sstyle="/);
    }
    expect(nonces.size).toBe(5);
  });

  it("pins https with HSTS when the store is served over https, and sets nosniff on data requests", async () => {
    const res = await get("/", {}, testServices(store, { publicUrl: "https://store.example" }));
    expect(res.headers.get("strict-transport-security")).toBe("max-age=31536000; includeSubDomains");
    const data = await get("/_root.data", {}, fresh());
    expect(data.headers.get("x-content-type-options")).toBe("nosniff");
    expect(data.headers.get("referrer-policy")).toBe("strict-origin-when-cross-origin");
  });
});
