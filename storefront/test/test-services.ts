import {
  type Audience,
  COMMERCE_MIGRATIONS,
  Commerce,
  LocalGateway,
  type Role,
  schema,
  type TitleInput,
  type Viewer,
} from "@marquee/commerce";
import type { Row, Title } from "@marquee/contracts";
import type { TitleMediaStatus } from "@marquee/media";
import { createLogger, createPostgres, type PostgresHandle } from "@marquee/runtime";
import type { StorefrontServices, TitleCard } from "../app/context";
import { TestPlayback } from "./test-playback";

/**
 * StorefrontServices for tests and for looking at the app, backed by the REAL commerce
 * (`@marquee/commerce` on an in-memory PGlite with its migrations): accounts, checkout with the
 * local payment gateway, library, watchlist and selling behave exactly as in the store. Only
 * serving (rows, similar titles) is a stand-in, and a small catalogue of titles is seeded.
 */

type FakeTitle = Title & { poster_url: string };

const SEED: Array<[string, string, number, string[], number, Title["age_rating"], string, string[], string]> = [
  [
    "t_nightfall",
    "Nightfall Express",
    2019,
    ["Thriller", "Mystery"],
    118,
    "PG-13",
    "Ines Calder",
    ["Mara Voss", "Teo Lindqvist", "Hana Ito"],
    "A sleeper train crosses the Alps overnight; by dawn, one passenger is missing and everyone has an alibi.",
  ],
  [
    "t_saltwind",
    "Saltwind",
    2021,
    ["Drama"],
    104,
    "PG",
    "Oren Abebe",
    ["Lucia Ferro", "Sam Okafor"],
    "Two estranged sisters inherit a failing oyster farm and one last summer to save it.",
  ],
  [
    "t_orbit9",
    "Orbit Nine",
    2023,
    ["Sci-Fi", "Adventure"],
    132,
    "PG-13",
    "Priya Raman",
    ["Jonah Reyes", "Elle Park", "Viktor Hale"],
    "A salvage crew finds a derelict station still broadcasting a distress call — in their own voices.",
  ],
  [
    "t_paperkings",
    "Paper Kings",
    2017,
    ["Crime", "Drama"],
    126,
    "R",
    "Dario Menet",
    ["Ray Castell", "Nadia Bloom"],
    "A forger and a bank examiner strike an uneasy deal in 1970s Marseille.",
  ],
  [
    "t_lanterns",
    "The Lantern Keepers",
    2020,
    ["Animation", "Family"],
    94,
    "G",
    "Mei Tanaka",
    ["Voice of Ada Quinn", "Voice of Leo Marsh"],
    "In a village where every lantern holds a memory, a girl sets out to relight her grandfather's.",
  ],
  [
    "t_bluehour",
    "Blue Hour",
    2022,
    ["Romance", "Drama"],
    109,
    "PG-13",
    "Camille Roux",
    ["Jules Amara", "Noah Feld"],
    "Two night-shift workers keep missing each other by minutes, until a blackout stops the city.",
  ],
  [
    "t_ironvale",
    "Ironvale",
    2018,
    ["Action", "Western"],
    121,
    "R",
    "Cole Varga",
    ["Wes Dunmore", "Ada Reyes"],
    "A retired marshal rides back into a mining town that has bought itself a new law.",
  ],
  [
    "t_quietroom",
    "The Quiet Room",
    2024,
    ["Horror"],
    97,
    "R",
    "Sigrid Aalto",
    ["Lena Moor", "Felix Strand"],
    "A sound engineer hired to restore old tapes hears something that was never recorded.",
  ],
  [
    "t_fastlane",
    "Last Lap",
    2016,
    ["Sports", "Drama"],
    115,
    "PG",
    "Tom Archer",
    ["Ricky Vale", "June Harper"],
    "A veteran rally driver trains the rival who ended his career for one final race.",
  ],
  [
    "t_wildbloom",
    "Wildbloom",
    2023,
    ["Documentary"],
    88,
    "G",
    "Ana Souza",
    ["Narrated by Ruth Okoye"],
    "A year in a meadow, filmed at the scale of the bees that keep it alive.",
  ],
  [
    "t_cipher",
    "Cipher & Smoke",
    2021,
    ["Thriller", "Crime"],
    112,
    "R",
    "Ines Calder",
    ["Teo Lindqvist", "Mara Voss"],
    "A codebreaker must decide whether the message she cracked is a warning or a trap.",
  ],
  [
    "t_starlight",
    "Starlight Diner",
    2019,
    ["Comedy"],
    99,
    "PG-13",
    "Benny Cho",
    ["Dot Kessler", "Manny Ruiz", "Pia Lund"],
    "The last all-night diner on Route 9 gets one night to prove it is worth saving.",
  ],
];

