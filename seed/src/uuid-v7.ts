import type { Rng } from "./rng.ts";

const MAX_MS = 2 ** 48 - 1;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * A UUIDv7 (RFC 9562) for a millisecond Unix time, with its 74 random bits drawn from `rng`,
 * so seeded events get ids that are deterministic and still sort by time.
 * Layout: 48-bit ms · version 7 · 12 bits rand_a · variant 0b10 · 62 bits rand_b.
 */
export function uuidV7(ms: number, rng: Rng): string {
  if (!(ms >= 0 && ms <= MAX_MS)) throw new RangeError(`uuidV7: time ${ms} is out of range`);
  const t = Math.floor(ms);
  const hi = Math.floor(t / 2 ** 32); // top 16 bits of the 48
  const lo = t >>> 0;
  const a = rng.uint32();
  const b = rng.uint32();
  const c = rng.uint32();
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

/** The millisecond time a UUIDv7 carries. */
export function uuidV7Time(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
