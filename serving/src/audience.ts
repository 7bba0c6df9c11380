import { AGE_RATINGS, type ViewerAudience } from "@marquee/contracts";

const RANK = new Map<string, number>(AGE_RATINGS.map((r, i) => [r, i]));

/** True when a title rated `rating` may be shown under the limit `max` (none: no limit). An unknown rating never passes a limit. */
export function ratingAllowed(rating: string | undefined, max: string | null | undefined): boolean {
  if (max === null || max === undefined) return true;
  const r = rating === undefined ? undefined : RANK.get(rating);
  const m = RANK.get(max);
  return r !== undefined && m !== undefined && r <= m;
}

/** Regions a title is sold in; none listed means everywhere (commerce's rule). */
export function regionAllowed(regions: readonly string[] | undefined, region: string | null | undefined): boolean {
  if (!regions || regions.length === 0) return true;
  return region !== null && region !== undefined && regions.includes(region);
}

/** The stricter of two age limits (null: no limit). An unknown limit counts as the strictest. */
export function stricterLimit(a: string | null | undefined, b: string | null | undefined): string | null {
  if (a === null || a === undefined) return b ?? null;
  if (b === null || b === undefined) return a;
  return (RANK.get(a) ?? -1) <= (RANK.get(b) ?? -1) ? a : b;
}

export function isLimited(audience: ViewerAudience | undefined): boolean {
  return audience?.maxAgeRating !== null && audience?.maxAgeRating !== undefined;
}
