import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createLogger, loadConfig } from "@marquee/runtime";
import { STOREFRONT_BUILD } from "@marquee/storefront";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMarquee, type Marquee } from "../src/app.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const available = existsSync(CHROMIUM) && existsSync(STOREFRONT_BUILD.server);
if (!available && process.env.CI === "true") {
  throw new Error(`browser test needs ${CHROMIUM} and the storefront build under CI=true (see .ci/run)`);
}

/**
 * A viewer in a real browser: the storefront's own tracker sends what they do to the collector,
 * the events land in ClickHouse, and the next home page ranks differently.
 */
describe.runIf(available)("storefront in Chromium, embedded Marquee", () => {
  let marquee: Marquee;
  let base: string;
  let dataDir: string;
  let browser: Browser;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "marquee-browser-"));
    const config = loadConfig({ DATA_DIR: dataDir, SEED_SCALE: "tiny", MODEL_REFRESH_SECONDS: "0" });
    marquee = await createMarquee(config, { logger: createLogger({ service: "browser-test", level: "warn" }) });
    base = await marquee.app.listen({ host: "127.0.0.1", port: 0 });
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
      ],
    });
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

  it("learns from what the viewer does and changes Top picks on reload", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });

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

    await page.goto(base);
    const after = await rowItems(page, "top-picks");
    expect(after).not.toEqual(before);
    for (const t of picked) expect(after).not.toContain(t.id);
    await expect(page.getByRole("heading", { name: `More ${genre}` }).count()).resolves.toBe(1);
    await expect(page.getByText(/Because you showed interest in/).count()).resolves.toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.close();
  });
});
