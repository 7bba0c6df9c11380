import type { Viewer } from "@marquee/commerce";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppHandler, hasBuild, openBuiltApp, text } from "./built-app";
import { TestPlayback } from "./test-playback";
import { type TestServices, type TestStore, testServices } from "./test-services";

/**
 * The player page (/watch/:id) and the title page's Play and trailer, in the built app against
 * the real commerce: what each viewer is told when a film may not play (instead of a broken
 * player), and that a film that may play gets the player with its signed URLs. The player itself
 * plays in Chromium in player.browser.test.ts.
 */
describe.skipIf(!hasBuild)("player pages (built app, real commerce)", () => {
  let handler: AppHandler;
  let store: TestStore;

  beforeAll(async () => {
    ({ handler, store } = await openBuiltApp());
  });
  afterAll(() => store?.close());

  const get = (services: TestServices, path: string, token?: string) =>
    handler(new Request(`http://store.test${path}`, token ? { headers: { cookie: `mq_session=${token}` } } : {}), {
      services,
    });

  /** Buys (or rents) a title in SD through the real checkout and the local payment page. */
  async function acquire(viewer: Viewer, titleId: string, kind: "buy" | "rent" = "buy"): Promise<void> {
    const order = await store.commerce.checkout.create(
      viewer,
      { items: [{ title_id: titleId, kind, quality: "SD" }] },
      { successUrl: "http://store.test/orders/x", cancelUrl: "http://store.test/titles/x" },
    );
    await store.pay(order.checkout_url as string);
  }

  it("sends a signed-out viewer to sign in and back to the film", async () => {
    const res = await get(testServices(store), "/watch/t_saltwind");
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`/signin?next=${encodeURIComponent("/watch/t_saltwind")}`);
  });

  it("gives a viewer who owns the film the player, its signed stream and where to resume; Play on the title page and in the library goes there", async () => {
    const playback = new TestPlayback(store, { positions: new Map([["t_saltwind", 754]]) });
    const services = testServices(store, { playback });
    const { token, viewer } = await store.signedIn();
    await acquire(viewer, "t_saltwind");

    const res = await get(services, "/watch/t_saltwind", token);
    expect(res.status).toBe(200);
    // Signed URLs are this viewer's: no cache may keep the page.
    expect(res.headers.get("cache-control")).toContain("no-store");
    const html = text(await res.text());
    expect(html).toContain('data-player="film"');
    expect(html).toContain("Back");
    expect(html).toMatch(/\/media\/s\/[A-Za-z0-9_-]+\/master\.m3u8/);
    expect(html).toMatch(/\/media\/heartbeat\/[A-Za-z0-9_-]+/);
    expect(html).toMatch(/resume_at_s\\?",754/);
    // video.js's stylesheet is linked, not inlined (the CSP allows no inline styles).
    expect(html).toMatch(/<link rel="stylesheet" href="\/assets\/video-js\.min-[^"]+\.css"/);
    expect(html).not.toMatch(/\sstyle="/);
    // The stream was started for this viewer and title.
    expect([...playback.streams.values()]).toEqual([
      expect.objectContaining({ userId: viewer.userId, titleId: "t_saltwind" }),
    ]);

    const title = await (await get(services, "/titles/t_saltwind", token)).text();
    expect(title).toMatch(/<a[^>]+href="\/watch\/t_saltwind"[^>]*>.*Play/);
    const library = await (await get(services, "/library", token)).text();
    expect(library).toMatch(/<a[^>]+href="\/watch\/t_saltwind"[^>]*>.*Play/);
  });

  it("tells a viewer who has not bought the film so, with the way to the offers, not a player", async () => {
    const services = testServices(store);
    const { token } = await store.signedIn();
    const res = await get(services, "/watch/t_orbit9", token);
    expect(res.status).toBe(403);
    const html = text(await res.text());
    expect(html).toContain("You haven't bought or rented Orbit Nine");
    expect(html).toContain('href="/titles/t_orbit9#offers-heading"');
    expect(html).toContain("See ways to watch");
    expect(html).not.toContain('data-player="film"');
    expect(services.media.streams.size).toBe(0);
  });

  it("explains commerce's own refusals too, when media passes them on without a reason", async () => {
    // As media's startFilm does: commerce's authorizePlayback decides, its AppError goes through as is.
    const services = testServices(store);
    services.media.startFilm = (viewer, id) => store.commerce.library.authorizePlayback(viewer, id) as never;
    const { token } = await store.signedIn();
    const notBought = await get(services, "/watch/t_orbit9", token);
    expect(notBought.status).toBe(403);
    expect(text(await notBought.text())).toContain("You haven't bought or rented Orbit Nine");
    // A kids' profile: "no such title" for one above its limit, said without confirming it exists.
    const kids = await store.signedIn({ kids: "PG" });
    for (const id of ["t_paperkings", "t_nope"]) {
      const res = await get(services, `/watch/${id}`, kids.token);
      expect(res.status, id).toBe(404);
      const html = text(await res.text());
      expect(html, id).toContain("isn't available on this profile");
      expect(html, id).not.toContain("Paper Kings");
    }
    // A title on sale whose film media does not have: said, not a 404 page.
    services.media.startFilm = async () => {
      throw Object.assign(new Error("This film has no video yet"), { code: "not_found", status: 404 });
    };
    const noVideo = await get(services, "/watch/t_orbit9", token);
    expect(noVideo.status).toBe(404);
    const said = text(await noVideo.text());
    expect(said).toContain("Orbit Nine can't play right now");
    expect(said).toContain("This film has no video yet.");
    // A media 409 without a reason is the film still being prepared.
    services.media.startFilm = async () => {
      throw Object.assign(new Error("This film is still being prepared"), { code: "conflict", status: 409 });
    };
    expect(text(await (await get(services, "/watch/t_orbit9", token)).text())).toContain(
      "This film is being prepared — check back in a few minutes",
    );
  });

  it("says a film is being prepared while it transcodes", async () => {
    const services = testServices(store, { playback: new TestPlayback(store, { preparing: ["t_bluehour"] }) });
    const { token, viewer } = await store.signedIn();
    await acquire(viewer, "t_bluehour");
    const res = await get(services, "/watch/t_bluehour", token);
    expect(res.status).toBe(409);
    const html = text(await res.text());
    expect(html).toContain("This film is being prepared — check back in a few minutes");
    expect(html).not.toContain('data-player="film"');
  });

  it("refuses a fourth stream on one account with the stream limit, and a rental's second device", async () => {
    const services = testServices(store, { playback: new TestPlayback(store, { streamLimit: 3 }) });
    const { token, viewer } = await store.signedIn();
    await acquire(viewer, "t_cipher");
    for (let i = 0; i < 3; i++) expect((await get(services, "/watch/t_cipher", token)).status).toBe(200);
    const fourth = await get(services, "/watch/t_cipher", token);
    expect(fourth.status).toBe(409);
    const html = text(await fourth.text());
    expect(html).toContain("You're already watching on 3 devices");
    expect(html).toContain("Stop watching on one of them, then try again here.");
    expect(html).not.toContain('data-player="film"');

    const renter = await store.signedIn();
    await acquire(renter.viewer, "t_starlight", "rent");
    expect((await get(services, "/watch/t_starlight", renter.token)).status).toBe(200);
    const second = await get(services, "/watch/t_starlight", renter.token);
    expect(second.status).toBe(409);
    expect(text(await second.text())).toContain("This rental is already playing on another device");
  });

  it("tells a kids' profile that a film above its limit is not for this profile", async () => {
    const services = testServices(store);
    const { token } = await store.signedIn({ kids: "PG" });
    const res = await get(services, "/watch/t_paperkings", token);
    expect(res.status).toBe(403);
    const html = text(await res.text());
    expect(html).toContain("isn't available on this profile");
    expect(html).toContain('href="/profiles"');
    // Nothing about the R-rated title leaks to the kids' profile.
    expect(html).not.toContain("Paper Kings");
  });

  it("answers 404 for a title that does not exist, and for a malformed id", async () => {
    const services = testServices(store);
    const { token } = await store.signedIn();
    expect((await get(services, "/watch/t_nope", token)).status).toBe(404);
    expect((await get(services, "/watch/not%20an%20id", token)).status).toBe(404);
  });

  it("shows Watch trailer when the trailer is ready, Trailer preparing while it transcodes, and nothing otherwise", async () => {
    const trailers = new Map([
      ["t_orbit9", "ready" as const],
      ["t_nightfall", "preparing" as const],
      ["t_ironvale", "failed" as const],
    ]);
    const services = testServices(store, { playback: new TestPlayback(store, { trailers }) });
    const ready = text(await (await get(services, "/titles/t_orbit9")).text());
    expect(ready).toContain("Watch trailer");
    expect(ready).toContain("/media/trailers/t_orbit9/master.m3u8");
    expect(ready).not.toContain("Trailer preparing");
    const preparing = text(await (await get(services, "/titles/t_nightfall")).text());
    expect(preparing).toContain("Trailer preparing");
    expect(preparing).not.toContain("Watch trailer");
    for (const id of ["t_ironvale", "t_saltwind"]) {
      const html = await (await get(services, `/titles/${id}`)).text();
      expect(html, id).not.toContain("Watch trailer");
      expect(html, id).not.toContain("Trailer preparing");
    }
  });

  it("still shows the title page when the trailer cannot be looked up", async () => {
    const services = testServices(store);
    // Thrown at once, not even a rejected promise (as a missing or broken client would).
    services.media.trailer = () => {
      throw new Error("media is down");
    };
    const res = await get(services, "/titles/t_orbit9");
    expect(res.status).toBe(200);
    expect(await res.text()).not.toContain("Watch trailer");
    expect(services.logged).toEqual([expect.objectContaining({ level: "warn", msg: "trailer unavailable" })]);
  });

  it("lets the player work under the CSP: MSE blobs, VHS's blob workers, video.js's font, and a media edge when there is one", async () => {
    const directives = (csp: string | null) =>
      new Map(
        (csp ?? "")
          .split(";")
          .map((d) => d.trim().split(/\s+/) as [string, ...string[]])
          .map(([n, ...v]) => [n, v]),
      );
    const own = directives((await get(testServices(store), "/titles/t_orbit9")).headers.get("content-security-policy"));
    expect(own.get("media-src")).toEqual(["'self'", "blob:"]);
    expect(own.get("worker-src")).toEqual(["'self'", "blob:"]);
    expect(own.get("font-src")).toEqual(["'self'", "data:"]);
    expect(own.get("connect-src")).toEqual(["'self'"]);
    expect(own.get("style-src")).toEqual(["'self'"]);
    const services = testServices(store);
    services.media.origin = "https://edge.example:8443";
    const edge = directives((await get(services, "/titles/t_orbit9")).headers.get("content-security-policy"));
    for (const d of ["connect-src", "media-src", "img-src"])
      expect(edge.get(d), d).toContain("https://edge.example:8443");
    expect(edge.get("script-src")).not.toContain("https://edge.example:8443");
  });

  // Last: it moves the store's clock two days on.
  it("tells a viewer whose rental ran out that it has ended, with the way to rent it again", async () => {
    const services = testServices(store);
    const { token, viewer } = await store.signedIn();
    await acquire(viewer, "t_lanterns", "rent");
    const { library } = store.commerce;
    await library.playbackStarted((await library.authorizePlayback(viewer, "t_lanterns")).token);
    store.clock.advance(49 * 3600_000);
    const res = await get(services, "/watch/t_lanterns", token);
    expect(res.status).toBe(403);
    const html = text(await res.text());
    expect(html).toContain("Your rental of The Lantern Keepers has ended");
    expect(html).toContain('href="/titles/t_lanterns#offers-heading"');
    expect(html).not.toContain('data-player="film"');
  });
});
