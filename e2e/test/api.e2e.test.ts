import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { createMarquee, type Marquee } from "@marquee/cli";
import { createLogger, loadConfig, resolveSecrets } from "@marquee/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The store's JSON API in the composed app, embedded mode, over real HTTP: the local test
 * checkout round trip, and secrets that survive a restart (sessions and playback grants stay
 * valid) without ever reaching the logs.
 */
describe("the /api/v1 store in embedded mode", () => {
  let dataDir: string;
  let marquee: Marquee | undefined;
  let base: string;
  const logLines: string[] = [];
  const logger = createLogger({
    service: "api-e2e",
    level: "info",
    destination: new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    }),
  });
  const env = () => ({
    DATA_DIR: dataDir,
    SEED_SCALE: "tiny",
    SEED_MEDIA: "false",
    MODEL_REFRESH_SECONDS: "0",
    PORT: "0",
  });
  const start = async () => {
    const m = await createMarquee(loadConfig(env()), { logger, storefront: false });
    base = (await m.app.listen({ host: "127.0.0.1", port: 0 })).replace("localhost", "127.0.0.1");
    marquee = m;
    return m;
  };
  /** The store's own addresses say localhost (what people type); fetch it on 127.0.0.1. */
  const local = (url: string) => url.replace("//localhost:", "//127.0.0.1:");
  const api = (route: string, init: RequestInit & { token?: string } = {}) =>
    fetch(`${base}/api/v1${route}`, {
      ...init,
      headers: {
        ...(init.body ? { "content-type": "application/json" } : {}),
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
    });

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "marquee-api-e2e-"));
    await start();
  });
  afterAll(async () => {
    await marquee?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('honours a "not interested" posted to the collector in the very next rows', async () => {
    const visitor = "a_notinterested0000000001";
    const rows = async () =>
      (await (await fetch(`${base}/v1/users/${visitor}/rows?limit=10`)).json()) as {
        rows: { id: string; items: { id: string }[] }[];
      };
    const shown = (r: Awaited<ReturnType<typeof rows>>) => r.rows.flatMap((x) => x.items.map((i) => i.id));
    const before = await rows();
    const top = before.rows.find((x) => x.id === "top-picks")?.items[0]?.id as string;
    expect(top).toBeTruthy();
    const post = await fetch(`${base}/v1/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        events: [{ type: "not_interested", anonymous_id: visitor, item_id: top, context: { device: "desktop" } }],
      }),
    });
    expect(post.status).toBe(200);
    // No wait for the loader's next batch: the collector's answer means serving knows.
    const after = await rows();
    expect(shown(after)).not.toContain(top);
    expect(after.rows.find((x) => x.id === "top-picks")?.items.map((i) => i.id)).not.toEqual(
      before.rows.find((x) => x.id === "top-picks")?.items.map((i) => i.id),
    );
  });

  it("buys through the local checkout, plays, and keeps sessions and grants across a restart", async () => {
    const m = marquee as Marquee;
    const port = new URL(base).port;
    expect(m.publicUrl()).toBe(`http://localhost:${port}`);
    expect(m.commerce.gateway.provider).toBe("local");

    const secretsFile = path.join(dataDir, "secrets.json");
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    const secrets = JSON.parse(readFileSync(secretsFile, "utf8"));
    expect(Object.keys(secrets).sort()).toEqual(["LOCAL_WEBHOOK_SECRET", "MEDIA_SIGNING_SECRET", "PLAYBACK_SECRET"]);

    const signup = await api("/auth/signup", {
      method: "POST",
      body: JSON.stringify({ email: "e2e-buyer@example.com", password: "a long enough passphrase" }),
    });
    expect(signup.status).toBe(201);
    expect(signup.headers.get("set-cookie")).toMatch(/^mq_session=.+; HttpOnly; SameSite=Lax/);
    const { token } = (await signup.json()) as { token: string };

    const search = await api(`/search?q=${encodeURIComponent("a")}&limit=50`);
    const { items } = (await search.json()) as { items: { id: string; from_price_minor: number | null }[] };
    const pick = items.find((c) => c.from_price_minor !== null);
    expect(pick).toBeTruthy();
    const title = (await (await api(`/titles/${pick?.id}`)).json()) as {
      id: string;
      offers: { kind: string; quality: string }[];
    };
    const offer = title.offers.find((o) => o.kind === "buy") ?? title.offers[0];

    const co = await api("/checkout", {
      method: "POST",
      token,
      body: JSON.stringify({ items: [{ title_id: title.id, kind: offer?.kind, quality: offer?.quality }] }),
    });
    expect(co.status).toBe(201);
    const order = (await co.json()) as { order_id: string; checkout_url: string };
    // The payment page lives on the origin the client used (127.0.0.1 here), not the configured
    // localhost: a viewer's session cookie is per host name (issue 17.15).
    expect(order.checkout_url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/checkout/local/cs_local_`));

    const page = await fetch(local(order.checkout_url));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("TEST MODE");
    const paid = await fetch(`${local(order.checkout_url)}/pay`, { method: "POST", redirect: "manual" });
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toBe(`http://127.0.0.1:${port}/orders/${order.order_id}`);

    const library = (await (await api("/library", { token })).json()) as { items: { title_id: string }[] };
    expect(library.items.map((i) => i.title_id)).toEqual([title.id]);
    const play = await api(`/playback/${title.id}`, { method: "POST", token });
    expect(play.status).toBe(200);
    const grant = (await play.json()) as { token: string; entitlement_id: string };

    // The purchase reached ClickHouse through the outbox, the relay, the bus and the loader.
    const me = (await (await api("/me", { token })).json()) as { user_id?: string; user?: { id: string } };
    const userId = me.user_id ?? me.user?.id;
    expect(userId).toBeTruthy();
    let purchases = 0;
    for (let i = 0; i < 100 && purchases === 0; i++) {
      const rs = await m.clickhouse.client.query({
        query:
          "select count() as n from events where type = 'purchase' and user_id = {u:String} and item_id = {t:String}",
        query_params: { u: userId, t: title.id },
        format: "JSONEachRow",
      });
      purchases = Number(((await rs.json()) as { n: number | string }[])[0]?.n ?? 0);
      if (purchases === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(purchases).toBe(1);

    // A forged webhook changes nothing.
    const forged = await api("/webhooks/stripe", {
      method: "POST",
      headers: { "stripe-signature": "t=1,v1=00" },
      body: JSON.stringify({ id: "evt_forged", type: "checkout.session.completed", data: { object: {} } }),
    });
    expect(forged.status).toBe(400);

    await m.close();
    marquee = undefined;
    const again = await start();
    // Same secrets file, same secrets: the session and the grant signed before still hold.
    expect(JSON.parse(readFileSync(secretsFile, "utf8"))).toEqual(secrets);
    expect((await api("/me", { token })).status).toBe(200);
    expect(again.commerce.library.verifyGrant(grant.token)?.entitlementId).toBe(grant.entitlement_id);

    const logs = logLines.join("");
    for (const value of Object.values(secrets) as string[]) expect(logs).not.toContain(value);
    expect(logs).not.toContain(token);
  });
});

describe("serving's rows behind the store's sign-in", () => {
  let dataDir: string;
  let marquee: Marquee | undefined;
  const apiKey = "s".repeat(40);

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "marquee-rows-auth-"));
    const config = loadConfig({
      DATA_DIR: dataDir,
      SEED_SCALE: "tiny",
      SEED_MEDIA: "false",
      MODEL_REFRESH_SECONDS: "0",
      PORT: "0",
      SERVING_API_KEY: apiKey,
    });
    marquee = await createMarquee(config, {
      logger: createLogger({ service: "rows-auth", level: "silent" }),
      storefront: false,
    });
  });
  afterAll(async () => {
    await marquee?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("serves an account's rows only to its own session (cookie or bearer) or the server key", async () => {
    const m = marquee as Marquee;
    const alice = await m.commerce.accounts.signUp({
      email: "rows-alice@example.com",
      password: "a long enough passphrase",
    });
    const bob = await m.commerce.accounts.signUp({
      email: "rows-bob@example.com",
      password: "a long enough passphrase",
    });
    const rows = (id: string, headers: Record<string, string> = {}) =>
      m.app.inject({ method: "GET", url: `/v1/users/${id}/rows`, headers });
    const aliceId = alice.viewer.userId;

    const none = await rows(aliceId);
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe("unauthorized");
    expect((await rows(aliceId, { authorization: `Bearer ${alice.token}` })).statusCode).toBe(200);
    // The store's own session cookie (plain name on an http store) works the same way.
    expect((await rows(aliceId, { cookie: `mq_session=${alice.token}` })).statusCode).toBe(200);
    expect((await rows(alice.viewer.profile.id, { authorization: `Bearer ${alice.token}` })).statusCode).toBe(200);
    const other = await rows(aliceId, { authorization: `Bearer ${bob.token}` });
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe("forbidden");
    expect((await rows(aliceId, { "x-api-key": apiKey })).statusCode).toBe(200);
    expect((await rows("a_0123456789abcdefghij")).statusCode).toBe(200);

    const similar = (query: string, headers: Record<string, string> = {}) =>
      m.app.inject({ method: "GET", url: `/v1/items/any-title/similar?${query}`, headers });
    expect((await similar(`user_id=${aliceId}`)).statusCode).toBe(401);
    expect((await similar(`user_id=${aliceId}`, { authorization: `Bearer ${bob.token}` })).statusCode).toBe(403);
    expect((await similar(`user_id=${aliceId}`, { authorization: `Bearer ${alice.token}` })).statusCode).toBe(200);
  });
});

describe("a kids' profile's rows, over the serving API", () => {
  let dataDir: string;
  let marquee: Marquee | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "marquee-kids-rows-"));
    const config = loadConfig({
      DATA_DIR: dataDir,
      SEED_SCALE: "tiny",
      SEED_MEDIA: "false",
      MODEL_REFRESH_SECONDS: "0",
      PORT: "0",
    });
    marquee = await createMarquee(config, {
      logger: createLogger({ service: "kids-rows", level: "silent" }),
      storefront: false,
    });
  });
  afterAll(async () => {
    await marquee?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("names no title above the profile's limit anywhere, though the account's history has an R title", async () => {
    const m = marquee as Marquee;
    const parent = await m.commerce.accounts.signUp({
      email: "kids-rows@example.com",
      password: "a long enough passphrase",
    });
    const parentId = parent.viewer.userId;
    // Titles above PG, from the catalogue serving reads; the history's R title is one the
    // item-to-item model knows (so it would anchor "Because you watched") with a distinctive name.
    const rs = await m.clickhouse.client.query({
      query:
        "SELECT id, argMax(title, updated_at) AS title, argMax(age_rating, updated_at) AS r FROM titles GROUP BY id",
      format: "JSONEachRow",
    });
    const all = await rs.json<{ id: string; title: string; r: string }>();
    const above = all.filter((t) => ["PG-13", "R", "NC-17"].includes(t.r));
    const i2i = m.models.current.itemToItem;
    const rated = above.find(
      (t) =>
        t.r === "R" &&
        (i2i?.neighbors[(i2i.index.get(t.id) ?? -1) * i2i.k] ?? -1) >= 0 &&
        !all.some((o) => o.id !== t.id && o.title.includes(t.title)),
    );
    expect(rated).toBeTruthy();
    const r = rated as { id: string; title: string };

    const posted = await m.app.inject({
      method: "POST",
      url: "/v1/events",
      payload: { events: [{ type: "play_start", user_id: parentId, item_id: r.id, payload: { quality: "HD" } }] },
    });
    expect(posted.json().accepted).toBe(1);
    const rows = (token: string) =>
      m.app.inject({ method: "GET", url: `/v1/users/${parentId}/rows`, headers: { authorization: `Bearer ${token}` } });

    // The parent's own profile: "Because you watched <the R title>".
    const own = await rows(parent.token);
    expect(own.statusCode).toBe(200);
    expect(own.body).toContain(r.title);

    const kids = await m.commerce.accounts.createProfile(parent.viewer, {
      name: "Kids",
      kind: "kids",
      max_age_rating: "PG",
      pin: "1234",
    });
    await m.commerce.accounts.selectProfile(parent.viewer, kids.id);
    const res = await rows(parent.token);
    expect(res.statusCode).toBe(200);
    const body = res.body;
    expect(body).not.toContain(r.title);
    const ids = new Set(res.json().rows.flatMap((row: { items: { id: string }[] }) => row.items.map((i) => i.id)));
    for (const t of above) expect(ids.has(t.id), `${t.id} (${t.r}) in a kids' row`).toBe(false);
    expect(ids.size).toBeGreaterThan(0);
    // Asking for a looser limit changes nothing: the profile's own limit applies.
    const loose = await m.app.inject({
      method: "GET",
      url: `/v1/users/${parentId}/rows?max_age_rating=NC-17`,
      headers: { authorization: `Bearer ${parent.token}` },
    });
    expect(loose.body).not.toContain(r.title);
  });
});

