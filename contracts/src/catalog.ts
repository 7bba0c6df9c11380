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
 * A title's state as the catalogue holds it right after a change: what the titles dimension
 * stores. `updated_at` (ISO 8601) is the catalogue's change time, the dimension's version.
 */
export const TitleStateSchema = z.object({
  id: IdSchema,
  title: z.string().min(1),
  genres: z.array(z.string()),
  year: z.number().int(),
  age_rating: z.string(),
  status: z.string(),
  regions: z.array(z.string()),
  updated_at: z.string().datetime({ offset: true }),
});
export type TitleState = z.infer<typeof TitleStateSchema>;

/**
 * A message on catalog.titles.v1 (commerce's outbox, keyed by the title id): the title was
 * published, withdrawn, or a reviewed revision of a published title was applied (`changed`
 * names its fields). `title` carries the title's state as of that change (event-carried state):
 * consumers need no read of the catalogue, and since the state is versioned by its
 * `updated_at`, a late or replayed message cannot undo a newer one. Messages written before
 * `title` existed lack it; consumers that can read the catalogue fill it in.
 */
export const TitleChangeSchema = z.object({
  event_id: z.string().uuid(),
  occurred_at: z.string().datetime({ offset: true }),
  type: z.enum(["published", "withdrawn", "updated"]),
  title_id: IdSchema,
  by: z.string().optional(),
  changed: z.array(z.string()).optional(),
  title: TitleStateSchema.optional(),
});
export type TitleChange = z.infer<typeof TitleChangeSchema>;