const FIRST_PALETTE: [string, string, string] = ["#1b2a4a", "#d9485f", "#ffd9a0"];
const PALETTES: Array<[string, string, string]> = [
  FIRST_PALETTE,
  ["#0f3b3a", "#3fb7a5", "#f2f0e6"],
  ["#1a1033", "#7b5cff", "#ffd27a"],
  ["#3a1410", "#e06a2c", "#ffe8c2"],
  ["#102a1d", "#7fc46b", "#fff3c4"],
  ["#2a0f2e", "#e0559b", "#ffe0f0"],
];

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A 400×600 poster: a palette and a shape from the id, the title set in large type. */
export function fakePoster(t: Pick<Title, "id" | "title" | "year" | "director">): string {
  const h = hash(t.id);
  const [bg, mid, ink] = PALETTES[h % PALETTES.length] ?? FIRST_PALETTE;
  const words = t.title.toUpperCase().split(" ");
  const lines: string[] = [];
  for (const w of words) {
    const last = lines[lines.length - 1];
    if (last !== undefined && `${last} ${w}`.length <= 10) lines[lines.length - 1] = `${last} ${w}`;
    else lines.push(w);
  }
  const cx = 120 + (h % 160);
  const cy = 170 + ((h >> 8) % 120);
  const text = lines
    .map((l, i) => `<text x="32" y="${440 + i * 46 - (lines.length - 1) * 46}" font-size="44">${escapeXml(l)}</text>`)
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 600" width="400" height="600">
<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${mid}"/><stop offset="1" stop-color="${bg}"/></linearGradient>
<radialGradient id="s" cx="0.5" cy="0.5" r="0.5"><stop offset="0" stop-color="${ink}" stop-opacity="0.95"/><stop offset="1" stop-color="${ink}" stop-opacity="0"/></radialGradient></defs>
<rect width="400" height="600" fill="url(#g)"/>
<circle cx="${cx}" cy="${cy}" r="150" fill="url(#s)" opacity="0.55"/>
<circle cx="${cx}" cy="${cy}" r="62" fill="${ink}" opacity="0.9"/>
<rect y="330" width="400" height="270" fill="${bg}" opacity="0.55"/>
<g fill="${ink}" font-family="Georgia, 'Times New Roman', serif" font-weight="700" letter-spacing="2">${text}</g>
<text x="32" y="540" fill="${ink}" opacity="0.75" font-family="Helvetica, Arial, sans-serif" font-size="15" letter-spacing="3">${escapeXml(t.director.toUpperCase())} · ${t.year}</text>
</svg>`;
}

/** Rental windows per offer: Orbit Nine (index 2) has its own, the rest the usual 30 days / 48 h. */
const windows = (i: number) =>
  i === 2
    ? { rent_start_window_days: 14, rent_watch_window_hours: 72 }
    : { rent_start_window_days: 30, rent_watch_window_hours: 48 };

export const FAKE_TITLES: FakeTitle[] = SEED.map(
  ([id, title, year, genres, runtime_min, age_rating, director, cast, synopsis], i) => ({
    id,
    title,
    year,
    genres,
    runtime_min,
    age_rating,
    director,
    cast,
    synopsis,
    poster_url: `/posters/${id}.svg`,
    // One title is not on sale, one only for rent; the rest have the full grid.
    offers:
      i === 9
        ? []
        : [
            ...(i === 4
              ? []
              : [
                  { kind: "buy" as const, quality: "SD" as const, price_minor: 799 + i * 10, currency: "USD" },
                  { kind: "buy" as const, quality: "HD" as const, price_minor: 1299 + i * 10, currency: "USD" },
                  { kind: "buy" as const, quality: "4K" as const, price_minor: 1799 + i * 10, currency: "USD" },
                ]),
            { kind: "rent" as const, quality: "SD" as const, price_minor: 299 + i, currency: "USD", ...windows(i) },
            // The first title's HD rental is on sale (list price struck through, with its end).
            i === 0
              ? {
                  kind: "rent" as const,
                  quality: "HD" as const,
                  price_minor: 349,
                  list_price_minor: 399,
                  sale_ends_at: "2031-01-15T12:00:00.000Z",
                  currency: "USD",
                  ...windows(i),
                }
              : { kind: "rent" as const, quality: "HD" as const, price_minor: 399 + i, currency: "USD", ...windows(i) },
            ...(i % 3 === 0
              ? []
              : [
                  {
                    kind: "rent" as const,
                    quality: "4K" as const,
                    price_minor: 549 + i,
                    currency: "USD",
                    ...windows(i),
                  },
                ]),
          ],
  }),
);

/** Offers as commerce stores them: the sale price is a sale on the list price, until its end. */
function toInput(t: FakeTitle): TitleInput {
  const { poster_url: _poster, ...title } = t;
  return {
    ...title,
    offers: t.offers.map((o) => ({
      kind: o.kind,
      quality: o.quality,
      price_minor: o.list_price_minor ?? o.price_minor,
      currency: o.currency,
    })),
    poster_svg: fakePoster(t),
  };
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The windows and sales of FAKE_TITLES' offers, which `upsertTitles` does not take. */
function offerTermsSql(titles: FakeTitle[]): string[] {
  return titles.flatMap((t) =>
    t.offers.flatMap((o) => {
      const set: string[] = [];
      if (o.rent_start_window_days) set.push(`rent_start_window_days = ${Number(o.rent_start_window_days)}`);
      if (o.rent_watch_window_hours) set.push(`rent_watch_window_hours = ${Number(o.rent_watch_window_hours)}`);
      if (o.list_price_minor !== undefined && o.list_price_minor > o.price_minor) {
        set.push(`sale_price_minor = ${Number(o.price_minor)}`);
        if (o.sale_ends_at) set.push(`sale_ends_at = ${quote(o.sale_ends_at)}::timestamptz`);
      }
      if (set.length === 0) return [];
      return [
        `update offers set ${set.join(", ")} where title_id = ${quote(t.id)} and kind = ${quote(o.kind)} and quality = ${quote(o.quality)}`,
      ];
    }),
  );
}

export const TEST_PASSWORD = "correct horse battery staple";
export const TEST_WEBHOOK_SECRET = "whsec_storefront_tests_0123456789";

/** A clock the tests can move forward (throttles, rental windows); real time otherwise. */
export class ShiftedClock {
  private offsetMs = 0;
  now = () => new Date(Date.now() + this.offsetMs);
  advance(ms: number) {
    this.offsetMs += ms;
  }
}

/** One real commerce on an in-memory PGlite, shared by the tests of a file (each test makes its own accounts). */
export interface TestStore {
  commerce: Commerce;
  gateway: LocalGateway;
  clock: ShiftedClock;
  titles: FakeTitle[];
  /** Runs SQL on the store's database (for arranging what no API does, like a title re-rated). */
  sql<T = Record<string, unknown>>(query: string): Promise<T[]>;
  /** A signed-in session for a new account: `kids` switches to a new kids' profile with that limit (PIN 1234); `pin` gives the first profile a purchase PIN. */
  signedIn(options?: { kids?: string; roles?: Role[]; pin?: string }): Promise<{ token: string; viewer: Viewer }>;
  /** Pays a local checkout session as its test page's Pay button does; returns the order page's path. */
  pay(checkoutUrl: string): Promise<string>;
  userExists(email: string): Promise<boolean>;
  close(): Promise<void>;
}

let accounts = 0;

export async function openTestStore(
  options: { titles?: FakeTitle[]; platformFeeBps?: number } = {},
): Promise<TestStore> {
  const titles = options.titles ?? FAKE_TITLES;
  const pg: PostgresHandle<typeof schema> = await createPostgres({ DATABASE_URL: undefined, dataDir: "" }, schema, {
    inMemory: true,
  });
  await pg.migrate(COMMERCE_MIGRATIONS);
  const clock = new ShiftedClock();
  // Checkout URLs point at the host the request-level tests use.
  const gateway = new LocalGateway(pg.db, {
    webhookSecret: TEST_WEBHOOK_SECRET,
    baseUrl: "http://store.test",
    now: clock.now,
  });
  const commerce = new Commerce({
    db: pg.db,
    gateway,
    log: createLogger({ service: "storefront-test", level: "silent" }),
    playbackSecret: "storefront-test-playback-secret",
    now: clock.now,
    ...(options.platformFeeBps !== undefined ? { platformFeeBps: options.platformFeeBps } : {}),
  });
  await commerce.catalog.upsertTitles(titles.map(toInput));
  const sql = async <T>(query: string) => ((await pg.db.execute(query)) as unknown as { rows: T[] }).rows;
  for (const statement of offerTermsSql(titles)) await sql(statement);

  const store: TestStore = {
    commerce,
    gateway,
    clock,
    titles,
    sql,
    async signedIn(opts = {}) {
      const email = `viewer${++accounts}-${Math.random().toString(36).slice(2, 8)}@example.com`;
      let { token, viewer } = await commerce.accounts.signUp({ email, password: TEST_PASSWORD });
      for (const role of opts.roles ?? [])
        if (role !== "viewer") await commerce.accounts.grantRole(viewer.userId, role);
      if (opts.pin) {
        const p = await commerce.accounts.createProfile(viewer, { name: "Grown-up", kind: "standard", pin: opts.pin });
        await commerce.accounts.selectProfile(viewer, p.id);
      }
      if (opts.kids) {
        const kids = await commerce.accounts.createProfile(viewer, {
          name: "Kid",
          kind: "kids",
          max_age_rating: opts.kids as never,
          pin: "1234",
        });
        await commerce.accounts.selectProfile(viewer, kids.id);
      }
      viewer = (await commerce.accounts.authenticate(token)) as Viewer;
      return { token, viewer };
    },
    async pay(checkoutUrl) {
      const id = new URL(checkoutUrl).pathname.split("/").pop() ?? "";
      const next = await gateway.pay(id);
      return new URL(next, "http://store.test").pathname;
    },
    async userExists(email) {
      const rows = await sql<{ n: number }>(
        `select count(*)::int as n from users where email = ${quote(email.toLowerCase())}`,
      );
      return Number(rows[0]?.n) > 0;
    },
    close: () => pg.close(),
  };
  return store;
}

export interface TestServicesOptions {
  /** Rows every actor gets; by default trending, top picks and a "because you watched" row. */
  rows?: Row[];
  publicUrl?: string;
  /** Each title's uploads as media would report them (none by default). */
  media?: Map<string, TitleMediaStatus>;
  /** Playback (films and trailers), after media's contract; by default nothing transcoding, no trailers, no files. */
  playback?: TestPlayback;
}

export interface TestServices extends StorefrontServices {
  store: TestStore;
  commerce: Commerce;
  /** What was asked of the catalogue and serving, so tests can assert on it. */
  calls: { rows: string[]; cards: string[][]; similar: Array<{ itemId: string; actorId?: string }> };
  logged: Array<{ level: "error" | "warn"; obj: object; msg?: string }>;
  media: TestPlayback;
}

function defaultRows(titles: FakeTitle[]): Row[] {
  const ids = titles.map((t) => t.id);
  const ranked = (list: string[]) => list.map((id, i) => ({ id, score: 1 - i / 100 }));
  return [
    {
      id: "trending",
      title: "Trending now",
      reason: "Popular on Marquee this week",
      model_version: "popularity@fake-1",
      variant: "control",
      experiment: null,
      items: ranked(ids),
    },
    {
      id: "top-picks",
      title: "Top picks for you",
      reason: "Picked for you from what you watch",
      model_version: "cooc@fake-1",
      variant: "control",
      experiment: null,
      items: ranked([...ids].reverse()),
    },
    {
      id: "because-you-watched",
      title: "Because you watched Nightfall Express",
      reason: "Titles often watched together",
      model_version: "cooc@fake-1",
      variant: "control",
      experiment: null,
      items: ranked(ids.filter((_, i) => i % 2 === 0)),
    },
  ];
}

/**
 * Services over `store`, cheap to make per test: the catalogue and commerce are the store's
 * (real), serving is a stand-in that ranks the seeded titles, and calls and logs are recorded.
 */
export function testServices(store: TestStore, options: TestServicesOptions = {}): TestServices {
  const { titles, commerce } = store;
  const byId = new Map(titles.map((t) => [t.id, t]));
  const rows = options.rows ?? defaultRows(titles);
  const calls: TestServices["calls"] = { rows: [], cards: [], similar: [] };
  const logged: TestServices["logged"] = [];
  const posterUrl = (id: string) => `/posters/${encodeURIComponent(id)}.svg`;
  const withPoster = <T extends { id: string }>(c: T) => ({ ...c, poster_url: posterUrl(c.id) });

  return {
    store,
    calls,
    logged,
    commerce,
    media: options.playback ?? new TestPlayback(store),
    eventsUrl: "/v1/events",
    ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    // Who may see a title's media is commerce's rule (real); what was uploaded is the test's to say.
    uploads: {
      endpoint: "/media/uploads",
      async status(viewer, titleId) {
        await commerce.selling.mayManageMedia(viewer, titleId);
        return options.media?.get(titleId) ?? { title_id: titleId, items: [], film_ready: false };
      },
    },
    log: {
      error: (obj, msg) => logged.push({ level: "error", obj, msg }),
      warn: (obj, msg) => logged.push({ level: "warn", obj, msg }),
    },
    catalog: {
      async cards(ids, audience?: Audience): Promise<TitleCard[]> {
        calls.cards.push(ids);
        return (await commerce.catalog.cards(ids, audience)).map(withPoster);
      },
      async title(id, audience) {
        const t = await commerce.catalog.title(id, audience, store.clock.now());
        return t ? withPoster(t) : null;
      },
      poster: (id, audience) => commerce.catalog.poster(id, audience),
      async search(query, opts) {
        return (await commerce.catalog.search(query, opts)).map(withPoster);
      },
    },
    serving: {
      async rows(actorId, opts) {
        calls.rows.push(actorId);
        const limit = opts?.limit ?? 20;
        return { user_id: actorId, rows: rows.map((r) => ({ ...r, items: r.items.slice(0, limit) })) };
      },
      async similar(itemId, opts) {
        calls.similar.push({ itemId, ...(opts?.actorId ? { actorId: opts.actorId } : {}) });
        const t = byId.get(itemId);
        const genres = new Set(t?.genres ?? []);
        const items = titles
          .filter((o) => o.id !== itemId)
          .map((o) => ({
            id: o.id,
            score: o.genres.filter((g) => genres.has(g)).length + (o.director === t?.director ? 1 : 0),
          }))
          .sort((a, b) => b.score - a.score)
          .slice(0, opts?.limit ?? 20);
        return { item_id: itemId, items, model_version: "cooc@fake-1", variant: "control", experiment: null };
      },
    },
  };
}
