/**
 * How commerce's records are shown to clients: the one mapping from database rows and
 * `Viewer`s to the API's answers, used by `/api/v1` and by the storefront's pages alike.
 * Only types are imported, so the storefront can bundle this file without the database code.
 */
import type { Viewer } from "./accounts.ts";
import type { Promo, ReviewItem, SellerTitle, SellerTitleSummary, User } from "./http/schemas.ts";
import type { offers, promoCodes, titles } from "./schema.ts";
import type { ReviewQueueItem, TitleRevisionView } from "./selling.ts";

export type {
  Promo,
  ReviewItem,
  SellerOfferView,
  SellerTitle,
  SellerTitleSummary,
  User,
} from "./http/schemas.ts";

/** A title as `Selling.getTitle` returns it: the row (as approved), its offers, an edit waiting for review. */
export type SellerTitleRecord = typeof titles.$inferSelect & {
  offers: (typeof offers.$inferSelect)[];
  revision?: TitleRevisionView | null;
};

// Text columns whose values the database's check constraints hold to these enums.
type TitleStatus = SellerTitle["status"];
type AgeRating = SellerTitle["age_rating"];
type OfferKind = SellerTitle["offers"][number]["kind"];
type Quality = SellerTitle["offers"][number]["quality"];

const iso = (d: Date | string | null | undefined): string | null =>
  d === null || d === undefined ? null : new Date(d).toISOString();

export function userView(v: Viewer): User {
  return {
    id: v.userId,
    email: v.email,
    display_name: v.displayName,
    roles: v.roles,
    region: v.region,
    seller_id: v.sellerId,
  };
}

export function sellerTitleView(t: SellerTitleRecord): SellerTitle {
  return {
    id: t.id,
    title: t.title,
    status: t.status as TitleStatus,
    year: t.year,
    genres: t.genres,
    runtime_min: t.runtimeMin,
    age_rating: t.ageRating as AgeRating,
    synopsis: t.synopsis,
    cast: t.cast,
    director: t.director,
    regions: t.regions,
    release_date: t.releaseDate,
    review_note: t.reviewNote,
    submitted_at: iso(t.submittedAt),
    updated_at: new Date(t.updatedAt).toISOString(),
    offers: t.offers.map((o) => ({
      kind: o.kind as OfferKind,
      quality: o.quality as Quality,
      price_minor: o.priceMinor,
      currency: o.currency,
      rent_start_window_days: o.rentStartWindowDays,
      rent_watch_window_hours: o.rentWatchWindowHours,
      sale_price_minor: o.salePriceMinor,
      sale_starts_at: iso(o.saleStartsAt),
      sale_ends_at: iso(o.saleEndsAt),
    })),
    revision: t.revision
      ? {
          ...t.revision,
          submitted_at: new Date(t.revision.submitted_at).toISOString(),
          draft: { ...t.revision.draft, age_rating: t.revision.draft.age_rating as AgeRating },
        }
      : null,
  };
}

/** A row of `Selling.listTitles`. */
export function sellerTitleSummaryView(t: {
  id: string;
  title: string;
  status: string;
  year: number;
  age_rating: string;
  review_note: string | null;
  updated_at: Date;
}): SellerTitleSummary {
  return {
    ...t,
    status: t.status as TitleStatus,
    age_rating: t.age_rating as AgeRating,
    updated_at: t.updated_at.toISOString(),
  };
}

export function promoView(p: typeof promoCodes.$inferSelect): Promo {
  return {
    id: p.id,
    code: p.code,
    percent_off: p.percentOff,
    amount_off_minor: p.amountOffMinor,
    currency: p.currency,
    applies_to: p.appliesTo as Promo["applies_to"],
    title_id: p.titleId,
    max_redemptions: p.maxRedemptions,
    redemptions: p.redemptions,
    starts_at: iso(p.startsAt),
    ends_at: iso(p.endsAt),
    created_at: p.createdAt.toISOString(),
  };
}

/** A row of `Selling.reviewQueue`. */
export function reviewItemView(t: ReviewQueueItem): ReviewItem {
  return { ...t, submitted_at: iso(t.submitted_at) };
}
