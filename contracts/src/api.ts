import { z } from "zod";
import { AgeRatingSchema } from "./catalog.ts";
import { IdSchema } from "./ids.ts";

/**
 * One ranked title; score is the model's, comparable only within its list. `reason` says why
 * in a viewer's words ("Because you watched Heat", "Popular in Thrillers this week").
 */
export const RankedItemSchema = z.object({
  id: IdSchema,
  score: z.number(),
  reason: z.string().max(200).optional(),
  /** Continue watching: how far the viewer got, 0–1. */
  progress: z.number().min(0).max(1).optional(),
});
export type RankedItem = z.infer<typeof RankedItemSchema>;

/**
 * Which model ranked a response: the versions (`pop:…+i2i:…+personal:…`, or `…+fallback` when
 * serving fell back to popularity), and the experiment variant the viewer is assigned to
 * ("control" outside any experiment). Impression and click events carry both back.
 */
const Provenance = {
  model_version: z.string(),
  variant: z.string(),
  experiment: z.string().nullable(),
};

export const RowSchema = z.object({
  id: z.string(),
  title: z.string(),
  items: z.array(RankedItemSchema),
  /** Why the viewer sees this row, in words, e.g. "Because you watched Heat". */
  reason: z.string(),
  ...Provenance,
});
export type Row = z.infer<typeof RowSchema>;

export const RowsResponseSchema = z.object({ user_id: IdSchema, rows: z.array(RowSchema) });
export type RowsResponse = z.infer<typeof RowsResponseSchema>;

export const SimilarResponseSchema = z.object({
  item_id: IdSchema,
  items: z.array(RankedItemSchema),
  ...Provenance,
});
export type SimilarResponse = z.infer<typeof SimilarResponseSchema>;

export const RecommendationsResponseSchema = z.object({
  user_id: IdSchema,
  items: z.array(RankedItemSchema),
  ...Provenance,
});
export type RecommendationsResponse = z.infer<typeof RecommendationsResponseSchema>;

export const SessionRecommendationsResponseSchema = z.object({
  items: z.array(RankedItemSchema),
  ...Provenance,
});
export type SessionRecommendationsResponse = z.infer<typeof SessionRecommendationsResponseSchema>;

export const POPULAR_WINDOWS = ["day", "week"] as const;
export type PopularWindow = (typeof POPULAR_WINDOWS)[number];
export const PopularResponseSchema = z.object({
  window: z.enum(POPULAR_WINDOWS),
  genre: z.string().nullable(),
  items: z.array(RankedItemSchema),
  ...Provenance,
});
export type PopularResponse = z.infer<typeof PopularResponseSchema>;

/**
 * Who rows are ranked for: a kids' profile's age limit and the viewer's region. Nothing above
 * `maxAgeRating` appears anywhere in a response (items, headings, reasons); a region, when
 * given, hides titles not sold there. Commerce's `Audience` has this shape.
 */
export interface ViewerAudience {
  maxAgeRating?: string | null;
  region?: string | null;
}

/** The audience as query parameters (`max_age_rating`, `region`), for callers of the HTTP API. */
export const AudienceQuerySchema = z.object({
  max_age_rating: AgeRatingSchema.optional(),
  region: z
    .string()
    .regex(/^[A-Z]{2}$/, "must be an ISO 3166-1 alpha-2 code such as US")
    .optional(),
});

/** How many: `k` (or `limit`, its older name), 1–100. */
const Count = z.coerce.number().int().min(1).max(100);
const Genre = z.string().min(1).max(60);

export const RowsQuerySchema = z.object({
  limit: Count.default(20),
});

export const RecommendationsQuerySchema = AudienceQuerySchema.extend({
  k: Count.default(20),
  genre: Genre.optional(),
  exclude_owned: z
    .enum(["true", "false", "1", "0"])
    .transform((v) => v === "true" || v === "1")
    .default(false),
});

export const SimilarQuerySchema = AudienceQuerySchema.extend({
  k: Count.optional(),
  limit: Count.optional(),
  user_id: IdSchema.optional(),
});

export const PopularQuerySchema = AudienceQuerySchema.extend({
  k: Count.default(20),
  genre: Genre.optional(),
  window: z.enum(POPULAR_WINDOWS).default("week"),
});

/** An anonymous visitor's session: the titles they looked at, oldest first (no account needed). */
export const SessionRecommendationsBodySchema = AudienceQuerySchema.extend({
  item_ids: z.array(IdSchema).max(100),
  /** Titles never to offer (already in the visitor's cart, say). */
  exclude_item_ids: z.array(IdSchema).max(500).default([]),
  /** Titles the visitor turned down this session. */
  not_interested_ids: z.array(IdSchema).max(500).default([]),
  k: z.number().int().min(1).max(100).default(20),
  genre: Genre.optional(),
});
export type SessionRecommendationsBody = z.infer<typeof SessionRecommendationsBodySchema>;

/** The one error body every API returns: a stable code and a message safe to show. */
export const ErrorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
