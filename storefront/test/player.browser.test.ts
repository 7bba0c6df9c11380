import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Viewer } from "@marquee/commerce";
import { type Browser, chromium, type Page, type Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasBuild } from "./built-app";
import { hasFfmpeg, makeHlsFixture } from "./hls-fixture";
import { type StartedServer, startServer } from "./serve";
import { TestPlayback } from "./test-playback";
import { openTestStore, type TestStore, testServices } from "./test-services";

/**
 * The player in Chromium (Debian's, with playwright-core, launched as e2e/'s browser tests do):
 * the built storefront serves /watch/:id and the title page, TestPlayback serves a real
 * ffmpeg-made HLS title (two H.264/AAC rungs, AES-128) through a signed, renewing origin, and
 * the collector keeps what the page posts. Chromium's MSE plays H.264/AAC: VHS transmuxes the
 * MPEG-TS segments to fMP4 in a worker.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const available = existsSync(CHROMIUM) && hasBuild && hasFfmpeg;
if (!available && process.env.CI === "true") {
  throw new Error(`player browser test needs ${CHROMIUM}, ffmpeg and the storefront build under CI=true`);
}

interface PostedEvent {
  type: string;
  item_id?: string;
  payload?: Record<string, unknown>;
}

describe.runIf(available)("the player in Chromium (built storefront, HLS fixture)", () => {
  let dir: string;
  let store: TestStore;
  let playback: TestPlayback;
  let server: StartedServer;
  let browser: Browser;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "marquee-player-"));
    const fixture = await makeHlsFixture(path.join(dir, "hls"), 90);
    store = await openTestStore();
    playback = new TestPlayback(store, { fixture, trailers: new Map([["t_orbit9", "ready"]]) });
    server = await startServer({ services: testServices(store, { playback }) });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--mute-audio",
      ],
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Script errors and CSP violations of a page (read back before it navigates away). */
  async function watch(page: Page): Promise<{ errors: string[]; violations: () => Promise<string[]> }> {
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.addInitScript(() => {
      const w = window as unknown as { __csp: string[] };
      w.__csp = [];
      document.addEventListener("securitypolicyviolation", (e) => {
        w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    return { errors, violations: () => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp) };
  }

  /** Every event the page posts to the collector, as posted. */
  function posted(page: Page): PostedEvent[] {
    const seen: PostedEvent[] = [];
    page.on("request", (r: Request) => {
      if (!r.url().endsWith("/v1/events") || r.method() !== "POST") return;
      seen.push(...((JSON.parse(r.postData() ?? "{}") as { events?: PostedEvent[] }).events ?? []));
    });
    return seen;
  }

  const eventPosted = (page: Page, type: string) =>
    page.waitForRequest(
      (r) => r.url().endsWith("/v1/events") && r.method() === "POST" && (r.postData() ?? "").includes(`"${type}"`),
      { timeout: 20_000 },
    );

  const currentTime = (page: Page, scope = "") =>
    page.evaluate((s) => (document.querySelector(`${s} video`) as HTMLVideoElement | null)?.currentTime ?? -1, scope);

  async function startPlaying(page: Page, scope = ""): Promise<void> {
    await page.locator(`${scope} .video-js`).first().waitFor();
    const paused = () =>
      page.evaluate((s) => (document.querySelector(`${s} video`) as HTMLVideoElement | null)?.paused ?? true, scope);
    // The player asks to autoplay; Chromium may refuse with sound before a gesture, and then
    // the viewer presses play. Either way it plays.
    await page
      .waitForFunction(
        (s) => (document.querySelector(`${s} video`) as HTMLVideoElement | null)?.paused === false,
        scope,
        {
          timeout: 3000,
        },
      )
      .catch(() => {});
    if (await paused()) {
      await page
        .locator(`${scope} .vjs-big-play-button`)
        .click({ timeout: 5000 })
        .catch(async (err: unknown) => {
          if (await paused()) throw err;
        });
    }
  }

  /** The control bar fades while nobody moves: a move over the player brings it back. */
  async function wake(page: Page): Promise<void> {
    await page.mouse.move(300, 300);
    await page.mouse.move(320, 310);
    await page.locator(".video-js.vjs-user-active").waitFor();
  }

  async function signedInPage(): Promise<{ page: Page; viewer: Viewer }> {
    const { token, viewer } = await store.signedIn();
    const context = await browser.newContext();
    await context.addCookies([{ name: "mq_session", value: token, url: server.url }]);
    return { page: await context.newPage(), viewer };
  }

  it("plays a bought film: time advances, play_start/play_progress reach the collector, the heartbeat saves the position and renews the token, keys seek and the film goes on under the new token", async () => {
    const { page, viewer } = await signedInPage();
    const order = await store.commerce.checkout.create(
      viewer,
      { items: [{ title_id: "t_saltwind", kind: "buy", quality: "HD" }] },
      { successUrl: `${server.url}/orders/x`, cancelUrl: `${server.url}/titles/t_saltwind` },
    );
    await store.pay(order.checkout_url as string);
    const seen = posted(page);
    const w = await watch(page);

    // From the title page's Play to the full-window player.
    await page.goto(`${server.url}/titles/t_saltwind`);
    const started = eventPosted(page, "play_start");
    await page.getByRole("link", { name: /Play/ }).click();
    await page.waitForURL(`${server.url}/watch/t_saltwind`);
    await startPlaying(page);
    await page.waitForFunction(() => (document.querySelector("video")?.currentTime ?? 0) > 2, null, {
      timeout: 30_000,
    });
    await started;
    const [first] = playback.streams.values();
    const firstToken = first?.token ?? "";
    expect(playback.requests.some((r) => r.token === firstToken && r.file === "key.bin" && r.status === 200)).toBe(
      true,
    );

    // The quality menu lists Auto and both rungs; captions are offered.
    const quality = page.locator(".vjs-quality-button");
    await expect.poll(() => quality.evaluate((el) => el.classList.contains("vjs-hidden"))).toBe(false);
    const rungs = await quality.locator(".vjs-menu-item-text").allTextContents();
    expect(rungs).toEqual(["Auto", "360p", "180p"]);
    // Picking a rung plays only it; Auto gives the choice back to VHS.
    await wake(page);
    await quality.locator("button").first().click();
    await quality.getByRole("menuitemradio", { name: "180p" }).click();
    await expect.poll(() => quality.locator(".vjs-icon-placeholder").textContent()).toBe("180p");
    const item = (label: string) => quality.locator(".vjs-menu-item", { hasText: label });
    expect(await item("180p").getAttribute("aria-checked")).toBe("true");
    expect(await item("Auto").getAttribute("aria-checked")).toBe("false");
    await wake(page);
    await quality.locator("button").first().click();
    await quality.getByRole("menuitemradio", { name: /^Auto/ }).click();
    await expect.poll(() => quality.locator(".vjs-icon-placeholder").textContent()).toMatch(/^Auto/);
    const captions = await page.locator(".vjs-subs-caps-button .vjs-menu-item-text").allTextContents();
    expect(
      captions.some((t) => t.startsWith("English")),
      captions.join(" | "),
    ).toBe(true);

    // Scrubbing thumbnails: hovering the progress bar shows a tile of the sprite.
    await wake(page);
    await page.locator(".vjs-progress-holder").hover({ position: { x: 60, y: 2 } });
    const thumb = page.locator(".vjs-thumbnail");
    await expect.poll(() => thumb.evaluate((el) => !(el as HTMLElement).hidden)).toBe(true);
    expect(await thumb.evaluate((el) => (el as HTMLElement).style.backgroundImage)).toContain("sprite.jpg");

    // k pauses: play_progress goes to the collector with position and duration, and the
    // heartbeat saves the position and renews the token (the old one stops working).
    const progress = eventPosted(page, "play_progress");
    await page.locator("body").press("k");
    const body = JSON.parse((await progress).postData() ?? "{}") as { events: PostedEvent[] };
    const event = body.events.find((e) => e.type === "play_progress");
    expect(event?.item_id).toBe("t_saltwind");
    expect(event?.payload?.position_s).toBeGreaterThan(2);
    expect(event?.payload?.duration_s).toBe(90);
    // (The first beat went out as playback started, from 0.)
    expect(playback.heartbeats[0]).toEqual(expect.objectContaining({ position_s: 0, status: 200 }));
    const pausedBeat = () => playback.heartbeats.find((h) => h.status === 200 && Number(h.position_s) > 2);
    await expect.poll(pausedBeat).toBeDefined();
    const beat = pausedBeat();
    expect(playback.positions.get("t_saltwind")).toBe(beat?.position_s);
    const renewed = [...playback.streams.values()][0]?.token ?? "";
    expect(renewed).not.toBe(firstToken);

    // The old token is refused from two seconds after the renewal (TestPlayback's grace for
    // requests in flight); then → six times: a minute on, past anything buffered, so the
    // segments must come under the new token.
    await page.waitForTimeout(2500);
    for (let i = 0; i < 6; i++) await page.locator("body").press("ArrowRight");
    expect(await currentTime(page)).toBeGreaterThan(60);
    await page.locator("body").press("k");
    await page.waitForFunction(() => (document.querySelector("video")?.currentTime ?? 0) > 64, null, {
      timeout: 30_000,
    });
    const after = playback.requests.filter((r) => r.token === renewed && r.status === 200 && r.file.endsWith(".ts"));
    expect(after.length).toBeGreaterThan(0);
    const refused = playback.requests.filter((r) => r.status === 403);
    expect(refused, JSON.stringify({ refused, firstToken, renewed, beats: playback.heartbeats })).toEqual([]);
    // Each heartbeat went to the newest token's URL (an old one is refused here soon after).
    expect(playback.heartbeats.map((h) => h.status)).toEqual(playback.heartbeats.map(() => 200));

    // m mutes (and unmutes).
    await page.locator("body").press("m");
    expect(await page.evaluate(() => document.querySelector("video")?.muted)).toBe(true);
    await page.locator("body").press("m");
    expect(await page.evaluate(() => document.querySelector("video")?.muted)).toBe(false);

    // To the end (→ stops at the duration): play_complete with the time watched, and the last
    // heartbeat says `ended`, which frees the stream's slot.
    const complete = eventPosted(page, "play_complete");
    for (let i = 0; i < 3; i++) await page.locator("body").press("ArrowRight");
    const done = JSON.parse((await complete).postData() ?? "{}") as { events: PostedEvent[] };
    const end = done.events.find((e) => e.type === "play_complete");
    expect(end?.item_id).toBe("t_saltwind");
    expect(end?.payload?.duration_s).toBe(90);
    // Watched, not skipped: a few seconds of play, far less than the minute jumped over.
    expect(Number(end?.payload?.watched_s)).toBeGreaterThan(3);
    expect(Number(end?.payload?.watched_s)).toBeLessThan(30);
    await expect.poll(() => playback.heartbeats.at(-1)).toEqual(expect.objectContaining({ ended: true, status: 204 }));
    expect(playback.streams.size).toBe(0);

    // What reached the collector: one play_start, progress with positions, nothing a trailer sends.
    await expect
      .poll(() => server.events.filter((e) => (e as PostedEvent).type === "play_progress").length)
      .toBeGreaterThan(1);
    expect(seen.filter((e) => e.type === "play_start")).toHaveLength(1);
    expect(seen.filter((e) => e.type === "play_complete")).toHaveLength(1);
    expect(seen.some((e) => e.type === "trailer_play")).toBe(false);
    expect(await w.violations()).toEqual([]);
    expect(w.errors).toEqual([]);
    await page.context().close();
  }, 120_000);

  it("plays the title page's trailer in an overlay, public, recording one trailer_play and no film events", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const seen = posted(page);
    const w = await watch(page);
    await page.goto(`${server.url}/titles/t_orbit9`);
    const trailerPlay = eventPosted(page, "trailer_play");
    await page.getByRole("button", { name: "Watch trailer" }).click();
    const dialog = page.getByRole("dialog", { name: "Trailer: Orbit Nine" });
    await dialog.waitFor();
    await startPlaying(page, ".trailer-dialog");
    await page.waitForFunction(
      () => ((document.querySelector(".trailer-dialog video") as HTMLVideoElement | null)?.currentTime ?? 0) > 1,
      null,
      { timeout: 30_000 },
    );
    await trailerPlay;
    expect(await currentTime(page, ".trailer-dialog")).toBeGreaterThan(0);
    // Public: no signed token, no heartbeat.
    expect(playback.requests.some((r) => r.token === null && r.file === "master.m3u8")).toBe(true);
    await dialog.getByRole("button", { name: /Close/ }).click();
    await dialog.waitFor({ state: "hidden" });
    expect(seen.filter((e) => e.type === "trailer_play")).toEqual([
      expect.objectContaining({
        item_id: "t_orbit9",
        payload: expect.objectContaining({ position_s: expect.any(Number) }),
      }),
    ]);
    expect(seen.some((e) => e.type.startsWith("play_"))).toBe(false);
    expect(await w.violations()).toEqual([]);
    expect(w.errors).toEqual([]);
    await context.close();
  }, 60_000);
});
