import { Redis } from "ioredis";

/** One stream a viewer plays: started by Play, kept alive by the player's heartbeats. */
export interface StreamClaim {
  userId: string;
  streamId: string;
  entitlementId: string;
  /** A rental plays on one device at a time. */
  rental: boolean;
  /** The player's device, when it says: a new Play from the same device replaces its old stream. */
  deviceId?: string | undefined;
}

export type ClaimOutcome = "ok" | "account_limit" | "rental_elsewhere";

/**
 * The streams each account is playing now, for the concurrent-stream limit. A stream not
 * renewed within `ttlMs` is gone (a closed tab stops heartbeating); `claim` is atomic, so two
 * Plays at once cannot both take the last slot.
 */
export interface StreamSessions {
  readonly kind: "memory" | "redis";
  /** Start or renew `claim.streamId` if the account has room; `now` in ms. */
  claim(claim: StreamClaim, limit: number, ttlMs: number, now: number): Promise<ClaimOutcome>;
  release(userId: string, streamId: string): Promise<void>;
  close(): Promise<void>;
}

interface Held {
  ent: string;
  rental: boolean;
  dev: string;
  exp: number;
}

function decide(
  held: Map<string, Held>,
  c: StreamClaim,
  limit: number,
  now: number,
): { outcome: ClaimOutcome; drop: string[] } {
  const drop: string[] = [];
  let others = 0;
  let conflict = false;
  for (const [sid, h] of held) {
    if (sid === c.streamId) continue;
    if (h.exp <= now || (c.deviceId && h.dev === c.deviceId)) {
      drop.push(sid);
      continue;
    }
    others++;
    if (c.rental && h.ent === c.entitlementId) conflict = true;
  }
  if (conflict) return { outcome: "rental_elsewhere", drop };
  // A stream that missed its heartbeats lost its slot: coming back, it queues like a new one.
  const mine = (held.get(c.streamId)?.exp ?? 0) > now;
  if (!mine && others >= limit) return { outcome: "account_limit", drop };
  return { outcome: "ok", drop };
}

/** Embedded mode: one process holds every stream. */
export class MemoryStreamSessions implements StreamSessions {
  readonly kind = "memory" as const;
  private readonly accounts = new Map<string, Map<string, Held>>();

  async claim(c: StreamClaim, limit: number, ttlMs: number, now: number): Promise<ClaimOutcome> {
    const held = this.accounts.get(c.userId) ?? new Map<string, Held>();
    const { outcome, drop } = decide(held, c, limit, now);
    for (const sid of drop) held.delete(sid);
    if (outcome === "ok")
      held.set(c.streamId, { ent: c.entitlementId, rental: c.rental, dev: c.deviceId ?? "", exp: now + ttlMs });
    if (held.size) this.accounts.set(c.userId, held);
    else this.accounts.delete(c.userId);
    return outcome;
  }

  async release(userId: string, streamId: string): Promise<void> {
    const held = this.accounts.get(userId);
    held?.delete(streamId);
    if (held && held.size === 0) this.accounts.delete(userId);
  }

  async close(): Promise<void> {}
}

/**
 * The same decision as MemoryStreamSessions, in one Lua script per claim (a hash per account:
 * stream id → JSON), so every origin process shares the limit and a claim is atomic.
 */
const CLAIM = `
local key = KEYS[1]
local sid, ent, rental, dev = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local limit, ttl, now = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local all = redis.call('HGETALL', key)
local others, mine, conflict = 0, false, false
local drop = {}
for i = 1, #all, 2 do
  local f, h = all[i], cjson.decode(all[i + 1])
  if f == sid then mine = h.exp > now
  elseif h.exp <= now or (dev ~= '' and h.dev == dev) then table.insert(drop, f)
  else
    others = others + 1
    if rental == '1' and h.ent == ent then conflict = true end
  end
end
for _, f in ipairs(drop) do redis.call('HDEL', key, f) end
if conflict then return 'rental_elsewhere' end
if not mine and others >= limit then return 'account_limit' end
redis.call('HSET', key, sid, cjson.encode({ ent = ent, rental = rental, dev = dev, exp = now + ttl }))
redis.call('PEXPIRE', key, ttl * 2)
return 'ok'
`;

export class RedisStreamSessions implements StreamSessions {
  readonly kind = "redis" as const;
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly prefix = "marquee:streams:",
  ) {
    this.redis = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 5 });
  }

  async claim(c: StreamClaim, limit: number, ttlMs: number, now: number): Promise<ClaimOutcome> {
    const out = await this.redis.eval(
      CLAIM,
      1,
      this.prefix + c.userId,
      c.streamId,
      c.entitlementId,
      c.rental ? "1" : "0",
      c.deviceId ?? "",
      limit,
      ttlMs,
      now,
    );
    return out as ClaimOutcome;
  }

  async release(userId: string, streamId: string): Promise<void> {
    await this.redis.hdel(this.prefix + userId, streamId);
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}

/** Redis when configured (several origin processes share the limit), else memory. */
export function createStreamSessions(redisUrl: string | undefined, prefix?: string): StreamSessions {
  return redisUrl ? new RedisStreamSessions(redisUrl, prefix) : new MemoryStreamSessions();
}
