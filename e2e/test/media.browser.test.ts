import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createMarquee, type Marquee } from "@marquee/cli";
import { createLogger, freePort, loadConfig } from "@marquee/runtime";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserTestsAvailable, launchChromium, signUpInBrowser, until } from "./support.ts";

const available = browserTestsAvailable();

/**
 * Every title plays, in the composed store (embedded: PGlite, chDB, local media files, the
 * in-process transcode worker, Debian's ffmpeg): the seeded catalogue's demo clips transcode
 * in the background; a viewer buys a film in Chromium and watches it (AES-128 HLS through the
 * signed origin, the key by commerce's rules), and the player's play_* events reach ClickHouse;
 * a seller uploads a film from the title editor (tus), watches it transcode and may then
 * submit the title for review.
 */
describe.runIf(available)("media in Chromium, embedded Marquee", () => {
  let marquee: Marquee;
  let base: string;
  let dataDir: string;
  let browser: Browser;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "marquee-media-browser-"));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const config = loadConfig({
      DATA_DIR: dataDir,
      SEED_SCALE: "tiny",
      MODEL_REFRESH_SECONDS: "0",
      PORT: String(port),
      PUBLIC_URL: base,
    });
    marquee = await createMarquee(config, { logger: createLogger({ service: "media-browser", level: "warn" }) });
    await marquee.app.listen({ host: "127.0.0.1", port });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await marquee?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const signUp = (page: Page, name: string) => signUpInBrowser(page, base, name);

  it("plays a bought demo film: the video advances and play_progress lands in ClickHouse", {
    timeout: 240_000,
  }, async () => {
    // The first house title with an SD purchase (every house title plays one of the pool's clips).
    const ids = (await marquee.catalog.houseTitles()).map((t) => t.id);
    let titleId = "";
    for (const id of ids) {
      const t = await marquee.catalog.title(id);
      if (t?.offers.some((o) => o.kind === "buy" && o.quality === "SD" && o.price_minor > 0)) {
        titleId = id;
        break;
      }
    }
    expect(titleId).not.toBe("");
    // Its demo clip, transcoded in the background since the store started.
    await until(
      "the demo film to be transcoded",
      async () => ((await marquee.media.assets.current(titleId, "film"))?.status === "ready" ? true : undefined),
      200_000,
      500,
    );

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await signUp(page, "Vera");
    // Not bought yet: the player page says so instead of showing a broken player.
    await page.goto(`${base}/watch/${titleId}`);
    await expect(page.locator("video").count()).resolves.toBe(0);

    await page.goto(`${base}/titles/${titleId}`);
    await page.getByRole("link", { name: /^Buy SD/ }).click();
    await page.waitForURL(/\/checkout\?/);
    await page.getByRole("button", { name: /^(Pay|Get it for) / }).click();
    await page.waitForURL(/\/checkout\/local\//);
    await page.getByRole("button", { name: /^Pay / }).click();
    await page.waitForURL(/\/orders\//);

    await page.goto(`${base}/watch/${titleId}`);
    const video = page.locator("video").first();
    await video.waitFor({ state: "attached", timeout: 30_000 });
    // Autoplay may need a gesture: press play if it has not started.
    const time = () => video.evaluate((v) => (v as HTMLVideoElement).currentTime);
    await page.waitForTimeout(1000);
    if ((await time()) === 0) await page.keyboard.press("k");
    await until("the film to play", async () => ((await time()) > 2 ? true : undefined), 60_000, 250);
    expect(errors).toEqual([]);

    // The player reported watching: play_start and play_progress in ClickHouse, for this viewer.
    const me = await page.evaluate(async () => (await (await fetch("/api/v1/me")).json()) as { user: { id: string } });
    const seen = await until(
      "play events in ClickHouse",
      async () => {
        const rs = await marquee.clickhouse.client.query({
          query: "SELECT type FROM events WHERE actor_id = {a:String} AND item_id = {i:String}",
          query_params: { a: me.user.id, i: titleId },
          format: "JSONEachRow",
        });
        const types = (await rs.json<{ type: string }>()).map((r) => r.type);
        return types.includes("play_progress") ? types : undefined;
      },
      60_000,
      500,
    );
    expect(seen).toContain("play_start");
  });

  it("a seller uploads a film in the title editor, sees it transcode, then may submit the title", {
    timeout: 240_000,
  }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signUp(page, "Sam");
    const me = await page.evaluate(async () => (await (await fetch("/api/v1/me")).json()) as { user: { id: string } });
    const viewer = await marquee.commerce.accounts.authenticate(
      (await page.context().cookies()).find((c) => c.name === "mq_session")?.value ?? "",
    );
    expect(viewer?.userId).toBe(me.user.id);
    await marquee.commerce.selling.becomeSeller(viewer as NonNullable<typeof viewer>, "Sam's Studio");
    const seller = await marquee.commerce.accounts.authenticate(
      (await page.context().cookies()).find((c) => c.name === "mq_session")?.value ?? "",
    );
    const { title_id } = await marquee.commerce.selling.createTitle(seller as NonNullable<typeof seller>, {
      title: "Uploaded Tonight",
      year: 2026,
      runtime_min: 90,
      age_rating: "PG",
    });
    await marquee.commerce.selling.setOffers(seller as NonNullable<typeof seller>, title_id, [
      { kind: "buy", quality: "HD", price_minor: 999 },
    ]);
    // A short real video, and a text file dressed up as one.
    const film = path.join(dataDir, "upload-film.mp4");
    execFileSync("ffmpeg", [
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=640x360:rate=24:duration=6",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=330:duration=6",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-c:a",
      "aac",
      "-shortest",
      "-y",
      film,
    ]);
    const fake = path.join(dataDir, "notes.mp4");
    execFileSync("sh", ["-c", `printf 'not a film at all\\n%.0s' $(seq 1 50) > '${fake}'`]);

    await page.goto(`${base}/sell/titles/${title_id}`);
    await page.getByText("Upload the film first").waitFor();
    await expect(page.getByRole("button", { name: "Submit for review" }).isDisabled()).resolves.toBe(true);

    // The text file is refused with ffprobe's reason.
    await page.setInputFiles("#upload-film", fake);
    await page.locator(".media-upload[data-kind=film] [role=alert]").waitFor({ timeout: 30_000 });
    expect(await page.locator(".media-upload[data-kind=film] [role=alert]").textContent()).toMatch(/video|decod/i);

    await page.reload();
    await page.setInputFiles("#upload-film", film);
    await page.getByText("Uploaded. Transcoding has started.").waitFor({ timeout: 30_000 });
    // The page follows the transcode until the film is ready, then offers review.
    await page.locator(".media-upload[data-kind=film] .badge.ok").waitFor({ timeout: 180_000 });
    expect(await page.locator(".media-upload[data-kind=film] .badge.ok").textContent()).toMatch(/^Ready · .*360p/);
    await page.reload();
    await expect(page.getByRole("button", { name: "Submit for review" }).isDisabled()).resolves.toBe(false);
    await page.getByRole("button", { name: "Submit for review" }).click();
    await page.getByText("Sent for review.").waitFor();
  });
});
