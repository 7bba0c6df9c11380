import { Redis } from "ioredis";
import type { OnlineStore, RecentInteraction } from "./online-store.ts";

export interface RedisOnlineStoreOptions {
  /** Interactions kept per actor (newest first). */
  capacity?: number;
  /** Key prefix, so tests and environments can share a server. */
  prefix?: string;
  /** An actor's history expires this long after its last write (seconds; 0 = never). */
  ttlSeconds?: number;
}

/** Member text: time first so equal scores still sort by time, then type and item; value last. */
const member = (i: RecentInteraction) => `${i.at}|${i.type}|${i.item_id}|${i.value ?? ""}`;

function parse(m: string): RecentInteraction | null {
  const [at, type, item_id, value] = m.split("|");
  if (at === undefined || type === undefined || item_id === undefined) return null;
  return { item_id, type, at: Number(at), ...(value ? { value: Number(value) } : {}) };
}

/**
 * Online features in Redis (scaled mode), with MemoryOnlineStore's behaviour: per actor a
 * sorted set scored by time (newest first on read), capped at `capacity`, and the same
 * interaction written twice (a replayed batch) stored once, because it is the same member.
 * Each append is one MULTI (add, trim, expire), so a reader never sees an over-long list;
 * ioredis pipelines concurrent appends into few round trips.
 */
export class RedisOnlineStore implements OnlineStore {
  readonly kind = "redis" as const;
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(
    url: string,
    private readonly options: RedisOnlineStoreOptions = {},
  ) {
    this.redis = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 5, lazyConnect: false });
    this.prefix = options.prefix ?? "marquee:recent:";
  }

  async append(actorId: string, interactions: RecentInteraction[]): Promise<void> {
    if (interactions.length === 0) return;
    const key = this.prefix + actorId;
    const capacity = this.options.capacity ?? 100;
    const args: (string | number)[] = [];
    for (const i of interactions) args.push(i.at, member(i));
    const tx = this.redis
      .multi()
      .zadd(key, ...args)
      .zremrangebyrank(key, 0, -(capacity + 1));
    const ttl = this.options.ttlSeconds ?? 90 * 24 * 3600;
    if (ttl > 0) tx.expire(key, ttl);
    const results = await tx.exec();
    const failed = results?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }

  async recent(actorId: string, limit = 100): Promise<RecentInteraction[]> {
    if (limit <= 0) return [];
    const members = await this.redis.zrevrange(this.prefix + actorId, 0, limit - 1);
    return members.map(parse).filter((i): i is RecentInteraction => i !== null);
  }

  /** Wait until the connection is up (start-up check); rejects if Redis cannot be reached. */
  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
