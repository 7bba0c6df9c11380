import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { COMMERCE_MIGRATIONS, Commerce, LocalGateway, schema, type TitleInput, type Viewer } from "@marquee/commerce";
import { createLogger, createPostgres, type PostgresHandle } from "@marquee/runtime";
import Fastify, { type FastifyInstance } from "fastify";
import { mediaOriginRoutes, type OriginAccess } from "../src/origin.ts";
import { MediaPlayback, type PlaybackAsset, type PlaybackAssets } from "../src/playback.ts";
import { mediaPlaybackRoutes } from "../src/playback-routes.ts";
import { MediaSigner } from "../src/signing.ts";
import { LocalStorage } from "../src/storage.ts";
import { MemoryStreamSessions } from "../src/stream-sessions.ts";

/**
 * A real store for playback tests: commerce on an in-memory PGlite (its migrations, the local
 * payment gateway, a clock the test moves), a LocalStorage in a temporary folder holding a tiny
 * AES-128 HLS film made by ffmpeg, and the origin and playback routes on a real port.
 */

export const FILM = "t_film";
export const ADULT = "t_adult";
export const PREPARING = "t_preparing";
export const NO_VIDEO = "t_novideo";
export const TRAILER_ONLY = "t_trailer";
/** A title whose film is another's rendition (as demo titles share a pool clip). */
export const LINKED = "t_linked";
// Asset ids are new for every upload in the store; here for every run, so an edge's cache
// (which outlives a test run) never answers one run's files with another's.
const RUN = randomBytes(4).toString("hex");
export const FILM_ASSET = `a_film_${RUN}`;
export const ADULT_ASSET = `a_adult_${RUN}`;
export const TRAILER_ASSET = `a_trailer_${RUN}`;

export class Clock {
  constructor(public current = new Date("2026-06-01T12:00:00Z")) {}
  now = () => new Date(this.current.getTime());
  advance(ms: number) {
    this.current = new Date(this.current.getTime() + ms);
  }
}

function title(id: string, rating: TitleInput["age_rating"] = "PG"): TitleInput {
  return {
    id,
    title: `Film ${id}`,
    year: 2020,
    genres: ["Drama"],
    runtime_min: 90,
    age_rating: rating,
    synopsis: "A film.",
    cast: ["A. Actor"],
    director: "D. Rector",
    offers: [
      { kind: "buy", quality: "HD", price_minor: 1499, currency: "USD" },
      { kind: "rent", quality: "HD", price_minor: 399, currency: "USD" },
    ],
  } as TitleInput;
}

/**
 * A 4 s, 160x90 HLS rendition (MPEG-TS, 2 s segments) encrypted with `key`, its master playlist,
 * a poster and a thumbnails map, in the pipeline's layout under `dir`.
 */
