import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createMarquee, type Marquee } from "@marquee/cli";
import { createLogger, freePort, loadConfig } from "@marquee/runtime";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserTestsAvailable, launchChromium } from "./support.ts";

const available = browserTestsAvailable();

/**
 * A viewer in a real browser against the real store (embedded PGlite and chDB, the local test
 * checkout): sign up, rent a film, pay on the local page, see the order paid, find the rental
 * in the library with its start-by date, press Play (free until playback starts), start it; then
 * buy another and refund it themselves.
 */
describe.runIf(available)("buying and renting in Chromium, embedded Marquee", () => {
  let marquee: Marquee;
  let base: string;
  let dataDir: string;
  let browser: Browser;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "marquee-commerce-browser-"));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const config = loadConfig({
      DATA_DIR: dataDir,
      SEED_SCALE: "tiny",
      SEED_MEDIA: "false",
      MODEL_REFRESH_SECONDS: "0",
      PORT: String(port),
      PUBLIC_URL: base,
    });
    marquee = await createMarquee(config, { logger: createLogger({ service: "browser-test", level: "warn" }) });
    await marquee.app.listen({ host: "127.0.0.1", port });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await marquee?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Two published titles with HD rental and SD purchase offers. */
  async function pickTitles(): Promise<[string, string]> {
    const ids = (await marquee.catalog.titleFeatures()).map((t) => t.id);
    const found: string[] = [];
    for (const id of ids) {
      const t = await marquee.catalog.title(id);
      const sells = (kind: string, quality: string) =>
        t?.offers.some((o) => o.kind === kind && o.quality === quality && o.price_minor > 0);
      if (sells("rent", "HD") && sells("buy", "SD")) found.push(id);
      if (found.length === 2) return [found[0] as string, found[1] as string];
    }
    throw new Error("the tiny seed has no two titles to rent and buy");
  }

  /** From a title page: press an offer's button, confirm on /checkout, pay on the local page. */
  async function checkout(page: Page, titleId: string, button: RegExp, terms: RegExp | null): Promise<string> {
    await page.goto(`${base}/titles/${titleId}`);
    await page.getByRole("link", { name: button }).click();
    await page.waitForURL(/\/checkout\?/);
    if (terms) await page.getByText(terms).first().waitFor();
    await page.getByRole("button", { name: /^(Pay|Get it for) / }).click();
    await page.waitForURL(/\/checkout\/local\//);
    await page.getByRole("button", { name: /^Pay / }).click();
    await page.waitForURL(/\/orders\//);
    return page.url();
  }

  it("signs up, rents, pays on the local page, plays; buys another and refunds it", { timeout: 60_000 }, async () => {
    const [rentId, buyId] = await pickTitles();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });

    // Sign up (the password hint is shown before typing).
    await page.goto(`${base}/signup`);
    await expect(page.getByText("At least 12 characters").count()).resolves.toBe(1);
    await page.getByLabel("Your name").fill("Ada");
    await page.getByLabel("E-mail").fill(`ada-${Date.now()}@example.com`);
    await page.getByLabel("Password").fill("correct horse battery staple");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL(`${base}/`);
    await page.locator("summary", { hasText: "Ada" }).waitFor();

    // Rent: the terms are shown before paying; the order page confirms the payment.
    const orderUrl = await checkout(
      page,
      rentId,
      /^Rent HD/,
      /Rental: 30 days to start, 48 hours to finish once started/,
    );
    await page.getByRole("heading", { name: "Payment received" }).waitFor();
    expect(orderUrl).toMatch(/\/orders\/ord_/);

    // The library shows the rental with its start-by date, and Play opens the player.
    await page.goto(`${base}/library`);
    const rental = page
      .locator("li.library-item")
      .filter({ hasText: /Rented · start by \d+ \w+ \d{4}, \d\d:\d\d UTC/ });
    await expect(rental.count()).resolves.toBe(1);
    await expect(rental.getByRole("link", { name: /^Play/ }).getAttribute("href")).resolves.toBe(`/watch/${rentId}`);
    // Nothing has played yet: the rental has not started and can still be refunded.
    await page.getByText(/Rented · start by/).waitFor();
    await expect(rental.getByRole("button", { name: /^Refund/ }).count()).resolves.toBe(1);
    // The media step's first key request starts the 48 hours (here, the call its key server makes).
    await page.evaluate(async (titleId) => {
      const me = await (await fetch("/api/v1/me")).json();
      const grant = await fetch(`/api/v1/playback/${titleId}`, {
        method: "POST",
        headers: { "x-csrf-token": me.csrf_token },
      });
      const { token } = await grant.json();
      const started = await fetch(`/api/v1/playback/${titleId}/start`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token }),
      });
      if (!started.ok) throw new Error(`start: ${started.status} ${await started.text()}`);
    }, rentId);
    await page.reload();
    await page.getByText(/Rented · watch until/).waitFor();
    await expect(page.getByText(/it has been played, so it cannot be refunded here/).count()).resolves.toBe(1);

    // Buy another film (the licence notice is on the checkout page), then refund it from the library.
    await page.goto(`${base}/titles/${buyId}`);
    await expect(
      page.getByText("You're buying a licence to watch this film, not ownership of it.").count(),
    ).resolves.toBe(1);
    await checkout(page, buyId, /^Buy SD/, /not ownership of it/);
    await page.getByRole("heading", { name: "Payment received" }).waitFor();
    await page.goto(`${base}/library`);
    const bought = page
      .locator("li.library-item")
      .filter({ has: page.locator(".library-status", { hasText: /^Owned$/ }) });
    await bought.getByRole("button", { name: /^Refund/ }).click();
    await page.getByText(/Refunded \$\d+\.\d\d to your original payment method/).waitFor();
    const refunded = page
      .locator("li.library-item")
      .filter({ has: page.locator(".library-status", { hasText: /^Refunded$/ }) });
    await refunded.waitFor();

    // The title page now offers the rental's Play, not the refunded purchase.
    await page.goto(`${base}/titles/${rentId}`);
    await expect(page.getByText(/You're renting this in HD: watch until/).count()).resolves.toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  });
});
