import type { Offer, Quality } from "@marquee/contracts";
import type { Rng } from "./rng.ts";

export interface OfferInput {
  year: number;
  /** Latent popularity in (0, 1]; popular titles hold their price longer. */
  popularity: number;
  /** The catalogue's current year: a title's age is nowYear − year. */
  nowYear: number;
}

/** Price bands in whole dollars for a new (high) and an old (low) title; every price ends in .99. */
const RENT: Record<Quality, readonly [number, number]> = { SD: [3, 2], HD: [5, 3], "4K": [6, 5] };
const BUY: Record<Quality, readonly [number, number]> = { SD: [14, 9], HD: [19, 12], "4K": [24, 17] };

/**
 * Buy and rent offers in USD minor units, as a store would list them: rent SD 2.99–3.99,
 * HD 3.99–5.99, 4K 5.99–6.99; buy 9.99–24.99. Older titles are cheaper, popular ones keep
 * their price, a better quality never costs less than a worse one. About one title in ten
 * is buy-only (new releases are often sold before they are rented) and one in twelve
 * rent-only; 4K is common for recent titles and rare for old ones.
 */
export function makeOffers(rng: Rng, input: OfferInput): Offer[] {
  const age = Math.max(0, input.nowYear - input.year);
  // 0 for this year's releases, 1 for titles twenty or more years old; popularity slows the fall.
  const depreciation = Math.min(1, age / 20) * (1 - 0.35 * Math.min(1, Math.max(0, input.popularity)));

  const fourK = rng.chance(input.year >= 2016 ? 0.75 : input.year >= 2005 ? 0.35 : input.year >= 1980 ? 0.12 : 0.05);
  const qualities: Quality[] = fourK ? ["SD", "HD", "4K"] : ["SD", "HD"];

  const r = rng.next();
  const buyOnly = age <= 0 ? r < 0.3 : r < 0.1;
  const rentOnly = !buyOnly && r > 0.92;

  const offers: Offer[] = [];
  const price = (band: readonly [number, number], floor: number): number => {
    const [high, low] = band;
    const dollars = Math.round(high - (high - low) * depreciation + rng.normal(0, 0.4));
    const clamped = Math.max(low, Math.min(high, dollars));
    return Math.max(floor, clamped * 100 + 99);
  };
  if (!buyOnly) {
    let floor = 0;
    for (const q of qualities) {
      const p = price(RENT[q], floor);
      offers.push({ kind: "rent", quality: q, price_minor: p, currency: "USD" });
      floor = p + 100;
    }
  }
  if (!rentOnly) {
    let floor = 0;
    for (const q of qualities) {
      const p = price(BUY[q], floor);
      offers.push({ kind: "buy", quality: q, price_minor: p, currency: "USD" });
      floor = p + 200;
    }
  }
  return offers;
}
