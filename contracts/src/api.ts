import { z } from "zod";
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

export const RowsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** The one error body every API returns: a stable code and a message safe to show. */
export const ErrorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
