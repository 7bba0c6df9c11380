import { type CollectedEvent, EVENT_TYPES, EventSchema, TitleSchema } from "@marquee/contracts";
import { beforeAll, describe, expect, it } from "vitest";
import { GENRE_PROFILES, type Genre } from "./genres.ts";
import { generateTitles } from "./titles.ts";
import { generateWorld, INTERACTION_TYPES, WINDOW_DAYS, type World } from "./world.ts";

const NOW = new Date("2026-11-25T00:00:00.000Z");
const ITEM_INTERACTIONS = new Set<string>(INTERACTION_TYPES.filter((t) => t !== "not_interested" && t !== "refund"));

let world: World;
let events: CollectedEvent[];

beforeAll(() => {
  world = generateWorld({ scale: "tiny", seed: 7, now: NOW });
  events = [...world.events()];
});

function byUser(list: readonly CollectedEvent[]): Map<string, CollectedEvent[]> {
  const out = new Map<string, CollectedEvent[]>();
  for (const e of list) {
    const id = e.user_id as string;
    const xs = out.get(id);
    if (xs === undefined) out.set(id, [e]);
    else xs.push(e);
  }
  return out;
}

describe("generateWorld", () => {
  it("is deterministic: the same seed gives identical output, another seed a different one", () => {
    const again = generateWorld({ scale: "tiny", seed: 7, now: NOW });
    expect(again.titles).toEqual(world.titles);
    expect(again.users).toEqual(world.users);
    expect(JSON.stringify([...again.events()])).toBe(JSON.stringify(events));
    // Iterating the stream directly gives the same events again.
    let n = 0;
    for (const e of world.events) {
      if (e.event_id !== events[n]?.event_id) throw new Error(`event ${n} differs on a second pass`);
      n++;
    }
    expect(n).toBe(events.length);

    const other = generateWorld({ scale: "tiny", seed: 8, now: NOW });
    expect(other.titles.map((t) => t.title)).not.toEqual(world.titles.map((t) => t.title));
    expect(other.users.map((u) => u.genre_affinity)).not.toEqual(world.users.map((u) => u.genre_affinity));
    const first = other.events().next().value as CollectedEvent;
    expect(first.event_id).not.toBe(events[0]?.event_id);
  });

  it("builds the tiny world at its size, in well under a second", () => {
    const started = performance.now();
    const w = generateWorld({ scale: "tiny", seed: 99, now: NOW });
    const stats = w.stats();
    const ms = performance.now() - started;
    expect(w.titles).toHaveLength(200);
    expect(w.users).toHaveLength(300);
    expect(stats.interactions).toBeGreaterThan(2_000);
    // The requirement is < 1 s; the bound leaves room for a loaded CI machine.
    expect(ms).toBeLessThan(1_500);
  });

  it("produces valid, unique titles with realistic metadata", () => {
    expect(world.titles[41]?.id).toBe("t00042");
    expect(new Set(world.titles.map((t) => t.id)).size).toBe(200);
    expect(new Set(world.titles.map((t) => t.title.toLowerCase())).size).toBe(200);
    for (const t of world.titles) {
      const parsed = TitleSchema.safeParse(t);
      expect(parsed.success, `${t.id}: ${parsed.error?.message}`).toBe(true);
      expect(t.genres.length).toBeGreaterThanOrEqual(1);
      expect(t.genres.length).toBeLessThanOrEqual(3);
      expect(t.year).toBeGreaterThanOrEqual(1950);
      expect(t.year).toBeLessThanOrEqual(2026);
      expect(t.cast.length).toBeGreaterThanOrEqual(1);
      expect(t.director).not.toBe("");
      expect(t.popularity).toBeGreaterThan(0);
      expect(t.popularity).toBeLessThanOrEqual(1);
      expect(t.poster_svg.startsWith("<svg")).toBe(true);
      // The synopsis names every genre, as a noun ("thriller") or an adjective ("romantic").
      const text = t.synopsis.toLowerCase();
      for (const g of t.genres as Genre[]) {
        const p = GENRE_PROFILES[g];
        expect(text.includes(p.noun) || text.includes(p.adjective), `${t.id} synopsis lacks ${g}: ${t.synopsis}`).toBe(
          true,
        );
      }
      const sentences = t.synopsis.split(/(?<=\.)\s+/).length;
      expect(sentences).toBeGreaterThanOrEqual(1);
      expect(sentences).toBeLessThanOrEqual(3);
    }
  });

  it("draws genres, years, runtimes, ratings and prices the way a real store's catalogue looks", () => {
    const titles = generateTitles({ count: 2_000, seed: 1, now: NOW });
    const share = (g: string) => titles.filter((t) => t.genres.includes(g)).length / titles.length;
    expect(share("Drama")).toBeGreaterThan(share("Horror"));
    expect(share("Comedy")).toBeGreaterThan(share("Western"));
    expect(share("Western")).toBeGreaterThan(0);
    const years = titles.map((t) => t.year).sort((a, b) => a - b);
    expect(years[Math.floor(years.length / 2)]).toBeGreaterThanOrEqual(2012);
    expect(years[0]).toBeLessThan(1970);
    const runtime = (g: string) => {
      const xs = titles.filter((t) => t.genres[0] === g).map((t) => t.runtime_min);
      return xs.reduce((s, x) => s + x, 0) / xs.length;
    };
    expect(runtime("Animation")).toBeLessThan(runtime("Drama"));
    for (const t of titles) {
      if (t.genres.includes("Family") || t.genres.includes("Animation")) expect(["G", "PG"]).toContain(t.age_rating);
      else if (t.genres.includes("Horror")) expect(["PG-13", "R", "NC-17"]).toContain(t.age_rating);
      for (const o of t.offers) {
        expect(o.currency).toBe("USD");
        expect(o.price_minor % 100).toBe(99);
        const [lo, hi] =
          o.kind === "rent"
            ? { SD: [299, 399], HD: [399, 599], "4K": [599, 699] }[o.quality]
            : { SD: [999, 1499], HD: [1299, 1999], "4K": [1799, 2499] }[o.quality];
        expect(o.price_minor).toBeGreaterThanOrEqual(lo as number);
        expect(o.price_minor).toBeLessThanOrEqual(hi as number);
      }
      expect(t.offers.length).toBeGreaterThan(0);
    }
    const kinds = (t: (typeof titles)[number]) => new Set(t.offers.map((o) => o.kind));
    expect(titles.some((t) => kinds(t).size === 1 && kinds(t).has("buy"))).toBe(true);
    expect(titles.some((t) => kinds(t).size === 1 && kinds(t).has("rent"))).toBe(true);
    const with4k = titles.filter((t) => t.offers.some((o) => o.quality === "4K"));
    expect(with4k.length).toBeGreaterThan(0);
    expect(with4k.length).toBeLessThan(titles.length);
    // Older titles are cheaper.
    const meanRentHd = (f: (y: number) => boolean) => {
      const xs = titles.flatMap((t) =>
        f(t.year) ? t.offers.filter((o) => o.kind === "rent" && o.quality === "HD") : [],
      );
      return xs.reduce((s, o) => s + o.price_minor, 0) / xs.length;
    };
    expect(meanRentHd((y) => y >= 2024)).toBeGreaterThan(meanRentHd((y) => y < 2000));
  });

  it("produces users with concentrated tastes", () => {
    expect(world.users[41]?.id).toBe("u000042");
    for (const u of world.users) {
      const total = Object.values(u.genre_affinity).reduce((s, x) => s + x, 0);
      expect(total).toBeCloseTo(1, 2);
      const top = u.favourite_genres.reduce((s, g) => s + u.genre_affinity[g], 0);
      expect(u.favourite_genres.length).toBeGreaterThanOrEqual(1);
      expect(u.favourite_genres.length).toBeLessThanOrEqual(3);
      expect(top).toBeGreaterThan(0.5);
      expect(u.activity).toBeGreaterThanOrEqual(1);
      expect(u.price_sensitivity).toBeGreaterThanOrEqual(0);
      expect(u.price_sensitivity).toBeLessThanOrEqual(1);
    }
  });

  it("emits events that all validate against EventSchema, with unique ids", () => {
    expect(events.length).toBeGreaterThan(10_000);
    const ids = new Set<string>();
    for (const e of events) {
      const r = EventSchema.safeParse(e);
      if (!r.success) throw new Error(`${JSON.stringify(e)}: ${r.error.message}`);
      ids.add(e.event_id);
      const delay = Date.parse(e.received_at) - Date.parse(e.occurred_at);
      expect(delay).toBeGreaterThan(0);
      expect(delay).toBeLessThanOrEqual(10 * 60_000);
    }
    expect(ids.size).toBe(events.length);
  });

  it("orders each user's events in time, inside the window and after sign-up", () => {
    const windowStart = NOW.getTime() - WINDOW_DAYS * 86_400_000;
    const created = new Map(world.users.map((u) => [u.id, Date.parse(u.created_at)]));
    for (const [user, list] of byUser(events)) {
      let last = Number.NEGATIVE_INFINITY;
      for (const e of list) {
        const t = Date.parse(e.occurred_at);
        expect(t).toBeGreaterThan(last);
        last = t;
        expect(t).toBeGreaterThanOrEqual(Math.max(windowStart, created.get(user) as number));
        expect(t).toBeLessThan(NOW.getTime());
      }
    }
    // Users are streamed one after another.
    const order = [...byUser(events).keys()];
    expect(order).toEqual([...order].sort());
  });

  it("counts stats that match the stream", () => {
    const stats = world.stats();
    expect(stats.titles).toBe(200);
    expect(stats.users).toBe(300);
    expect(stats.events).toBe(events.length);
    for (const [type, n] of Object.entries(stats.by_type)) expect(events.filter((e) => e.type === type).length).toBe(n);
    expect(stats.interactions).toBe(
      events.filter((e) => (INTERACTION_TYPES as readonly string[]).includes(e.type)).length,
    );
    expect(stats.sessions).toBe(new Set(events.map((e) => e.session_id)).size);
    expect(stats.active_users).toBe(byUser(events).size);
    // Every type the funnel can produce shows up (refunds are too rare to rely on in tiny).
    for (const type of EVENT_TYPES.filter((t) => t !== "refund")) {
      expect(stats.by_type[type as keyof typeof stats.by_type]).toBeGreaterThan(0);
    }
    // Rentals are more common than purchases; impressions far outnumber clicks.
    expect(stats.by_type.rental_start).toBeGreaterThan(stats.by_type.purchase);
    expect(stats.by_type.impression).toBeGreaterThan(5 * stats.by_type.click);
  });

  it("has heavy-tailed popularity: the top 10% of titles get a large share of interactions", () => {
    const counts = new Map<string, number>();
    for (const e of events) {
      if (e.item_id !== undefined && ITEM_INTERACTIONS.has(e.type))
        counts.set(e.item_id, (counts.get(e.item_id) ?? 0) + 1);
    }
    const sorted = [...counts.values()].sort((a, b) => b - a);
    const total = sorted.reduce((s, x) => s + x, 0);
    const top = sorted.slice(0, world.titles.length / 10).reduce((s, x) => s + x, 0);
    expect(top / total).toBeGreaterThan(0.4);
    // and the most popular latent titles are among the most interacted with
    const latentTop = [...world.titles].sort((a, b) => b.popularity - a.popularity)[0]?.id as string;
    expect(counts.get(latentTop) ?? 0).toBeGreaterThan(sorted[Math.floor(sorted.length / 10)] as number);
  });

  it("concentrates each user's interactions on their favourite genres", () => {
    const genresOf = new Map(world.titles.map((t) => [t.id, t.genres]));
    const catalogueShare = (g: string) => world.titles.filter((t) => t.genres.includes(g)).length / world.titles.length;
    const lifts: number[] = [];
    for (const u of world.users) {
      const items = events.filter(
        (e) => e.user_id === u.id && e.item_id !== undefined && ITEM_INTERACTIONS.has(e.type),
      );
      if (items.length < 15) continue;
      const fav = u.favourite_genres[0] as string;
      const hit = items.filter((e) => genresOf.get(e.item_id as string)?.includes(fav)).length / items.length;
      lifts.push(hit / catalogueShare(fav));
    }
    expect(lifts.length).toBeGreaterThan(50);
    const mean = lifts.reduce((s, x) => s + x, 0) / lifts.length;
    expect(mean).toBeGreaterThan(2);
    expect(lifts.filter((l) => l > 1).length / lifts.length).toBeGreaterThan(0.85);
  });

  it("rates titles in a user's taste higher than titles outside it", () => {
    const genresOf = new Map(world.titles.map((t) => [t.id, t.genres]));
    const favourite = new Map(world.users.map((u) => [u.id, u.favourite_genres[0] as string]));
    const inTaste: number[] = [];
    const outside: number[] = [];
    for (const e of events) {
      if (e.type !== "rating") continue;
      const match = genresOf.get(e.item_id as string)?.includes(favourite.get(e.user_id as string) as string);
      (match ? inTaste : outside).push(e.payload.value);
    }
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(inTaste.length).toBeGreaterThan(50);
    expect(outside.length).toBeGreaterThan(20);
    expect(mean(inTaste)).toBeGreaterThan(mean(outside) + 0.4);
    // Ratings use the whole scale, mostly in whole stars.
    const all = [...inTaste, ...outside];
    expect(new Set(all).size).toBeGreaterThanOrEqual(6);
    expect(all.filter(Number.isInteger).length / all.length).toBeGreaterThan(0.5);
  });

  it("precedes every play with an entitlement, charges listed prices, and keeps playbacks consistent", () => {
    const titles = new Map(world.titles.map((t) => [t.id, t]));
    for (const [, list] of byUser(events)) {
      const owned = new Map<string, string>(); // item → order id
      const rentedUntil = new Map<string, number>();
      const playbacks = new Map<string, string>(); // playback → item
      for (const e of list) {
        const item = e.item_id as string;
        const t = Date.parse(e.occurred_at);
        switch (e.type) {
          case "purchase":
          case "rental_start": {
            const offer = titles
              .get(item)
              ?.offers.find(
                (o) => o.kind === (e.type === "purchase" ? "buy" : "rent") && o.quality === e.payload.quality,
              );
            expect(offer, `${item} has no ${e.type} offer in ${e.payload.quality}`).toBeDefined();
            expect(e.payload.amount_minor).toBe(offer?.price_minor);
            expect(e.payload.order_id).toMatch(/^o[0-9a-f]+$/);
            if (e.type === "purchase") owned.set(item, e.payload.order_id);
            else rentedUntil.set(item, Date.parse(e.payload.expires_at as string));
            break;
          }
          case "refund":
            expect(owned.get(item)).toBe(e.payload.order_id);
            owned.delete(item);
            break;
          case "play_start": {
            const entitled = owned.has(item) || (rentedUntil.get(item) ?? 0) > t;
            expect(entitled, `${e.user_id} played ${item} at ${e.occurred_at} without an entitlement`).toBe(true);
            playbacks.set(e.payload.playback_id as string, item);
            break;
          }
          case "play_progress":
          case "play_complete":
            expect(playbacks.get(e.payload.playback_id as string)).toBe(item);
            break;
          default:
        }
      }
    }
  });

  it("spreads sessions over the window, with more in evenings and at weekends", () => {
    const starts = new Map<string, number>();
    for (const e of events)
      if (!starts.has(e.session_id as string)) starts.set(e.session_id as string, Date.parse(e.occurred_at));
    const times = [...starts.values()].map((t) => new Date(t));
    const evening = times.filter((d) => d.getUTCHours() >= 18 && d.getUTCHours() <= 23).length / times.length;
    expect(evening).toBeGreaterThan(0.4);
    const weekend = times.filter((d) => d.getUTCDay() === 0 || d.getUTCDay() === 6).length / times.length;
    expect(weekend).toBeGreaterThan(2 / 7);
    const weeks = new Set(times.map((d) => Math.floor((NOW.getTime() - d.getTime()) / (7 * 86_400_000))));
    expect(weeks.size).toBeGreaterThanOrEqual(12);
  });

  it("rejects an unknown scale", () => {
    expect(() => generateWorld({ scale: "huge" as never })).toThrow(/unknown scale 'huge'/);
  });
});