export function makeHlsAsset(dir: string, key: Buffer, iv: Buffer): void {
  const work = mkdtempSync(path.join(os.tmpdir(), "marquee-hls-key-"));
  try {
    mkdirSync(path.join(dir, "v90"), { recursive: true });
    mkdirSync(path.join(dir, "thumbs"), { recursive: true });
    writeFileSync(path.join(work, "key.bin"), key);
    writeFileSync(path.join(work, "key.info"), `../key\n${path.join(work, "key.bin")}\n${iv.toString("hex")}\n`);
    execFileSync(
      "ffmpeg",
      [
        ...["-nostdin", "-v", "error", "-y"],
        ...["-f", "lavfi", "-i", "testsrc=size=160x90:rate=15:duration=4"],
        ...["-f", "lavfi", "-i", "sine=frequency=440:duration=4"],
        ...["-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-keyint_min", "30", "-sc_threshold", "0"],
        ...["-c:a", "aac", "-b:a", "32k", "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod"],
        ...["-hls_key_info_file", path.join(work, "key.info")],
        ...["-hls_segment_filename", path.join(dir, "v90", "seg_%03d.ts"), path.join(dir, "v90", "index.m3u8")],
      ],
      { stdio: "pipe", timeout: 60_000 },
    );
    execFileSync(
      "ffmpeg",
      ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x90", "-frames:v", "1"].concat([
        path.join(dir, "poster.jpg"),
      ]),
      { stdio: "pipe", timeout: 30_000 },
    );
    execFileSync(
      "ffmpeg",
      ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=80x45", "-frames:v", "1"].concat([
        path.join(dir, "thumbs", "sprite.jpg"),
      ]),
      { stdio: "pipe", timeout: 30_000 },
    );
    writeFileSync(
      path.join(dir, "master.m3u8"),
      '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=160x90,CODECS="avc1.42c00c,mp4a.40.2"\nv90/index.m3u8\n',
    );
    writeFileSync(
      path.join(dir, "thumbs", "thumbs.vtt"),
      "WEBVTT\n\n00:00:00.000 --> 00:00:04.000\nsprite.jpg#xywh=0,0,80,45\n",
    );
    // An fMP4 segment's name and type, for the MIME check (bytes need not be real here).
    writeFileSync(path.join(dir, "v90", "extra_001.m4s"), randomBytes(4096));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface PlaybackEnv {
  commerce: Commerce;
  clock: Clock;
  storage: LocalStorage;
  signer: MediaSigner;
  playback: MediaPlayback;
  app: FastifyInstance;
  /** The origin's base URL (http://127.0.0.1:port). */
  base: string;
  key: Buffer;
  iv: Buffer;
  /** Every request the origin answered, in order. */
  access: OriginAccess[];
  assets: Map<string, PlaybackAsset>;
  /** A signed-in viewer (optionally on a kids' profile limited to `kids`). */
  signUp(opts?: { kids?: string }): Promise<{ token: string; viewer: Viewer }>;
  /** Buys or rents `titleId` through the local checkout, paid. */
  acquire(viewer: Viewer, titleId: string, kind: "buy" | "rent"): Promise<void>;
  close(): Promise<void>;
}

export const SIGNING_SECRET = "media-test-signing-secret-0123456789abcdef";

