/**
 * UUIDv7 (RFC 9562): the one implementation, shared by the collector (event ids on the hot
 * path), commerce (outbox events), the seeded world (deterministic ids) and the browser's
 * tracker. No imports, so the storefront's client bundle takes it alone
 * (`@marquee/contracts/uuid-v7`), without zod.
 *
 * Layout: 48-bit Unix ms · version 7 · 12 bits rand_a · variant 0b10 · 62 bits rand_b.
 */

/** A source of uniformly random 32-bit unsigned integers (the seed's `Rng` is one). */
export interface Uint32Source {
  uint32(): number;
}

const MAX_MS = 2 ** 48 - 1;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * Random words drawn from the OS 4,096 at a time: one `getRandomValues` call per id was the
 * collector's largest single cost (9% of its CPU at 50k events/s, ADR 006). Ids are unique
 * and time-ordered, not secrets.
 */
const POOL_WORDS = 4096;
let pool = new Uint32Array(0);
let at = 0;

/** Web Crypto's random words (Node 20 and browsers alike), pooled. */
export const cryptoUint32: Uint32Source = {
  uint32(): number {
    if (at >= pool.length) {
      if (pool.length === 0) pool = new Uint32Array(POOL_WORDS);
      globalThis.crypto.getRandomValues(pool);
      at = 0;
    }
    return pool[at++] as number;
  },
};

/**
 * The UUIDv7 for `ms` whose 74 random bits are the low 12 bits of `a` (rand_a) followed by
 * the low 30 bits of `b` and all 32 of `c` (rand_b).
 */
export function formatUuidV7(ms: number, a: number, b: number, c: number): string {
  if (!(ms >= 0 && ms <= MAX_MS)) throw new RangeError(`uuidV7: time ${ms} is out of range`);
  const t = Math.floor(ms);
  const hi = Math.floor(t / 2 ** 32); // top 16 bits of the 48
  const lo = t >>> 0;
  return (
    (HEX[(hi >>> 8) & 255] as string) +
    HEX[hi & 255] +
    HEX[lo >>> 24] +
    HEX[(lo >>> 16) & 255] +
    "-" +
    HEX[(lo >>> 8) & 255] +
    HEX[lo & 255] +
    "-" +
    HEX[0x70 | ((a >>> 8) & 0x0f)] +
    HEX[a & 255] +
    "-" +
    HEX[0x80 | ((b >>> 24) & 0x3f)] +
    HEX[(b >>> 16) & 255] +
    "-" +
    HEX[(b >>> 8) & 255] +
    HEX[b & 255] +
    HEX[c >>> 24] +
    HEX[(c >>> 16) & 255] +
    HEX[(c >>> 8) & 255] +
    HEX[c & 255]
  );
}

/**
 * A UUIDv7 for a given millisecond time with its random bits drawn from `random`: pass a
 * seeded source for ids that are deterministic and still sort by time. Two ids made for the
 * same millisecond are not ordered between themselves; `newUuidV7` is, for "now".
 */
export function uuidV7At(ms: number, random: Uint32Source = cryptoUint32): string {
  return formatUuidV7(ms, random.uint32(), random.uint32(), random.uint32());
}

/** uuid's `v7()` rules: a random 31-bit counter at each new millisecond, +1 within one. */
const state = { ms: Number.NEGATIVE_INFINITY, seq: 0 };

/**
 * A UUIDv7 for now, strictly increasing within this process (RFC 9562 method 1, as the `uuid`
 * package does it): the 32-bit counter fills rand_a and the top 20 bits of rand_b; when it
 * wraps, the time moves on by a millisecond.
 */
export function newUuidV7(): string {
  const now = Date.now();
  if (now > state.ms) {
    state.seq = cryptoUint32.uint32() >>> 1;
    state.ms = now;
  } else {
    state.seq = (state.seq + 1) | 0;
    if (state.seq === 0) state.ms++;
  }
  const seq = state.seq >>> 0;
  const b = (seq & 0xfffff) * 1024 + (cryptoUint32.uint32() & 0x3ff);
  return formatUuidV7(state.ms, seq >>> 20, b, cryptoUint32.uint32());
}

/** The millisecond time a UUIDv7 carries. */
export function uuidV7Time(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
