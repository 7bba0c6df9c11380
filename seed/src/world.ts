import { type CollectedEvent, EVENT_TYPES, type EventType } from "@marquee/contracts";
import { CatalogIndex, userHistory } from "./histories.ts";
import { generateTitles, type SeedTitle } from "./titles.ts";
import { generateUsers, type SeedUser } from "./users.ts";

export type WorldScale = "tiny" | "demo" | "large";

export interface ScaleConfig {
  titles: number;
  users: number;
  /** Expected sessions over the window per unit of user activity (mean activity ≈ 2.8). */
  sessionsPerActivity: number;
}

/**
 * tiny: tests (well under a second). demo: the default store, ~200k interactions in a few
 * seconds. large: 20k titles, 100k users, over a million interactions, streamed.
 */
export const SCALES: Readonly<Record<WorldScale, ScaleConfig>> = {
  tiny: { titles: 200, users: 300, sessionsPerActivity: 6.5 },
  demo: { titles: 2_000, users: 5_000, sessionsPerActivity: 6.5 },
  large: { titles: 20_000, users: 100_000, sessionsPerActivity: 2 },
};

/** How far back seeded histories go: twelve weeks. */
export const WINDOW_DAYS = 84;

export const DEFAULT_SEED = 42;

/**
 * The event types that count as a user interacting with a title: deliberate actions, not
 * exposure (impression), heartbeats (play_progress) or navigation (page_view, search).
 */
export const INTERACTION_TYPES: readonly EventType[] = [
  "click",
  "trailer_play",
  "play_start",
  "play_complete",
  "watchlist_add",
  "not_interested",
  "rating",
  "purchase",
  "rental_start",
  "refund",
];
const INTERACTION_SET: ReadonlySet<string> = new Set(INTERACTION_TYPES);

export interface WorldStats {
  titles: number;
  users: number;
  /** Users with at least one event. */
  active_users: number;
  sessions: number;
  events: number;
  /** Events whose type is in INTERACTION_TYPES. */
  interactions: number;
  by_type: Record<EventType, number>;
  first_event_at: string | null;
  last_event_at: string | null;
}

export interface GenerateWorldOptions {
  scale: WorldScale;
  seed?: number;
  /**
   * The end of the seeded window. Defaults to the start of the current UTC day, so two runs
   * on the same day agree; pass it explicitly for fully reproducible output.
   */
  now?: Date;
}

/** A function that starts a fresh event stream, and is itself iterable (each iteration starts afresh). */
export type EventStream = (() => Generator<CollectedEvent, WorldStats, undefined>) & Iterable<CollectedEvent>;

export interface World {
  readonly scale: WorldScale;
  readonly seed: number;
  readonly now: Date;
  readonly titles: SeedTitle[];
  readonly users: SeedUser[];
  /**
   * Every event, user by user, each user's in time order (users interleave in time, so sort
   * or partition downstream if a global order matters). Each call starts a fresh,
   * identical stream that holds one user's history at a time, so "large" never keeps its
   * millions of events in memory. The generator returns the stats when it finishes.
   * Call it (`world.events()`) or iterate it directly (`for (const e of world.events)`).
   */
  readonly events: EventStream;
  /** The same stream grouped per user: one array per user, in user order. */
  histories(): Generator<{ user: SeedUser; events: CollectedEvent[] }, WorldStats, undefined>;
  /** The stats; a full counting pass the first time unless events() already ran to the end. */
  stats(): WorldStats;
}

/** Start of the current UTC day. */
function today(): Date {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

/**
 * A deterministic synthetic store: catalogue, users with latent tastes and their histories.
 * Titles and users are built eagerly (they are small); events are generated on demand.
 */
export function generateWorld(options: GenerateWorldOptions): World {
  const config = SCALES[options.scale];
  if (config === undefined) throw new Error(`unknown scale '${String(options.scale)}': expected tiny, demo or large`);
  const seed = (options.seed ?? DEFAULT_SEED) >>> 0;
  const now = new Date((options.now ?? today()).getTime());
  if (Number.isNaN(now.getTime())) throw new Error("generateWorld: now is not a valid date");

  const titles = generateTitles({ count: config.titles, seed, now });
  const users = generateUsers({ count: config.users, seed, now });
  let index: CatalogIndex | undefined;
  let cached: WorldStats | undefined;
  const historyOptions = { seed, now, windowDays: WINDOW_DAYS, sessionsPerActivity: config.sessionsPerActivity };

  function* histories(): Generator<{ user: SeedUser; events: CollectedEvent[] }, WorldStats, undefined> {
    index ??= new CatalogIndex(titles, seed, now);
    const counter = new StatsCounter(titles.length, users.length);
    for (let i = 0; i < users.length; i++) {
      const user = users[i] as SeedUser;
      const events = userHistory(index, user, i, historyOptions);
      counter.addUser(events);
      yield { user, events };
    }
    cached = counter.result();
    return cached;
  }

  function* events(): Generator<CollectedEvent, WorldStats, undefined> {
    const it = histories();
    for (;;) {
      const next = it.next();
      if (next.done === true) return next.value;
      yield* next.value.events;
    }
  }

  return {
    scale: options.scale,
    seed,
    now,
    titles,
    users,
    events: Object.assign(events, { [Symbol.iterator]: events }),
    histories,
    stats(): WorldStats {
      if (cached === undefined) {
        const it = histories();
        while (it.next().done !== true) {
          // counting only
        }
      }
      return cached as WorldStats;
    },
  };
}

class StatsCounter {
  private readonly byType = Object.fromEntries(EVENT_TYPES.map((t) => [t, 0])) as Record<EventType, number>;
  private events = 0;
  private interactions = 0;
  private sessions = 0;
  private activeUsers = 0;
  private first: string | null = null;
  private last: string | null = null;

  constructor(
    private readonly titles: number,
    private readonly users: number,
  ) {}

  addUser(events: readonly CollectedEvent[]): void {
    if (events.length === 0) return;
    this.activeUsers++;
    let session: string | undefined;
    for (const e of events) {
      this.byType[e.type]++;
      if (INTERACTION_SET.has(e.type)) this.interactions++;
      if (e.session_id !== session) {
        session = e.session_id;
        this.sessions++;
      }
    }
    // A user's events are in time order; ISO strings in UTC with milliseconds compare in time order.
    const first = (events[0] as CollectedEvent).occurred_at;
    const last = (events[events.length - 1] as CollectedEvent).occurred_at;
    if (this.first === null || first < this.first) this.first = first;
    if (this.last === null || last > this.last) this.last = last;
    this.events += events.length;
  }

  result(): WorldStats {
    return {
      titles: this.titles,
      users: this.users,
      active_users: this.activeUsers,
      sessions: this.sessions,
      events: this.events,
      interactions: this.interactions,
      by_type: { ...this.byType },
      first_event_at: this.first,
      last_event_at: this.last,
    };
  }
}
