import { existsSync } from "node:fs";
import { COMMERCE_MIGRATIONS, Commerce, LocalGateway, schema } from "@marquee/commerce";
import { commerceApiRoutes } from "@marquee/commerce/http";
import { AppError, createLogger, createPostgres, httpErrorHandler, type PostgresHandle } from "@marquee/runtime";
import { remixRoutes, STOREFRONT_BUILD, type StorefrontServices } from "@marquee/storefront";
import type { ServerBuild } from "@remix-run/node";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BASE = "http://store.test";
const LIMIT = 2;
const CSRF = "c".repeat(43);
const built = existsSync(STOREFRONT_BUILD.server);
if (!built && process.env.CI === "true") throw new Error("storefront build missing under CI=true");

/**
 * The store as cli/src/app.ts mounts it (the JSON API, then the Remix storefront with the
 * socket address in its load context) on a real commerce, with a per-client limit of LIMIT
 * sign-ups and sign-ins a minute. The limit is counted in commerce, where attempts are handled.
 */
describe.skipIf(!built)(
  "the store's front doors (API and storefront): attempts per client, however the URL is spelled, and NUL input",
  () => {
    let pg: PostgresHandle<typeof schema>;
    let app: FastifyInstance;
    beforeAll(async () => {
      pg = await createPostgres({ DATABASE_URL: undefined, dataDir: "" }, schema, { inMemory: true });
      await pg.migrate(COMMERCE_MIGRATIONS);
      const log = createLogger({ service: "auth-limit-test", level: "silent" });
      const gateway = new LocalGateway(pg.db, { webhookSecret: "whsec_test_0123456789abcdef", baseUrl: BASE });
      const commerce = new Commerce({
        db: pg.db,
        gateway,
        log,
        playbackSecret: "playback-secret-for-tests",
        authAttemptsPerMinute: LIMIT,
      });
      const services: StorefrontServices = {
        catalog: { cards: async () => [], title: async () => null, poster: async () => null, search: async () => [] },
        serving: {
          rows: async (id) => ({ user_id: id, rows: [] }) as never,
          similar: async (id) => ({ item_id: id, items: [] }) as never,
        },
        commerce,
        // Nothing is uploaded here: this test is about the front doors.
        uploads: {
          endpoint: "/media/uploads",
          status: async (_viewer, titleId) => ({ title_id: titleId, items: [], film_ready: false }),
        },
        // Nor played: no title has media.
        media: {
          startFilm: async () => {
            throw new AppError("not_found", "no such title");
          },
          trailer: async () => null,
        },
        publicUrl: BASE,
        eventsUrl: "/v1/events",
        log,
      };
      app = Fastify({ logger: false });
      app.setErrorHandler(httpErrorHandler);
      await app.register(commerceApiRoutes, { commerce, publicUrl: BASE });
      const build = (await import(STOREFRONT_BUILD.server)) as ServerBuild;
      await app.register(remixRoutes, {
        build,
        mode: "production",
        loadContext: (request) => ({ services, clientAddress: request.ip }),
      });
      await app.ready();
    });
    afterAll(async () => {
      await app?.close();
      await pg?.close();
    });

    let client = 0;
    const nextClient = () => `198.51.100.${++client}`;
    const apiPost = (url: string, ip: string, payload: object) =>
      app.inject({ method: "POST", url, remoteAddress: ip, payload });
    const formPost = (url: string, ip: string, fields: Record<string, string>) =>
      app.inject({
        method: "POST",
        url,
        remoteAddress: ip,
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: `mq_csrf=${CSRF}` },
        payload: new URLSearchParams({ _csrf: CSRF, ...fields }).toString(),
      });
    // A new address each time, so only the per-client limit (not an address's throttle) can answer 429.
    let address = 0;
    const wrongSignIn = () => ({ email: `someone${++address}@example.com`, password: "not the password" });

    it("counts the plain API and storefront routes", async () => {
      const ip = nextClient();
      expect((await apiPost("/api/v1/auth/signin", ip, wrongSignIn())).statusCode).toBe(401);
      expect((await formPost("/signin", ip, wrongSignIn())).statusCode).toBe(401);
      expect((await apiPost("/api/v1/auth/signin", ip, wrongSignIn())).statusCode).toBe(429);
      // Another client is not affected.
      expect((await apiPost("/api/v1/auth/signin", nextClient(), wrongSignIn())).statusCode).toBe(401);
    });

    const spellings: [string, (ip: string) => ReturnType<typeof apiPost>][] = [
      ["/api/v1/auth/sign%69n", (ip) => apiPost("/api/v1/auth/sign%69n", ip, wrongSignIn())],
      [
        "/api/v1/auth/sign%75p",
        (ip) => apiPost("/api/v1/auth/sign%75p", ip, { email: `u${ip}@example.com`, password: "a long password!" }),
      ],
      ["/signin.data", (ip) => formPost("/signin.data", ip, wrongSignIn())],
      ["/signin.data?index", (ip) => formPost("/signin.data?index", ip, wrongSignIn())],
      ["/signin/", (ip) => formPost("/signin/", ip, wrongSignIn())],
      [
        "/signup.data",
        (ip) => formPost("/signup.data", ip, { email: `v${ip}@example.com`, password: "a long password!" }),
      ],
    ];
    for (const [spelling, attempt] of spellings) {
      it(`limits ${spelling}`, async () => {
        const ip = nextClient();
        for (let i = 0; i < LIMIT; i++)
          expect((await apiPost("/api/v1/auth/signin", ip, wrongSignIn())).statusCode).toBe(401);
        const over = await attempt(ip);
        expect(over.statusCode, over.body.slice(0, 300)).toBe(429);
        // And it is itself counted: a fresh client's tries through it run out the same way.
        const fresh = nextClient();
        for (let i = 0; i < LIMIT; i++) expect((await attempt(fresh)).statusCode).not.toBe(429);
        expect((await apiPost("/api/v1/auth/signin", fresh, wrongSignIn())).statusCode).toBe(429);
      });
    }

    it("answers a NUL byte in a storefront form or search with 400 and a reason, not a 500 (and counts nothing)", async () => {
      const ip = nextClient();
      for (const [url, fields] of [
        ["/signup", { email: "nul@example.com", password: "a long password!", display_name: "A\u0000B" }],
        ["/signup.data", { email: "nul\u0000@example.com", password: "a long password!" }],
        ["/signin", { email: "nul@example.com", password: "pass\u0000word long" }],
        ["/profiles", { intent: "create", name: "Kid\u0000" }],
        ["/sell/titles/new", { title: "Film\u0000", year: "2024" }],
      ] as const) {
        const res = await formPost(url, ip, fields);
        expect(res.statusCode, `${url} ${res.body.slice(0, 200)}`).toBe(400);
        expect(res.body).toMatch(/NUL/);
      }
      const search = await app.inject({ url: "/search?q=gi%00ant", remoteAddress: ip });
      expect(search.statusCode).toBe(400);
      expect(search.body).toMatch(/NUL/);
      // None of them was an attempt: this client still has its whole minute.
      for (let i = 0; i < LIMIT; i++)
        expect((await apiPost("/api/v1/auth/signin", ip, wrongSignIn())).statusCode).toBe(401);
    });
  },
);
