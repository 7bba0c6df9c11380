import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createMarquee, type Marquee } from "@marquee/cli";
import { createLogger, freePort, loadConfig } from "@marquee/runtime";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserTestsAvailable, launchChromium, signUpInBrowser } from "./support.ts";

const available = browserTestsAvailable();

/** Collects what a page reports as wrong: script errors, console errors and CSP violations. */
async function watch(page: Page): Promise<{ errors: string[]; violations: () => Promise<string[]> }> {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  // Kept on the window across each page's life; read back before navigating away.
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return {
    errors,
    violations: () => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp),
  };
}

/**
 * A viewer in a real browser: the storefront's own tracker sends what they do to the collector,
 * the events land in ClickHouse, and the next home page ranks differently.
 */
describe.runIf(available)("storefront in Chromium, embedded Marquee", () => {
  let marquee: Marquee;
  let base: string;
  let dataDir: string;
  let port: number;
  let browser: Browser;
  const start = async () => {
    const config = loadConfig({
      DATA_DIR: dataDir,
      SEED_SCALE: "tiny",
      SEED_MEDIA: "false",
      MODEL_REFRESH_SECONDS: "0",
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
    });
    marquee = await createMarquee(config, { logger: createLogger({ service: "browser-test", level: "warn" }) });
    await marquee.app.listen({ host: "127.0.0.1", port });
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "marquee-browser-"));
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    await start();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await marquee?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const rowItems = (page: Page, row: string) =>
    page.$$eval(`a[data-mq-row="${row}"]`, (as) => as.map((a) => a.getAttribute("data-mq-item") as string));
  const eventsPosted = (page: Page) =>
    page.waitForResponse((r) => r.url().endsWith("/v1/events") && r.request().method() === "POST", { timeout: 10_000 });

  const signUp = (page: Page, name: string) => signUpInBrowser(page, base, name);

  /** The types and titles of the events a page posts to the collector, as it posts them. */
  function postedEvents(page: Page): Array<{ type: string; item_id?: string }> {
    const seen: Array<{ type: string; item_id?: string }> = [];
    page.on("request", (r) => {
      if (!r.url().endsWith("/v1/events") || r.method() !== "POST") return;
      const body = JSON.parse(r.postData() ?? "{}") as { events?: Array<{ type: string; item_id?: string }> };
      for (const e of body.events ?? []) seen.push({ type: e.type, ...(e.item_id ? { item_id: e.item_id } : {}) });
    });
    return seen;
  }

  it("learns from what the viewer does and changes Top picks on reload", { timeout: 60_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const { errors } = await watch(page);
    // Keeping a title needs an account: the viewer signs up first, and rows are theirs.
    await signUp(page, "Lin");

    await page.goto(base);
    await expect(page.getByRole("heading", { name: "Trending now" }).count()).resolves.toBeGreaterThan(0);
    const before = await rowItems(page, "top-picks");
    expect(before.length).toBeGreaterThanOrEqual(10);

    // Click a card on the home page: the tracker sends the click before the navigation.
    const firstTrending = page.locator('a[data-mq-row="trending"]').first();
    const clicked = (await firstTrending.getAttribute("data-mq-item")) as string;
    const clickPosted = eventsPosted(page);
    await firstTrending.click();
    await clickPosted;
    await page.waitForURL(`**/titles/${clicked}`);

    // Then show interest in three titles of one genre from their title pages.
    const titles = await marquee.catalog.titleFeatures();
    const counts = new Map<string, number>();
    for (const t of titles) for (const g of t.genres) counts.set(g, (counts.get(g) ?? 0) + 1);
    const genre = [...counts].filter(([, n]) => n >= 8).sort((a, b) => a[1] - b[1])[0]?.[0] as string;
    const picked = titles.filter((t) => t.genres[0] === genre && t.id !== clicked).slice(0, 3);
    for (const t of picked) {
      await page.goto(`${base}/titles/${t.id}`);
      const posted = eventsPosted(page);
      await page.getByRole("button", { name: /Add to watchlist/ }).click();
      expect((await posted).status()).toBe(200);
    }

    const stored = await marquee.clickhouse.client.query({
      query:
        "SELECT type, item_id FROM events WHERE type IN ('click', 'watchlist_add') AND anonymous_id != '' AND item_id IN {ids:Array(String)}",
      query_params: { ids: [clicked, ...picked.map((t) => t.id)] },
      format: "JSONEachRow",
    });
    const rows = await stored.json<{ type: string; item_id: string }>();
    expect(
      rows
        .filter((r) => r.type === "watchlist_add")
        .map((r) => r.item_id)
        .sort(),
    ).toEqual(picked.map((t) => t.id).sort());
    expect(rows.some((r) => r.type === "click" && r.item_id === clicked)).toBe(true);
    // The click says which model and which experiment variant put the title there.
    const provenance = await marquee.clickhouse.client.query({
      query:
        "SELECT model_version, variant FROM events WHERE type = 'click' AND anonymous_id != '' AND item_id = {id:String}",
      query_params: { id: clicked },
      format: "JSONEachRow",
    });
    expect(await provenance.json()).toContainEqual({
      model_version: expect.stringMatching(/^pop:/),
      variant: "control",
    });

    await page.goto(base);
    const after = await rowItems(page, "top-picks");
    expect(after).not.toEqual(before);
    for (const t of picked) expect(after).not.toContain(t.id);
    await expect(page.getByRole("heading", { name: `More ${genre}` }).count()).resolves.toBe(1);
    await expect(page.getByText(/Because you showed interest in/).count()).resolves.toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("keeps a watchlist: add, reload and restart, see it on /watchlist, remove; events only for real changes", {
    timeout: 120_000,
  }, async () => {
    const context: BrowserContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const { errors, violations } = await watch(page);
    const events = postedEvents(page);
    await signUp(page, "Wren");
    const [titleId] = (await marquee.catalog.titleFeatures()).map((t) => t.id);
    const titleName = (await marquee.catalog.title(titleId as string))?.title as string;

    // A second tab on the same title, left open: it still shows "Add to watchlist" later.
    const stale = await context.newPage();
    const staleEvents = postedEvents(stale);
    await stale.goto(`${base}/titles/${titleId}`);
    await stale.getByRole("button", { name: /Add to watchlist/ }).waitFor();

    await page.goto(`${base}/titles/${titleId}`);
    const add = page.getByRole("button", { name: /Add to watchlist/ });
    const posted = eventsPosted(page);
    await add.click();
    await page.getByRole("button", { name: /On your watchlist/ }).waitFor();
    await posted;
    expect(events.filter((e) => e.type === "watchlist_add")).toEqual([{ type: "watchlist_add", item_id: titleId }]);

    // Stored by commerce: a reload, and a restart of the whole store, still show it.
    await page.reload();
    await page.getByRole("button", { name: /On your watchlist/ }).waitFor();
    expect(await violations()).toEqual([]);
    const beforeRestart = errors.length;
    await marquee.close();
    await start();
    await page.goto(`${base}/watchlist`);
    // While the store was down, a tab's queued event flush (or a prefetch) may have found it
    // gone, as in a real restart; that and nothing else may fail in that window.
    for (const e of errors.splice(beforeRestart)) expect(e).toMatch(/ERR_CONNECTION_REFUSED/);
    await page.getByRole("heading", { name: "Your watchlist" }).waitFor();
    await expect(page.locator(`a[href="/titles/${titleId}"]`).count()).resolves.toBeGreaterThan(0);
    expect(await violations()).toEqual([]);

    // The stale tab adds what is already there: the list is unchanged, so nothing is recorded.
    await stale.getByRole("button", { name: /Add to watchlist/ }).click();
    await stale.getByRole("button", { name: /On your watchlist/ }).waitFor();
    await stale.waitForTimeout(300);
    expect(staleEvents.filter((e) => e.type === "watchlist_add")).toEqual([]);

    // Removing from the watchlist page takes it off the list and off the title page.
    await page.getByRole("button", { name: `Remove ${titleName} from your watchlist` }).click();
    await page.getByText("Nothing on your watchlist yet").waitFor();
    await page.reload();
    await page.getByText("Nothing on your watchlist yet").waitFor();
    await page.goto(`${base}/titles/${titleId}`);
    await page.getByRole("button", { name: /Add to watchlist/ }).waitFor();
    expect(events.filter((e) => e.type === "watchlist_add")).toHaveLength(1);
    expect(await violations()).toEqual([]);
    expect(errors).toEqual([]);

    // Without JavaScript the same button is a form post that comes back to the title.
    const noJs = await browser.newContext({ javaScriptEnabled: false, storageState: await context.storageState() });
    const plain = await noJs.newPage();
    await plain.goto(`${base}/titles/${titleId}`);
    await plain.getByRole("button", { name: /Add to watchlist/ }).click();
    await plain.waitForURL(`${base}/titles/${titleId}`);
    await plain.getByRole("button", { name: /On your watchlist/ }).waitFor();
    await noJs.close();
    await context.close();
  });

  it("runs every page under its CSP with no violation, hydrated, and refuses to be framed", {
    timeout: 60_000,
  }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const { errors, violations } = await watch(page);
    const [titleId] = (await marquee.catalog.titleFeatures()).map((t) => t.id);
    const title = await marquee.catalog.title(titleId as string);
    const offer = title?.offers.find((o) => o.price_minor > 0) ?? title?.offers[0];
    expect(offer).toBeDefined();

    const hydrated = () => page.waitForFunction(() => "__remixRouter" in window);
    for (const path of ["/", `/titles/${titleId}`, "/signin"]) {
      const res = await page.goto(`${base}${path}`);
      expect(res?.headers()["content-security-policy"], path).toMatch(/script-src 'self' 'nonce-[^']+'/);
      await hydrated();
      expect(await violations(), path).toEqual([]);
    }
    // The forms still work with scripts under the policy: sign up, then the checkout page.
    await signUp(page, "Ines");
    expect(await violations()).toEqual([]);
    await page.goto(
      `${base}/checkout?${new URLSearchParams({ title: titleId as string, kind: offer?.kind ?? "rent", quality: offer?.quality ?? "HD" })}`,
    );
    await page.getByRole("button", { name: /^(Pay|Get it for) / }).waitFor();
    await hydrated();
    expect(await violations()).toEqual([]);
    // Client-side navigation (route modules loaded by the hydrated app) stays inside the policy.
    await page.locator("header").getByRole("link", { name: "Library" }).click();
    await page.waitForURL(`${base}/library`);
    await page.getByRole("heading", { name: "Your library" }).waitFor();
    expect(await violations()).toEqual([]);
    expect(errors).toEqual([]);

    // A foreign page that frames the title page gets nothing: frame-ancestors 'none'.
    const framer = await browser.newPage();
    const refused: string[] = [];
    framer.on("console", (m) => refused.push(m.text()));
    await framer.setContent(`<iframe src="${base}/titles/${titleId}" width="800" height="600"></iframe>`);
    await framer.waitForTimeout(1_500);
    const frame = framer.frames().find((f) => f !== framer.mainFrame());
    const framedText = frame ? await frame.evaluate(() => document.body?.textContent ?? "").catch(() => "") : "";
    expect(framedText).not.toContain(title?.title ?? "");
    await framer.close();
    await page.close();
  });
});