describe("commerce configuration", () => {
  it("wants both Stripe secrets or neither", () => {
    expect(() => loadConfig({ STRIPE_SECRET_KEY: "sk_test_123" })).toThrow(/set both/);
    expect(() => loadConfig({ STRIPE_WEBHOOK_SECRET: "whsec_123" })).toThrow(/set both/);
    expect(() => loadConfig({ STRIPE_SECRET_KEY: "pk_test_123", STRIPE_WEBHOOK_SECRET: "whsec_1" })).toThrow(
      /STRIPE_SECRET_KEY/,
    );
    const stripe = loadConfig({ STRIPE_SECRET_KEY: "sk_test_123", STRIPE_WEBHOOK_SECRET: "whsec_123" });
    expect(stripe.PLATFORM_FEE_BPS).toBe(1500);
    expect(loadConfig({ PUBLIC_URL: "https://store.example.com/" }).PUBLIC_URL).toBe("https://store.example.com");
    expect(() => loadConfig({ PUBLIC_URL: "ftp://store.example.com" })).toThrow(/PUBLIC_URL/);
    expect(() => loadConfig({ PLAYBACK_SECRET: "short" })).toThrow(/PLAYBACK_SECRET/);
  });

  it("keeps secrets set in the environment out of the secrets file", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "marquee-secrets-"));
    try {
      const config = loadConfig({ DATA_DIR: dir, PLAYBACK_SECRET: "p".repeat(40) });
      const first = resolveSecrets(config);
      expect(first.playbackSecret).toBe("p".repeat(40));
      expect(first.generated).toEqual(["LOCAL_WEBHOOK_SECRET", "MEDIA_SIGNING_SECRET"]);
      const stored = JSON.parse(readFileSync(first.file, "utf8"));
      expect(stored).toEqual({
        LOCAL_WEBHOOK_SECRET: first.localWebhookSecret,
        MEDIA_SIGNING_SECRET: first.mediaSigningSecret,
      });
      const second = resolveSecrets(loadConfig({ DATA_DIR: dir }));
      expect(second.localWebhookSecret).toBe(first.localWebhookSecret);
      expect(second.mediaSigningSecret).toBe(first.mediaSigningSecret);
      expect(second.generated).toEqual(["PLAYBACK_SECRET"]);
      expect(second.playbackSecret).not.toBe("p".repeat(40));
      expect(resolveSecrets(loadConfig({ DATA_DIR: dir })).generated).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
