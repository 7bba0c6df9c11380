import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { upsertTitleDimension } from "@marquee/analytics";
import { createMarquee, type Marquee } from "@marquee/cli";
import type { RowsResponse } from "@marquee/contracts";
import { loadTitleFeatures } from "@marquee/feature-store";
import { createLogger, loadConfig } from "@marquee/runtime";
import { STOREFRONT_BUILD } from "@marquee/storefront";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The walking skeleton end to end, in embedded mode: the real app on a free port with its own
 * data folder (PGlite, chDB, model registry), seeded with the tiny synthetic world.
 */
describe("Marquee embedded, end to end", () => {
  let marquee: Marquee;
  let base: string;
  let dataDir: string;
  const storefront = existsSync(STOREFRONT_BUILD.server);
  if (!storefront && process.env.CI === "true") throw new Error("storefront build missing under CI=true");

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "marquee-e2e-"));
    const config = loadConfig({
      DATA_DIR: dataDir,
      SEED_SCALE: "tiny",
      SEED_MEDIA: "false",
      // This file is about rows and the catalogue loop; titles are submitted without a film (media e2e covers that rule).
      REQUIRE_FILM_FOR_REVIEW: "false",
      MODEL_REFRESH_SECONDS: "0",
      PORT: "0",
    });
    marquee = await createMarquee(config, { logger: createLogger({ service: "e2e", level: "warn" }), storefront });
    base = await marquee.app.listen({ host: "127.0.0.1", port: 0 });
  });

  afterAll(async () => {
    await marquee?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const rows = async (id: string): Promise<RowsResponse> => {
    const res = await fetch(`${base}/v1/users/${id}/rows`);
    expect(res.status).toBe(200);
    return (await res.json()) as RowsResponse;
  };
  const row = (r: RowsResponse, id: string) => r.rows.find((x) => x.id === id);

  it("serves trending and top picks to a new visitor from the seeded models", async () => {
    const health = await (await fetch(`${base}/health`)).json();
    expect(health.status).toBe("ok");
    expect(health.models.popularity).toBeTruthy();
    const r = await rows("a_newvisitor1");
    expect(row(r, "trending")?.items.length).toBeGreaterThanOrEqual(10);
    expect(row(r, "top-picks")?.items.length).toBeGreaterThanOrEqual(10);
    expect(row(r, "top-picks")?.model_version).toMatch(/^pop:/);
  });

  it("stores posted events in ClickHouse and changes the viewer's top picks", async () => {
    const actor = `a_e2e${Date.now().toString(36)}`;
    const before = await rows(actor);

    // A genre the visitor's cold-start picks are not already dominated by, and three titles of it.
    const titles = await marquee.catalog.titleFeatures();
    const counts = new Map<string, number>();
    for (const t of titles) for (const g of t.genres) counts.set(g, (counts.get(g) ?? 0) + 1);
    const genre = [...counts].filter(([, n]) => n >= 8).sort((a, b) => a[1] - b[1])[0]?.[0] as string;
    const picked = titles.filter((t) => t.genres[0] === genre).slice(0, 3);
    expect(picked.length).toBe(3);

    const events = picked.flatMap((t, i) => [
      {
        type: "click",
        anonymous_id: actor,
        item_id: t.id,
        context: { device: "desktop", row: "trending", position: i },
      },
      { type: "play_start", anonymous_id: actor, item_id: t.id, payload: { quality: "HD" } },
    ]);
    const res = await fetch(`${base}/v1/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events: [...events, { type: "click", anonymous_id: actor }] }),
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.accepted).toBe(6);
    expect(body.rejected).toEqual([{ index: 6, reason: expect.stringMatching(/item_id/) }]);

    const rs = await marquee.clickhouse.client.query({
      query: "SELECT type, item_id FROM events WHERE actor_id = {a:String} ORDER BY occurred_at, type",
      query_params: { a: actor },
      format: "JSONEachRow",
    });
    const stored = await rs.json<{ type: string; item_id: string }>();
    expect(stored).toHaveLength(6);
    expect(new Set(stored.map((s) => s.item_id))).toEqual(new Set(picked.map((t) => t.id)));

    const after = await rows(actor);
    const beforeIds = row(before, "top-picks")?.items.map((i) => i.id) ?? [];
    const afterIds = row(after, "top-picks")?.items.map((i) => i.id) ?? [];
    expect(afterIds).not.toEqual(beforeIds);
    for (const t of picked) expect(afterIds).not.toContain(t.id); // already engaged: not re-offered
    expect(row(after, "top-picks")?.reason).toMatch(/Because you showed interest in/);
    expect(row(after, "because-you-watched")?.title).toMatch(/^Because you watched /);
    const genreRow = after.rows.find((r) => r.id.startsWith("genre-"));
    expect(genreRow?.title).toBe(`More ${genre}`);

    // Top picks lean to the clicked genre: more of it than before.
    const byId = new Map(titles.map((t) => [t.id, t]));
    const share = (ids: string[]) =>
      ids.filter((id) => byId.get(id)?.genres.includes(genre)).length / Math.max(1, ids.length);
    expect(share(afterIds)).toBeGreaterThan(share(beforeIds));
  });

  it("answers bad input with 4xx and a reason", async () => {
    const bad = await fetch(`${base}/v1/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{",
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe("invalid_json");
    const badId = await fetch(`${base}/v1/users/${"x".repeat(80)}/rows`);
    expect(badId.status).toBe(400);
    const badLimit = await fetch(`${base}/v1/users/a1/rows?limit=1000`);
    expect(badLimit.status).toBe(400);
  });

  it.runIf(storefront)("renders the storefront home with both rows", async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).toMatch(/mq_anon=/);
    const html = await res.text();
    expect(html).toContain("Trending now");
    expect(html).toContain("Top picks for you");
  });

  it("shows a title once it is published in New releases, and drops it from every row once withdrawn", async () => {
    const fresh = { id: `t_e2efresh${Date.now().toString(36)}`, title: "Fresh Off The Press", genres: ["Drama"] };
    await upsertTitleDimension(marquee.clickhouse.client, [
      { ...fresh, year: 1988, age_rating: "PG", status: "published" },
    ]);
    await marquee.titles.refresh();
    const shown = await rows("a_catalogueviewer01");
    expect(row(shown, "new-releases")?.items[0]?.id).toBe(fresh.id);

    await upsertTitleDimension(
      marquee.clickhouse.client,
      [{ ...fresh, year: 1988, age_rating: "PG", status: "withdrawn" }],
      new Date(Date.now() + 1000),
    );
    await marquee.titles.refresh();
    const gone = await rows("a_catalogueviewer01");
    expect(JSON.stringify(gone)).not.toContain(fresh.id);
    expect(row(gone, "new-releases")?.items.length).toBeGreaterThan(0);
  });

  it("puts a title an admin approves into New releases through the real loop, and takes it out of every row once withdrawn", async () => {
    // Seller → review → approval in commerce (PGlite) → outbox → relay → in-process bus →
    // catalogue loader → ClickHouse's titles dimension → serving's catalogue: no refresh by hand.
    const { accounts, selling } = marquee.commerce;
    const run = Date.now().toString(36);
    const s = await accounts.signUp({
      email: `e2e-loop-seller-${run}@example.com`,
      password: "a long enough passphrase",
    });
    await selling.becomeSeller(s.viewer, "Loop Studio");
    const seller = (await accounts.authenticate(s.token)) as NonNullable<
      Awaited<ReturnType<typeof accounts.authenticate>>
    >;
    const { title_id } = await selling.createTitle(seller, {
      title: "Straight From The Review Queue",
      year: 1971,
      runtime_min: 95,
      age_rating: "PG",
      genres: ["Documentary"],
    });
    await selling.setOffers(seller, title_id, [{ kind: "buy", quality: "HD", price_minor: 799 }]);
    await selling.submitForReview(seller, title_id);
    const a = await accounts.signUp({
      email: `e2e-loop-admin-${run}@example.com`,
      password: "a long enough passphrase",
    });
    await accounts.grantRole(a.viewer.userId, "admin");
    const admin = (await accounts.authenticate(a.token)) as NonNullable<
      Awaited<ReturnType<typeof accounts.authenticate>>
    >;
    expect(JSON.stringify(await rows("a_loopviewer000000001"))).not.toContain(title_id);

    await selling.approve(admin, title_id);
    const deadline = Date.now() + 60_000;
    let newest: string[] = [];
    while (Date.now() < deadline) {
      newest = row(await rows("a_loopviewer000000001"), "new-releases")?.items.map((i) => i.id) ?? [];
      if (newest.includes(title_id)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Newest publication first, though its year is older than every seeded title's.
    expect(newest[0]).toBe(title_id);
    // The models' feature read sees it as well.
    expect((await loadTitleFeatures(marquee.clickhouse.client)).map((t) => t.id)).toContain(title_id);

    await selling.withdraw(admin, title_id, "rights lapsed");
    let gone = false;
    while (!gone && Date.now() < deadline + 60_000) {
      gone = !JSON.stringify(await rows("a_loopviewer000000001")).includes(title_id);
      if (!gone) await new Promise((r) => setTimeout(r, 100));
    }
    expect(gone).toBe(true);
  });

  it.runIf(storefront)(
    "renders a kids' profile's home without the account's R title, in rows or headings",
    async () => {
      const parent = await marquee.commerce.accounts.signUp({
        email: "e2e-kids-home@example.com",
        password: "a long enough passphrase",
      });
      const rs = await marquee.clickhouse.client.query({
        query:
          "SELECT id, argMax(title, updated_at) AS title, argMax(age_rating, updated_at) AS r FROM titles GROUP BY id",
        format: "JSONEachRow",
      });
      const all = await rs.json<{ id: string; title: string; r: string }>();
      const i2i = marquee.models.current.itemToItem;
      const rated = all.find(
        (t) =>
          t.r === "R" &&
          (i2i?.neighbors[(i2i.index.get(t.id) ?? -1) * i2i.k] ?? -1) >= 0 &&
          !all.some((o) => o.id !== t.id && o.title.includes(t.title)),
      ) as { id: string; title: string };
      expect(rated).toBeTruthy();
      const posted = await fetch(`${base}/v1/events`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          events: [
            { type: "play_start", user_id: parent.viewer.userId, item_id: rated.id, payload: { quality: "HD" } },
          ],
        }),
      });
      expect((await posted.json()).accepted).toBe(1);
      const home = async () => (await fetch(`${base}/`, { headers: { cookie: `mq_session=${parent.token}` } })).text();
      const html = (s: string) => s.replaceAll("&#x27;", "'").replaceAll("&amp;", "&");
      // The grown-up profile's home names it ("Because you watched …"); the kids' profile's does not.
      expect(html(await home())).toContain(rated.title);
      const kids = await marquee.commerce.accounts.createProfile(parent.viewer, {
        name: "Kids",
        kind: "kids",
        max_age_rating: "PG",
        pin: "1234",
      });
      await marquee.commerce.accounts.selectProfile(parent.viewer, kids.id);
      const kidsHome = html(await home());
      expect(kidsHome).toContain("Top picks for you");
      expect(kidsHome).not.toContain(rated.title);
      expect(kidsHome).not.toContain(rated.id);
    },
  );

  // Last: it breaks the bus of the shared app.
  it("is ready with every dependency up, and answers 503 naming the bus once it is down; still alive", async () => {
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    const body = await ready.json();
    expect(body).toMatchObject({ status: "ok", failed: [] });
    for (const name of ["postgres", "clickhouse", "bus", "models", "catalogue"]) {
      expect(body.checks[name]).toMatchObject({ ok: true, ms: expect.any(Number) });
    }

    await marquee.bus.close();
    const down = await fetch(`${base}/ready`);
    expect(down.status).toBe(503);
    const report = await down.json();
    expect(report).toMatchObject({ status: "unavailable", failed: ["bus"], checks: { bus: { ok: false } } });
    expect(report.checks.bus.error).toMatch(/closed/);
    expect(report.checks.postgres.ok).toBe(true);
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });
});
