import { AGE_RATINGS, type AgeRating } from "@marquee/contracts";

/**
 * The store's rules as pure functions of their inputs and `now`, so each can be tested on its
 * own and the server applies exactly these at checkout, playback and refund time.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** A rental's price counts towards buying the same title within this long. */
export const RENT_TO_OWN_DAYS = 7;
/** Self-serve refunds: a purchase or rental never played, younger than this. */
export const SELF_REFUND_HOURS = 48;

const RANK: Record<AgeRating, number> = Object.fromEntries(AGE_RATINGS.map((r, i) => [r, i])) as Record<
  AgeRating,
  number
>;

/** True when a title rated `rating` may be shown to a profile limited to `max` (null = no limit). */
export function ratingAllowed(rating: string, max: string | null | undefined): boolean {
  if (max === null || max === undefined) return true;
  const r = RANK[rating as AgeRating];
  const m = RANK[max as AgeRating];
  if (r === undefined || m === undefined) return false;
  return r <= m;
}

/** The ratings a profile limited to `max` may see, for SQL filters. */
export function ratingsUpTo(max: string | null | undefined): AgeRating[] {
  if (max === null || max === undefined) return [...AGE_RATINGS];
  const m = RANK[max as AgeRating];
  return m === undefined ? [] : AGE_RATINGS.filter((r) => RANK[r] <= m);
}

/** Regions a title is sold in; an empty list means everywhere. */
export function regionAllowed(regions: readonly string[], region: string | null | undefined): boolean {
  if (regions.length === 0) return true;
  return region !== null && region !== undefined && regions.includes(region);
}

export interface PricedOffer {
  priceMinor: number;
  salePriceMinor: number | null;
  saleStartsAt: Date | null;
  saleEndsAt: Date | null;
}

/** The price now: the sale price inside its window (either end open), else the list price. */
export function effectivePrice(offer: PricedOffer, now: Date): { priceMinor: number; onSale: boolean } {
  const s = offer.salePriceMinor;
  if (
    s !== null &&
    s < offer.priceMinor &&
    (offer.saleStartsAt === null || offer.saleStartsAt <= now) &&
    (offer.saleEndsAt === null || now < offer.saleEndsAt)
  ) {
    return { priceMinor: s, onSale: true };
  }
  return { priceMinor: offer.priceMinor, onSale: false };
}

export interface PromoRule {
  percentOff: number | null;
  amountOffMinor: number | null;
  currency: string;
  appliesTo: string;
  titleId: string | null;
  maxRedemptions: number | null;
  redemptions: number;
  startsAt: Date | null;
  endsAt: Date | null;
}

/** Why a promo code cannot be used now, or null when it can. */
export function promoProblem(promo: PromoRule, now: Date): string | null {
  if (promo.startsAt && now < promo.startsAt) return "this promo code is not active yet";
  if (promo.endsAt && now >= promo.endsAt) return "this promo code has expired";
  if (promo.maxRedemptions !== null && promo.redemptions >= promo.maxRedemptions)
    return "this promo code has been used up";
  return null;
}

/**
 * The discount a promo gives on each line (same order as `lines`). A percentage applies per
 * eligible line; a fixed amount is spread over eligible lines in order and never takes a line
 * below zero.
 */
export function promoDiscounts(
  promo: PromoRule,
  lines: { titleId: string; kind: "buy" | "rent"; priceMinor: number; currency: string }[],
): number[] {
  const eligible = lines.map(
    (l) =>
      (promo.appliesTo === "both" || promo.appliesTo === l.kind) &&
      (promo.titleId === null || promo.titleId === l.titleId) &&
      (promo.percentOff !== null || promo.currency === l.currency),
  );
  if (promo.percentOff !== null) {
    const pct = promo.percentOff;
    return lines.map((l, i) => (eligible[i] ? Math.floor((l.priceMinor * pct) / 100) : 0));
  }
  let left = promo.amountOffMinor ?? 0;
  return lines.map((l, i) => {
    if (!eligible[i] || left <= 0) return 0;
    const d = Math.min(left, l.priceMinor);
    left -= d;
    return d;
  });
}

/** The platform's cut of `amountMinor`, in basis points, rounded half up. */
export function platformFee(amountMinor: number, feeBps: number): number {
  return Math.floor((amountMinor * feeBps + 5_000) / 10_000);
}

export interface RentalState {
  kind: string;
  status: string;
  startBy: Date | null;
  expiresAt: Date | null;
  firstPlayedAt: Date | null;
}

/**
 * May this entitlement play now? Purchases: while active. Rentals: before `start_by` if never
 * played (the first play then opens the watch window), else before `expires_at`.
 */
export function playbackProblem(e: RentalState, now: Date): string | null {
  if (e.status === "refunded") return "this order was refunded";
  if (e.status !== "active") return "this entitlement is no longer active";
  if (e.kind === "own") return null;
  if (e.firstPlayedAt === null) {
    if (e.startBy && now >= e.startBy) return "this rental expired: it was not started within its start window";
    return null;
  }
  if (e.expiresAt && now >= e.expiresAt) return "this rental has ended: its watch window is over";
  return null;
}

/** Why an entitlement cannot be refunded by the viewer, or null when it can. */
export function selfRefundProblem(
  e: { status: string; firstPlayedAt: Date | null; kind: string },
  paidAt: Date,
  now: Date,
  hasProgress: boolean,
): string | null {
  if (e.status === "refunded") return "this was already refunded";
  if (e.status !== "active") return "this entitlement is no longer active";
  if (e.firstPlayedAt !== null || hasProgress) return "it has been played, so it cannot be refunded here";
  if (now.getTime() - paidAt.getTime() >= SELF_REFUND_HOURS * HOUR_MS)
    return `self-serve refunds are open for ${SELF_REFUND_HOURS} hours after payment`;
  return null;
}

/** The rental's price credited when buying within RENT_TO_OWN_DAYS of paying for it. */
export function rentToOwnCredit(
  rental: { status: string; pricePaidMinor: number; startsAt: Date; currency: string },
  buyPriceMinor: number,
  currency: string,
  now: Date,
): number {
  if (rental.status !== "active" && rental.status !== "superseded") return 0;
  if (rental.currency !== currency) return 0;
  if (now.getTime() - rental.startsAt.getTime() > RENT_TO_OWN_DAYS * DAY_MS) return 0;
  return Math.min(rental.pricePaidMinor, buyPriceMinor);
}

export const QUALITY_RANK: Record<string, number> = { SD: 0, HD: 1, "4K": 2 };
