import { draftWithOffers, openSellerAccount } from "@marquee/commerce/testing";
import type { TitleMediaStatus } from "@marquee/media";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppHandler, csrfIn, hasBuild, openBuiltApp, text } from "./built-app";
import { type TestServices, type TestStore, testServices } from "./test-services";

/**
 * The seller's title page and the admin review page for a published title's edit, and checkout
 * started on another loopback name of a local store (issue 17: 6 and 15), in the built app
 * against the real commerce.
 */

describe.skipIf(!hasBuild)("storefront review and checkout pages (built app, real commerce)", () => {
  let handler: AppHandler;
  let store: TestStore;

  beforeAll(async () => {
    ({ handler, store } = await openBuiltApp());
  });
  afterAll(() => store?.close());

  /** A signed-in browser on `origin`: the session cookie, and form posts with the page's CSRF token. */
  const browser = (token: string, services: TestServices, origin = "http://store.test") => {
    const send = (path: string, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      headers.set("cookie", `mq_session=${token}`);
      return handler(new Request(`${origin}${path}`, { ...init, headers }), { services });
    };
    return {
      get: (path: string) => send(path),
      async post(page: string, fields: Record<string, string>, to = page) {
        const _csrf = csrfIn(await (await send(page)).text());
        return send(to, {
          method: "POST",
          body: new URLSearchParams({ _csrf, ...fields }),
          headers: { "content-type": "application/x-www-form-urlencoded" },
        });
      },
    };
  };

  it("a published title's edit: the seller sees it waiting, the admin sees what changed and approves that revision", async () => {
    const services = testServices(store);
    const { commerce } = store;
    const s = await store.signedIn();
    const seller = await openSellerAccount(commerce, s, "Studio Page");
    const draft = { title: "Cold Harbour", year: 2024, runtime_min: 101, age_rating: "R" as const };
    const title_id = await draftWithOffers(commerce, seller, draft, [
      { kind: "buy", quality: "HD", price_minor: 1200 },
    ]);
    await commerce.selling.submitForReview(seller, title_id);
    const a = await store.signedIn({ roles: ["admin"] });
    await commerce.selling.approve(a.viewer, title_id);

    // The seller edits it through the page: saved as changes waiting for review.
    const page = `/sell/titles/${title_id}`;
    const sellerBrowser = browser(s.token, services);
    const saved = await sellerBrowser.post(page, {
      intent: "details",
      title: "Cold Harbour",
      year: "2024",
      runtime_min: "101",
      age_rating: "G",
      genres: "",
      cast: "",
      director: "",
      synopsis: "",
      regions: "",
      release_date: "",
    });
    const savedHtml = text(await saved.text());
    expect(saved.status, savedHtml.slice(0, 300)).toBe(200);
    expect(savedHtml).toContain("Changes saved and sent for review");
    const sellerPage = text(await (await sellerBrowser.get(page)).text());
    expect(sellerPage).toContain("Changes waiting for review");
    expect(sellerPage).toContain("age rating");
    expect(sellerPage).toContain("Published: on sale now");
    // Viewers still get the approved version.
    expect((await commerce.catalog.title(title_id))?.age_rating).toBe("R");

    const adminBrowser = browser(a.token, services);
    const review = text(await (await adminBrowser.get("/admin/review")).text());
    expect(review).toContain("Changes to a published title");
    expect(review).toMatch(/Age rating<\/th><td>R<\/td><td><ins>G<\/ins>/);
    const revisionId = /name="revision_id" value="([^"]+)"/.exec(review)?.[1] ?? "";
    expect(revisionId).toMatch(/^rev_/);
    const approved = await adminBrowser.post("/admin/review", {
      intent: "approve",
      title_id,
      revision_id: revisionId,
    });
    expect(text(await approved.text())).toContain(`Changes published: ${title_id}.`);
    expect((await commerce.catalog.title(title_id))?.age_rating).toBe("G");
    expect(text(await (await sellerBrowser.get(page)).text())).not.toContain("Changes waiting for review");
  });

  it("the seller's title page shows each upload's transcode and lets a title be submitted only once its film is ready", async () => {
    const media = new Map<string, TitleMediaStatus>();
    const services = testServices(store, { media });
    const { commerce } = store;
    const s = await store.signedIn();
    const seller = await openSellerAccount(commerce, s, "Studio Uploads");
    const { title_id } = await commerce.selling.createTitle(seller, {
      title: "Reel Time",
      year: 2025,
      runtime_min: 88,
      age_rating: "PG",
    });
    const page = `/sell/titles/${title_id}`;
    const sellerBrowser = browser(s.token, services);
    const empty = text(await (await sellerBrowser.get(page)).text());
    expect(empty).toContain("Film, trailer and artwork");
    expect(empty).toMatch(/for="upload-film">Film<\/label><span class="muted">Not uploaded/);
    expect(empty).toContain("Upload the film first");
    expect(empty).toMatch(/<button type="submit" class="button primary" disabled="">Submit for review/);

    const at = new Date().toISOString();
    media.set(title_id, {
      title_id,
      film_ready: false,
      items: [
        { kind: "film", status: "transcoding", progress: 40, eta_s: 130, error: null, updated_at: at },
        {
          kind: "trailer",
          status: "failed",
          progress: null,
          eta_s: null,
          error: "the file has no video stream",
          updated_at: at,
        },
      ],
    });
    const working = text(await (await sellerBrowser.get(page)).text());
    expect(working).toContain("Transcoding 40% · about 2 min 10 s left");
    expect(working).toContain("Failed: the file has no video stream");

    media.set(title_id, {
      title_id,
      film_ready: true,
      items: [
        {
          kind: "film",
          status: "ready",
          progress: 100,
          eta_s: null,
          error: null,
          updated_at: at,
          rungs: [234, 360, 720],
        },
      ],
    });
    const ready = text(await (await sellerBrowser.get(page)).text());
    expect(ready).toContain("Ready · 234p 360p 720p");
    expect(ready).toMatch(/<button type="submit" class="button primary">Submit for review/);

    // Another seller's title: its media is not theirs to see.
    const other = await store.signedIn();
    await commerce.selling.becomeSeller(other.viewer, "Studio Other");
    expect((await browser(other.token, services).get(page)).status).toBe(404);
  });

  it("checkout started on 127.0.0.1 of a local store comes back to 127.0.0.1, signed in; cancelling frees the order", async () => {
    const services = testServices(store, { publicUrl: "http://localhost:3000" });
    const v = await store.signedIn();
    const local = browser(v.token, services, "http://127.0.0.1:3000");
    const cart = "title=t_saltwind&kind=rent&quality=HD";
    const res = await local.post(`/checkout?${cart}`, { title: "t_saltwind", kind: "rent", quality: "HD" });
    expect(res.status).toBe(303);
    const payAt = res.headers.get("location") ?? "";
    expect(payAt).toMatch(/^http:\/\/127\.0\.0\.1:3000\/checkout\/local\/cs_local_/);
    const session = await store.gateway.page(new URL(payAt).pathname.split("/").pop() ?? "");
    expect(session?.successUrl).toMatch(/^http:\/\/127\.0\.0\.1:3000\/orders\/ord_/);
    expect(session?.cancelUrl).toMatch(/^http:\/\/127\.0\.0\.1:3000\/checkout\?.*cancelled=1&order=ord_/);

    // Back without paying: the order is given up, and the page says nothing was charged.
    const back = new URL(session?.cancelUrl ?? "");
    const cancelled = text(await (await local.get(back.pathname + back.search)).text());
    expect(cancelled).toContain("Payment was cancelled; nothing was charged");
    const orderId = back.searchParams.get("order") ?? "";
    expect((await store.commerce.library.order(v.viewer, orderId)).status).toBe("expired");

    // A Host the store does not answer at gets the configured address, never its own.
    const forged = browser(v.token, services, "http://evil.example");
    const other = await forged.post("/checkout?title=t_orbit9&kind=rent&quality=HD", {
      title: "t_orbit9",
      kind: "rent",
      quality: "HD",
    });
    expect(other.headers.get("location") ?? "").toMatch(/^http:\/\/localhost:3000\/checkout\/local\//);
  });
});
