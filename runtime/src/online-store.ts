import type { Config } from "./config.ts";
import { RedisOnlineStore } from "./redis-online-store.ts";

/**
 * Online features: each actor's most recent interactions, newest first, read by serving on
 * every request. Memory in embedded mode; Redis in scaled mode (step 2) behind this interface.
 */
export interface RecentInteraction {
  item_id: string;
  type: string;
  /** Epoch milliseconds of occurred_at. */
  at: number;
  /**
   * The rating given, for `rating` interactions; the fraction of the film watched (0–1), for
   * `play_progress` and `play_complete` when the player knew the film's length.
   */
  value?: number;
}

export interface OnlineStore {
  readonly kind: "memory" | "redis";
  /** Add interactions (any order); the store keeps the newest `capacity` per actor. */
  append(actorId: string, interactions: RecentInteraction[]): Promise<void>;
  recent(actorId: string, limit?: number): Promise<RecentInteraction[]>;
  close(): Promise<void>;
}

const same = (a: RecentInteraction, b: RecentInteraction) =>
  a.at === b.at && a.type === b.type && a.item_id === b.item_id;

/**
 * Memory store with a bound on both history length per actor and the number of actors kept
 * (least recently written actors are evicted first), so a crawler cannot grow it without limit.
 */
export class MemoryOnlineStore implements OnlineStore {
  readonly kind = "memory" as const;
  private readonly byActor = new Map<string, RecentInteraction[]>();

  constructor(private readonly options: { capacity?: number; maxActors?: number } = {}) {}

  async append(actorId: string, interactions: RecentInteraction[]): Promise<void> {
    if (interactions.length === 0) return;
    const capacity = this.options.capacity ?? 100;
    const list = this.byActor.get(actorId) ?? [];
    this.byActor.delete(actorId); // re-insert: Map order is our recency order for eviction
    // The same interaction may arrive twice (loader and a read-through from ClickHouse). A list
    // holds at most `capacity` entries: comparing with each is cheaper than keying them all.
    for (const i of interactions) {
      let seen = false;
      for (let j = 0; j < list.length && !seen; j++) seen = same(list[j] as RecentInteraction, i);
      if (!seen) list.push(i);
    }
    list.sort((a, b) => b.at - a.at);
    if (list.length > capacity) list.length = capacity;
    this.byActor.set(actorId, list);
    const maxActors = this.options.maxActors ?? 500_000;
    while (this.byActor.size > maxActors) {
      const oldest = this.byActor.keys().next().value as string;
      this.byActor.delete(oldest);
    }
  }

  async recent(actorId: string, limit = 100): Promise<RecentInteraction[]> {
    return (this.byActor.get(actorId) ?? []).slice(0, limit);
  }

  get size(): number {
    return this.byActor.size;
  }

  async close(): Promise<void> {
    this.byActor.clear();
  }
}

/**
 * The online store the configuration asks for: Redis when REDIS_URL is set (reached before this
 * resolves, so a wrong URL fails the start, not the first request), else memory.
 */
export async function createOnlineStore(
  config: Pick<Config, "REDIS_URL">,
  options: { capacity?: number } = {},
): Promise<OnlineStore> {
  const capacity = options.capacity ?? 100;
  if (!config.REDIS_URL) return new MemoryOnlineStore({ capacity });
  const redis = new RedisOnlineStore(config.REDIS_URL, { capacity });
  await redis.ping();
  return redis;
}
