/**
 * How much each kind of interaction says about a viewer's taste. Paying says the most; a
 * click says little; "not interested" is an explicit negative. Impressions and page views are
 * exposure, not interest, and carry no weight. One table serves training (in SQL) and serving
 * (in TypeScript), so offline and online features agree.
 */
export const EVENT_WEIGHTS: Readonly<Record<string, number>> = {
  purchase: 5,
  rental_start: 4,
  play_complete: 3,
  play_start: 2,
  play_progress: 0.5,
  watchlist_add: 1.5,
  rating: 1,
  trailer_play: 1,
  click: 0.75,
  not_interested: -5,
};

/** A rating is always evidence of watching; higher ratings count more. Range 0.25 to 2. */
export function ratingWeight(value: number): number {
  return Math.min(2, Math.max(0.25, 1 + (value - 3) * 0.5));
}

export function interactionWeight(type: string, value?: number): number {
  if (type === "rating" && value !== undefined) return ratingWeight(value);
  return EVENT_WEIGHTS[type] ?? 0;
}

/**
 * The same weight as a ClickHouse expression over the `events` columns `type` and `payload`.
 * A rating without a value falls through to the table's flat rating weight, as
 * `interactionWeight` does (JSONExtractFloat would read a missing value as 0).
 */
export function weightSql(): string {
  const cases = Object.entries(EVENT_WEIGHTS)
    .map(([type, w]) => `type = '${type}', ${w}`)
    .join(", ");
  return `multiIf(type = 'rating' AND JSONHas(payload, 'value'), least(2, greatest(0.25, 1 + (JSONExtractFloat(payload, 'value') - 3) * 0.5)), ${cases}, 0)`;
}

/** Types that carry weight, for WHERE clauses. */
export const WEIGHTED_TYPES = Object.keys(EVENT_WEIGHTS);
