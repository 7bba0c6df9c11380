import { existsSync } from "node:fs";
import { STOREFRONT_BUILD } from "@marquee/storefront";
import { type Browser, chromium, type Page } from "playwright-core";

/** What several e2e suites need: waiting for an asynchronous pipeline, and Chromium. */

/** Polls `probe` every `everyMs` until it answers something other than undefined; fails after `ms`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 30_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Whether the browser suites can run here (Chromium and the storefront build). Under CI=true a
 * missing one is an error: CI must run them.
 */
export function browserTestsAvailable(): boolean {
  const available = existsSync(CHROMIUM) && existsSync(STOREFRONT_BUILD.server);
  if (!available && process.env.CI === "true") {
    throw new Error(`browser test needs ${CHROMIUM} and the storefront build under CI=true (see .ci/run)`);
  }
  return available;
}

/** Debian's Chromium, headless, with nothing of its own that reaches the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}

/** Signs up in the browser on the store at `base` (the form posts, the session cookie lands in the context). */
export async function signUpInBrowser(page: Page, base: string, name: string): Promise<void> {
  await page.goto(`${base}/signup`);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("E-mail").fill(`${name.toLowerCase()}-${Date.now()}@example.com`);
  await page.getByLabel("Password").fill("correct horse battery staple");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(`${base}/`);
  await page.locator("summary", { hasText: name }).waitFor();
}
