/**
 * Serves the built storefront with test services (the real commerce on an in-memory PGlite, a
 * stand-in for serving), to look at it without the rest of Marquee:
 *   npm run build -w @marquee/storefront && node --import tsx storefront/test/serve.ts [port]
 * Also accepts POST /v1/events (kept in memory; GET /__events lists them) like the collector,
 * and serves the local test checkout at /checkout/local/<session> (Pay pays it); `/media/…` goes to
 * the services' TestPlayback (a signed origin and heartbeat over an ffmpeg-made HLS fixture).
 */
import { createReadStream, mkdtempSync } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createRequestHandler, type ServerBuild } from "@remix-run/node";
import type { StorefrontServices } from "../app/context";
import { hasFfmpeg, makeHlsFixture } from "./hls-fixture";
import { sendFetchResponse, toFetchRequest } from "./node-fetch-adapter";
import { TestPlayback } from "./test-playback";
import { openTestStore, type TestStore, testServices } from "./test-services";

const BUILD_DIR = fileURLToPath(new URL("../build/", import.meta.url));
const CLIENT_DIR = join(BUILD_DIR, "client");

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
};

async function staticFile(pathname: string): Promise<{ path: string; size: number } | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  const path = normalize(join(CLIENT_DIR, decoded));
  if (!path.startsWith(CLIENT_DIR + sep)) return null;
  try {
    const s = await stat(path);
    return s.isFile() ? { path, size: s.size } : null;
  } catch {
    return null;
  }
}

export interface StartedServer {
  server: Server;
  url: string;
  services: StorefrontServices;
  events: unknown[];
  /** Stops the server and the store it opened (not one it was given). */
  close(): Promise<void>;
}

export async function startServer(
  options: { port?: number; services?: StorefrontServices; store?: TestStore } = {},
): Promise<StartedServer> {
  const build = (await import(pathToFileURL(join(BUILD_DIR, "server", "index.js")).href)) as ServerBuild;
  const handle = createRequestHandler(build, "production");
  const opened = options.services || options.store ? null : await openTestStore();
  const store = options.store ?? opened;
  const services = options.services ?? testServices(store as TestStore);
  const events: unknown[] = [];

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      // Media's origin, when the services' playback can serve files (TestPlayback with a fixture).
      const media = services.media as Partial<TestPlayback>;
      if (url.pathname.startsWith("/media/") && typeof media.handle === "function" && (await media.handle(req, res)))
        return;
      if (req.method === "POST" && url.pathname === "/v1/events") {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { events: unknown[] };
        events.push(...body.events);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ accepted: body.events.length, rejected: [] }));
        return;
      }
      const local = /^\/checkout\/local\/(cs_local_[A-Za-z0-9_]+)(\/pay)?$/.exec(url.pathname);
      if (local && store) {
        const sessionId = local[1] as string;
        if (req.method === "POST" && local[2]) {
          res.writeHead(303, { location: await store.pay(`http://store.test/checkout/local/${sessionId}`) });
          res.end();
          return;
        }
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(
          `<!doctype html><title>Test checkout</title><h1>Test checkout</h1><form method="post" action="${url.pathname}/pay"><button>Pay</button></form>`,
        );
        return;
      }
      if (req.method === "GET" && url.pathname === "/__events") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(events));
        return;
      }
      if (req.method === "GET" || req.method === "HEAD") {
        const file = await staticFile(url.pathname);
        if (file) {
          res.writeHead(200, {
            "content-type": TYPES[extname(file.path)] ?? "application/octet-stream",
            "content-length": file.size,
            "cache-control": url.pathname.startsWith("/assets/")
              ? "public, max-age=31536000, immutable"
              : "public, max-age=3600",
          });
          if (req.method === "HEAD") res.end();
          else createReadStream(file.path).pipe(res);
          return;
        }
      }
      await sendFetchResponse(res, await handle(toFetchRequest(req, res), { services }));
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end("Internal error");
      process.stderr.write(`serve: ${String(err)}\n`);
    }
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    services,
    events,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await opened?.close();
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const port = Number(process.argv[2] ?? 3100);
  // With ffmpeg, every film and trailer plays one generated clip (see hls-fixture.ts).
  const store = await openTestStore();
  const fixture = hasFfmpeg ? await makeHlsFixture(mkdtempSync(join(tmpdir(), "marquee-serve-hls-")), 60) : null;
  const trailers = new Map(fixture ? store.titles.map((t) => [t.id, "ready" as const]) : []);
  const services = testServices(store, { playback: new TestPlayback(store, { fixture, trailers }) });
  const { url } = await startServer({ port, services, store });
  process.stdout.write(`storefront (test services${fixture ? ", HLS clip" : ""}) on ${url}\n`);
}