export async function openPlaybackEnv(
  options: { port?: number; secret?: string; tokenTtlS?: number; maxStreams?: number; start?: Date } = {},
): Promise<PlaybackEnv> {
  const pg: PostgresHandle<typeof schema> = await createPostgres({ DATABASE_URL: undefined, dataDir: "" }, schema, {
    inMemory: true,
  });
  await pg.migrate(COMMERCE_MIGRATIONS);
  // The edge checks expiry by the real clock: its tests start the store's clock at the real now.
  const clock = new Clock(options.start);
  const gateway = new LocalGateway(pg.db, {
    webhookSecret: "whsec_media_test",
    baseUrl: "http://store.test",
    now: clock.now,
  });
  const logger = createLogger({ service: "media-test", level: "silent" });
  const commerce = new Commerce({
    db: pg.db,
    gateway,
    log: logger,
    playbackSecret: "media-test-playback-secret",
    now: clock.now,
  });
  await commerce.catalog.upsertTitles([
    title(FILM),
    title(ADULT, "R"),
    title(PREPARING),
    title(NO_VIDEO),
    title(TRAILER_ONLY),
    title(LINKED),
  ]);

  const dir = mkdtempSync(path.join(os.tmpdir(), "marquee-media-"));
  const storage = new LocalStorage(dir);
  const key = randomBytes(16);
  const iv = randomBytes(16);
  const filmDir = path.join(dir, "titles", FILM, "film", FILM_ASSET);
  makeHlsAsset(filmDir, key, iv);
  // The same files serve as the adult film and as a public trailer (a trailer is not encrypted in
  // the store; here only its routes and headers matter).
  for (const [t, kind, a] of [
    [ADULT, "film", ADULT_ASSET],
    [TRAILER_ONLY, "trailer", TRAILER_ASSET],
  ] as const) {
    const to = path.join(dir, "titles", t, kind, a);
    mkdirSync(to, { recursive: true });
    execFileSync("cp", ["-r", `${filmDir}/.`, to]);
  }
  const assets = new Map<string, PlaybackAsset>([
    [`${FILM}/film`, { id: FILM_ASSET, status: "ready", duration_s: 4 }],
    [`${ADULT}/film`, { id: ADULT_ASSET, status: "ready", duration_s: 4 }],
    [`${PREPARING}/film`, { id: "a_prep", status: "preparing", duration_s: null }],
    [`${TRAILER_ONLY}/trailer`, { id: TRAILER_ASSET, status: "ready", duration_s: 4 }],
    [
      `${LINKED}/film`,
      { id: `a_linked_${RUN}`, root: `titles/${FILM}/film/${FILM_ASSET}`, status: "ready", duration_s: 4 },
    ],
  ]);
  const keys = new Map([
    [FILM_ASSET, key],
    [ADULT_ASSET, key],
    [`a_linked_${RUN}`, key],
  ]);
  const lookup: PlaybackAssets = {
    currentAsset: async (titleId, kind) => assets.get(`${titleId}/${kind}`) ?? null,
    keyOf: async (assetId) => keys.get(assetId) ?? null,
  };
  const signer = new MediaSigner(options.secret ?? SIGNING_SECRET, clock.now);
  const playback = new MediaPlayback({
    rules: commerce.library,
    assets: lookup,
    signer,
    streams: new MemoryStreamSessions(),
    storage,
    logger,
    titleVisible: async (id, audience) => (await commerce.catalog.title(id, audience, clock.now())) !== null,
    now: clock.now,
    ...(options.tokenTtlS ? { tokenTtlS: options.tokenTtlS } : {}),
    ...(options.maxStreams ? { maxStreams: options.maxStreams } : {}),
  });
  const access: OriginAccess[] = [];
  const app = Fastify();
  await app.register(mediaOriginRoutes, {
    storage,
    signer,
    key: (claims) => playback.key(claims),
    requester: async (req) => {
      const h = req.headers.authorization;
      return h?.startsWith("Bearer ") ? commerce.accounts.authenticate(h.slice(7)) : null;
    },
    accessLog: (e) => access.push(e),
    logger,
  });
  await app.register(mediaPlaybackRoutes, {
    playback,
    authenticate: async (req) => {
      const h = req.headers.authorization;
      return h?.startsWith("Bearer ") ? commerce.accounts.authenticate(h.slice(7)) : null;
    },
  });
  const base = await app.listen({ host: "127.0.0.1", port: options.port ?? 0 });

  let n = 0;
  return {
    commerce,
    clock,
    storage,
    signer,
    playback,
    app,
    base,
    key,
    iv,
    access,
    assets,
    async signUp(opts = {}) {
      const email = `viewer${++n}-${Math.random().toString(36).slice(2, 8)}@example.com`;
      const { token, viewer } = await commerce.accounts.signUp({ email, password: "correct horse battery" });
      if (opts.kids) {
        const kids = await commerce.accounts.createProfile(viewer, {
          name: "Kid",
          kind: "kids",
          max_age_rating: opts.kids as never,
          pin: "1234",
        });
        await commerce.accounts.selectProfile(viewer, kids.id);
      }
      return { token, viewer: (await commerce.accounts.authenticate(token)) as Viewer };
    },
    async acquire(viewer, titleId, kind) {
      const co = await commerce.checkout.create(
        viewer,
        { items: [{ title_id: titleId, kind, quality: "HD" }] },
        { successUrl: "http://store.test/orders/{ORDER_ID}", cancelUrl: "http://store.test/" },
      );
      await gateway.pay(new URL(co.checkout_url ?? "").pathname.split("/").pop() ?? "");
    },
    async close() {
      await app.close();
      await pg.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The first segment of the fixture's rendition (its storage key and bytes). */
export function firstSegment(env: PlaybackEnv): { name: string; bytes: Buffer } {
  const folder = path.join(env.storage.root, "titles", FILM, "film", FILM_ASSET, "v90");
  const name =
    readdirSync(folder)
      .filter((f) => f.endsWith(".ts"))
      .sort()[0] ?? "";
  return { name, bytes: readFileSync(path.join(folder, name)) };
}
