/**
 * `npm run bench:checkout`: the purchase path against a real Postgres. Viewers create
 * checkouts (order + payment session, through the local gateway that embedded mode uses);
 * the provider marks the sessions paid; then every session's signed
 * `checkout.session.completed` is delivered TWICE, all deliveries shuffled, with
 * BENCH_CONCURRENCY in flight, through the webhook handler that grants entitlements.
 * Prints one JSON line:
 *   {"grants_per_s":…,"p99_ms":…,"duplicate_grants":…, …details}
 * grants_per_s counts granted orders over the whole run (checkouts + deliveries); p99_ms is
 * over every request (checkout creates and webhook deliveries). Uses DATABASE_URL when set,
 * else starts infra/postgres/start.sh; either way in a database of its own, dropped after.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  Catalog,
  COMMERCE_MIGRATIONS,
  Commerce,
  entitlements,
  LocalGateway,
  localCheckoutSessions,
  type SignedIn,
  schema,
  type TitleInput,
} from "@marquee/commerce";
import { createLogger, createPostgres, rowsOf } from "@marquee/runtime";
import { inArray, sql } from "drizzle-orm";
import Stripe from "stripe";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const ORDERS = Number(process.env.BENCH_ORDERS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 6);
const VIEWERS = Math.max(1, Number(process.env.BENCH_VIEWERS ?? 100));
const SECRET = "whsec_bench_local_secret_0123456789";

async function main() {
  let url = process.env.DATABASE_URL;
  if (!url) {
    const { stdout } = await promisify(execFile)("bash", [path.join(REPO, "infra/postgres/start.sh")], {
      maxBuffer: 1 << 20,
    });
    url = stdout.trim().split("\n").pop() ?? "";
  }
  const name = `marquee_bench_${Date.now()}`;
  const admin = await createPostgres({ DATABASE_URL: url, dataDir: "" }, {});
  await admin.db.execute(sql.raw(`create database ${name}`));
  const u = new URL(url);
  u.pathname = `/${name}`;
  const pg = await createPostgres({ DATABASE_URL: u.toString(), dataDir: "" }, schema);
  try {
    await pg.migrate(COMMERCE_MIGRATIONS);
    const titlesPerViewer = Math.ceil(ORDERS / VIEWERS);
    const catalogue: TitleInput[] = Array.from({ length: titlesPerViewer }, (_, i) => ({
      id: `bench-${i}`,
      title: `Bench film ${i}`,
      year: 2020,
      genres: ["Drama"],
      runtime_min: 100,
      age_rating: "PG",
      synopsis: "",
      cast: [],
      director: "",
      offers: [
        { kind: "buy", quality: "HD", price_minor: 1499, currency: "USD" },
        { kind: "rent", quality: "HD", price_minor: 399, currency: "USD" },
      ],
    }));
    await new Catalog(pg.db).upsertTitles(catalogue);
    const log = createLogger({ service: "bench-checkout", level: "silent" });
    const gateway = new LocalGateway(pg.db, { webhookSecret: SECRET, baseUrl: "http://bench.local" });
    const commerce = new Commerce({ db: pg.db, gateway, log, playbackSecret: "bench-playback-secret" });
    const viewers: SignedIn[] = [];
    for (let i = 0; i < VIEWERS; i++)
      viewers.push(await commerce.accounts.signUp({ email: `bench${i}@example.com`, password: "bench password 123" }));

    const latencies: number[] = [];
    const timed = async <T>(fn: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await fn();
      } finally {
        latencies.push(performance.now() - t0);
      }
    };
    const jobs = Array.from({ length: ORDERS }, (_, i) => ({
      viewer: viewers[i % VIEWERS] as SignedIn,
      titleId: `bench-${Math.floor(i / VIEWERS)}`,
      kind: (i % 3 === 0 ? "rent" : "buy") as "rent" | "buy",
    }));

    const started = performance.now();
    const sessions: string[] = [];
    await pool(jobs, CONCURRENCY, async (job) => {
      const co = await timed(() =>
        commerce.checkout.create(
          job.viewer.viewer,
          { items: [{ title_id: job.titleId, kind: job.kind, quality: "HD" }] },
          { successUrl: "http://bench.local/orders/{ORDER_ID}", cancelUrl: "http://bench.local/" },
        ),
      );
      sessions.push(co.checkout_url?.split("/").pop() ?? "");
    });
    const createdMs = performance.now() - started;
    // The provider's side: the viewers paid (not timed; it is Stripe's work, not ours).
    const paidStarted = performance.now();
    await pg.db
      .update(localCheckoutSessions)
      .set({ status: "complete", paymentStatus: "paid" })
      .where(inArray(localCheckoutSessions.id, sessions));
    const providerMs = performance.now() - paidStarted;

    const signer = new Stripe("sk_test_bench_signing_only");
    const deliveries = sessions.flatMap((id, n) => {
      const payload = JSON.stringify({
        id: `evt_bench_${n}`,
        object: "event",
        type: "checkout.session.completed",
        created: Math.floor(Date.now() / 1000),
        data: { object: { id, object: "checkout.session" } },
      });
      const header = signer.webhooks.generateTestHeaderString({ payload, secret: SECRET });
      return [
        { payload, header },
        { payload, header },
      ];
    });
    shuffle(deliveries, 42);
    const results: Record<string, number> = {};
    const deliveredStarted = performance.now();
    await pool(deliveries, CONCURRENCY, async (d) => {
      const outcome = await timed(() => commerce.fulfilment.handleWebhook(d.payload, d.header));
      results[outcome.result] = (results[outcome.result] ?? 0) + 1;
    });
    const deliveredMs = performance.now() - deliveredStarted;
    const totalMs = createdMs + deliveredMs;

    const [dups] = await pg.db
      .execute<{ n: number }>(sql`
      select count(*)::int as n from (
        select user_id, title_id from ${entitlements} group by user_id, title_id having count(*) > 1
      ) d`)
      .then((r) => rowsOf<{ n: number }>(r));
    const [granted] = await pg.db
      .execute<{ n: number }>(sql`select count(*)::int as n from ${entitlements}`)
      .then((r) => rowsOf<{ n: number }>(r));
    const sorted = [...latencies].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
    process.stdout.write(
      `${JSON.stringify({
        grants_per_s: Math.round((ORDERS / totalMs) * 1000),
        p99_ms: round(q(0.99)),
        duplicate_grants: (dups?.n ?? 0) + Math.max(0, (granted?.n ?? 0) - ORDERS),
        orders: ORDERS,
        entitlements: granted?.n ?? 0,
        deliveries: deliveries.length,
        outcomes: results,
        concurrency: CONCURRENCY,
        p50_ms: round(q(0.5)),
        checkout_s: round(createdMs / 1000),
        webhooks_s: round(deliveredMs / 1000),
        provider_s: round(providerMs / 1000),
        postgres: "server",
      })}\n`,
    );
  } finally {
    await pg.close();
    // The pool's connections may still be closing on the server: try the drop a few times, and
    // only warn if it never works (the figures are already printed).
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.db.execute(sql.raw(`drop database if exists ${name} with (force)`));
        break;
      } catch (err) {
        if (attempt >= 5) {
          process.stderr.write(
            `bench:checkout: could not drop ${name}: ${err instanceof Error ? err.message : String(err)}\n`,
          );
          break;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
    await admin.close();
  }
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await fn(item);
      }
    }),
  );
}

/** Fisher–Yates with a small fixed-seed generator, so every run shuffles alike. */
function shuffle<T>(a: T[], seed: number): void {
  let s = seed >>> 0;
  const rand = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
}

const round = (x: number) => Math.round(x * 10) / 10;

main().catch((err) => {
  process.stderr.write(`bench:checkout failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
