import { z } from "zod";
import { QualitySchema } from "./events.ts";
import { IdSchema } from "./ids.ts";

export const AGE_RATINGS = ["G", "PG", "PG-13", "R", "NC-17"] as const;
export const AgeRatingSchema = z.enum(AGE_RATINGS);
export type AgeRating = z.infer<typeof AgeRatingSchema>;

export const OfferKindSchema = z.enum(["buy", "rent"]);
export const OfferSchema = z.object({
  kind: OfferKindSchema,
  quality: QualitySchema,
  /** The price now (the sale price during a sale), minor units. */
  price_minor: z.number().int().min(0),
  currency: z.string().regex(/^[A-Z]{3}$/),
  /** The list price, when a sale makes `price_minor` lower. */
  list_price_minor: z.number().int().min(0).optional(),
  /** When the current sale ends (ISO 8601), if it has an end. */
  sale_ends_at: z.string().nullable().optional(),
  /** Rentals: days to start watching after paying, and hours to finish once started. */
  rent_start_window_days: z.number().int().min(1).optional(),
  rent_watch_window_hours: z.number().int().min(1).optional(),
});
export type Offer = z.infer<typeof OfferSchema>;

/** A title as the storefront and the apps see it. */
export const TitleSchema = z.object({
  id: IdSchema,
  title: z.string().min(1).max(300),
  year: z.number().int().min(1870).max(2100),
  genres: z.array(z.string()).max(10),
  runtime_min: z.number().int().min(1).max(1000),
  age_rating: AgeRatingSchema,
  synopsis: z.string().max(5000),
  cast: z.array(z.string()).max(50),
  director: z.string().max(200),
  offers: z.array(OfferSchema),
});
export type Title = z.infer<typeof TitleSchema>;

/** What a shelf card shows of a title: the catalogue summary, without the poster's address. */
export interface TitleSummary {
  id: string;
  title: string;
  year: number;
  genres: string[];
  age_rating: AgeRating;
  runtime_min: number;
  /** Lowest price across offers, in minor units, or null when nothing is on sale. */
  from_price_minor: number | null;
  currency: string;
}

/**
 * A message on catalog.titles.v1 (commerce's outbox, keyed by the title id): the title was
 * published, withdrawn, or a reviewed revision of a published title was applied (`changed`
 * names its fields). It says what happened and when, not the title itself: consumers read the
 * title's current state from the catalogue, so a late or replayed message cannot undo a newer one.
 */
export const TitleChangeSchema = z.object({
  event_id: z.string().uuid(),
  occurred_at: z.string().datetime({ offset: true }),
  type: z.enum(["published", "withdrawn", "updated"]),
  title_id: IdSchema,
  by: z.string().optional(),
  changed: z.array(z.string()).optional(),
});
export type TitleChange = z.infer<typeof TitleChangeSchema>;
