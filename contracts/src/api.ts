import { z } from "zod";
import { AgeRatingSchema } from "./catalog.ts";
import { IdSchema } from "./ids.ts";

/** One ranked title in a row; score is the model's, comparable only within the row. */
export const RankedItemSchema = z.object({ id: IdSchema, score: z.number() });
export type RankedItem = z.infer<typeof RankedItemSchema>;

export const RowSchema = z.object({
  id: z.string(),
  title: z.string(),
  items: z.array(RankedItemSchema),
  /** Why the viewer sees this row, in words, e.g. "Because you watched Heat". */
  reason: z.string(),
  /** Which model versions produced it, for impression logging and experiments. */
  model_version: z.string(),
});
export type Row = z.infer<typeof RowSchema>;

export const RowsResponseSchema = z.object({ user_id: IdSchema, rows: z.array(RowSchema) });
export type RowsResponse = z.infer<typeof RowsResponseSchema>;

export const SimilarResponseSchema = z.object({
  item_id: IdSchema,
  items: z.array(RankedItemSchema),
  model_version: z.string(),
});
export type SimilarResponse = z.infer<typeof SimilarResponseSchema>;

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

export const RowsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** The one error body every API returns: a stable code and a message safe to show. */
export const ErrorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
