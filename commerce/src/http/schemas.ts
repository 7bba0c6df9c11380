import { AgeRatingSchema, IdSchema, OfferSchema, QualitySchema, TitleSchema } from "@marquee/contracts";
import { z } from "zod";
import { OfferInputSchema } from "../selling.ts";

/**
 * Request shapes of /api/v1 that the commerce layer does not already export, and the answers'
 * shapes: the OpenAPI document, the views' types (`z.infer` of each, see views.ts) and, with
 * the API's `validateResponses` (on in tests), a check of every answer.
 */

const Region = z.string().regex(/^[A-Z]{2}$/, "must be an ISO 3166-1 alpha-2 code such as US");
const Instant = z.string().describe("ISO 8601 instant");

// ─── Requests ─────────────────────────────────────────────────────────────────────────

export const SignInSchema = z.object({
  email: z.string().max(254),
  password: z.string().max(1024),
});

export const SelectProfileSchema = z.object({
  profile_id: IdSchema,
  /** Needed to leave a kids' profile for one without its limit. */
  pin: z.string().max(12).optional(),
});

export const RegionQuerySchema = z.object({
  region: Region.optional().describe("Anonymous callers only: whose offers to show (default US)"),
});

export const TitlesQuerySchema = z.object({
  ids: z
    .string()
    .max(6600)
    .describe("Comma-separated title ids, at most 100; the answer keeps their order")
    .transform((s) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(IdSchema).min(1, "give at least one id").max(100, "at most 100 ids")),
  region: RegionQuerySchema.shape.region,
});

export const SearchQuerySchema = z.object({
  q: z.string().trim().min(1, "q must not be empty").max(200).describe("Matches title, director, cast and genre"),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  region: RegionQuerySchema.shape.region,
});

export const RefundRequestSchema = z.object({
  reason: z.string().trim().max(500).optional(),
});

export const ProgressSchema = z.object({
  position_s: z.number().min(0).max(86_400).describe("Seconds from the start"),
  duration_s: z.number().int().min(1).max(86_400).optional(),
});

export const BecomeSellerSchema = z.object({
  display_name: z.string().trim().min(1).max(80),
});

export const OffersBodySchema = z.object({
  offers: z.array(OfferInputSchema).max(6, "at most 6 offers (buy and rent × SD, HD, 4K)"),
});

export const RejectSchema = z.object({
  note: z.string().trim().min(1, "say what the seller must change").max(1000),
  revision_id: IdSchema.optional().describe("A published title's revision: the one the reviewer saw"),
});

export const ApproveSchema = z.object({
  revision_id: IdSchema.optional().describe(
    "A published title's revision: the one the reviewer saw (refused with 409 if the seller changed it since)",
  ),
});

export const WithdrawSchema = z.object({
  note: z.string().trim().max(1000).optional(),
});

// ─── Answers (documentation) ──────────────────────────────────────────────────────────

export const ProfileSchema = z.object({
  id: IdSchema,
  name: z.string(),
  kind: z.enum(["standard", "kids"]),
  max_age_rating: AgeRatingSchema.nullable(),
  has_pin: z.boolean(),
});

export const UserSchema = z.object({
  id: IdSchema,
  email: z.string(),
  display_name: z.string(),
  roles: z.array(z.enum(["viewer", "seller", "admin"])),
  region: Region,
  seller_id: IdSchema.nullable(),
});

export const SessionSchema = z.object({
  token: z.string().describe("Send as `Authorization: Bearer <token>`"),
  token_type: z.literal("Bearer"),
  csrf_token: z.string().describe("Send as `x-csrf-token` with the cookie on POST, PUT and DELETE"),
  expires_at: Instant,
  user: UserSchema,
  profile: ProfileSchema,
});

export const MeSchema = z.object({
  user: UserSchema,
  profile: ProfileSchema,
  profiles: z.array(ProfileSchema),
  csrf_token: z.string(),
  session_expires_at: Instant,
});

export const TitleCardSchema = z.object({
  id: IdSchema,
  title: z.string(),
  year: z.number().int(),
  genres: z.array(z.string()),
  age_rating: AgeRatingSchema,
  runtime_min: z.number().int(),
  from_price_minor: z.number().int().nullable(),
  currency: z.string(),
  poster_url: z.string(),
});
export const CardsSchema = z.object({ items: z.array(TitleCardSchema) });
export const TitlePageSchema = TitleSchema.extend({ poster_url: z.string() });

export const LibraryItemSchema = z.object({
  entitlement_id: IdSchema,
  title_id: IdSchema,
  title: z.string(),
  age_rating: AgeRatingSchema,
  kind: z.enum(["own", "rent"]),
  quality: QualitySchema,
  status: z.enum(["active", "refunded"]),
  acquired_at: Instant,
  start_by: Instant.nullable().describe("Rentals not yet started: the last moment to start"),
  expires_at: Instant.nullable(),
  first_played_at: Instant.nullable(),
  watch_window_hours: z.number().int().nullable(),
  playable: z.boolean(),
  problem: z.string().nullable(),
  refundable: z.boolean(),
  refund_problem: z.string().nullable(),
  position_s: z.number().nullable(),
});

export const PlaybackGrantSchema = z.object({
  entitlement_id: IdSchema,
  title_id: IdSchema,
  kind: z.enum(["own", "rent"]),
  quality: QualitySchema,
  expires_at: Instant.nullable().describe("A started rental's end; null until playback really starts"),
  watch_window_hours: z
    .number()
    .int()
    .nullable()
    .describe("Rentals: how long the watch window lasts once playback starts (at the first key request)"),
  token: z.string().describe("Signed grant for the media origin"),
  token_expires_at: Instant,
  resume_at_s: z.number(),
});

export const PlaybackStartRequestSchema = z.object({
  token: z.string().min(1).max(500).describe("The playback grant's token"),
});

export const PlaybackStartSchema = z.object({
  entitlement_id: IdSchema,
  title_id: IdSchema,
  kind: z.enum(["own", "rent"]),
  started_at: Instant.describe("When playback first started; a repeat answers the same instant"),
  expires_at: Instant.nullable().describe("A rental's end, counted from started_at; null for purchases"),
});

const CheckoutLineSchema = z.object({
  title_id: IdSchema,
  title: z.string(),
  kind: z.enum(["buy", "rent"]),
  quality: QualitySchema,
  list_price_minor: z.number().int(),
  price_minor: z.number().int(),
  discount_minor: z.number().int(),
  credit_minor: z.number().int().describe("Rent-to-own credit or the price already paid for a lower quality"),
  rent_start_window_days: z.number().int().nullable(),
  rent_watch_window_hours: z.number().int().nullable(),
});

export const QuoteSchema = z.object({
  currency: z.string(),
  subtotal_minor: z.number().int(),
  discount_minor: z.number().int(),
  credit_minor: z.number().int(),
  total_minor: z.number().int(),
  lines: z.array(CheckoutLineSchema),
  promo_hold_minutes: z
    .number()
    .int()
    .nullable()
    .describe(
      "A promo code with limited uses: an unpaid checkout holds one this long, then (or on cancel) gives it back",
    ),
});

export const CancelResultSchema = z.object({
  order_id: IdSchema,
  status: z
    .enum(["expired", "paid", "refunded", "partially_refunded", "pending"])
    .describe("expired: nothing charged, any promo use given back; pending: paid just now, being granted"),
});

export const CheckoutResultSchema = QuoteSchema.extend({
  order_id: IdSchema,
  status: z.enum(["pending", "paid"]),
  checkout_url: z.string().nullable().describe("Open in a browser to pay; null when nothing is owed"),
});

export const OrderSummarySchema = z.object({
  order_id: IdSchema,
  status: z.string(),
  currency: z.string(),
  total_minor: z.number().int(),
  discount_minor: z.number().int(),
  credit_minor: z.number().int(),
  created_at: Instant,
  paid_at: Instant.nullable(),
});

export const OrderSchema = z.object({
  order_id: IdSchema,
  status: z.string(),
  currency: z.string(),
  total_minor: z.number().int(),
  checkout_url: z.string().nullable(),
  items: z.array(
    z.object({
      title_id: IdSchema,
      kind: z.string(),
      quality: z.string(),
      price_minor: z.number().int(),
      credit_minor: z.number().int(),
    }),
  ),
});

export const RefundSchema = z.object({ refund_id: IdSchema, amount_minor: z.number().int(), currency: z.string() });

export const SellerOfferSchema = OfferSchema.pick({
  kind: true,
  quality: true,
  price_minor: true,
  currency: true,
}).extend({
  rent_start_window_days: z.number().int(),
  rent_watch_window_hours: z.number().int(),
  sale_price_minor: z.number().int().nullable(),
  sale_starts_at: Instant.nullable(),
  sale_ends_at: Instant.nullable(),
});

export const TitleChangeSchema = z.object({
  field: z.string(),
  from: z.unknown().describe("The approved value"),
  to: z.unknown().describe("The proposed value"),
});

export const TitleRevisionSchema = z
  .object({
    id: IdSchema,
    status: z.enum(["pending", "sent_back"]),
    submitted_at: Instant,
    review_note: z.string().nullable(),
    changes: z.array(TitleChangeSchema),
    draft: z
      .object({
        title: z.string(),
        year: z.number().int(),
        genres: z.array(z.string()),
        runtime_min: z.number().int(),
        age_rating: AgeRatingSchema,
        synopsis: z.string(),
        cast: z.array(z.string()),
        director: z.string(),
        regions: z.array(z.string()),
        release_date: z.string().nullable().optional(),
      })
      .describe("The proposed metadata, whole"),
  })
  .describe(
    "An edit to a published title: waiting for review (the approved version stays live), or sent back with a note",
  );

export const SellerTitleSchema = z.object({
  id: IdSchema,
  title: z.string(),
  status: z.enum(["draft", "in_review", "published", "withdrawn"]),
  year: z.number().int(),
  genres: z.array(z.string()),
  runtime_min: z.number().int(),
  age_rating: AgeRatingSchema,
  synopsis: z.string(),
  cast: z.array(z.string()),
  director: z.string(),
  regions: z.array(Region),
  release_date: z.string().nullable(),
  review_note: z.string().nullable(),
  submitted_at: Instant.nullable(),
  updated_at: Instant,
  offers: z.array(SellerOfferSchema),
  revision: TitleRevisionSchema.nullable().describe("Metadata above is the approved version; this is the edit"),
});

export const PromoSchema = z.object({
  id: IdSchema,
  code: z.string(),
  percent_off: z.number().int().nullable(),
  amount_off_minor: z.number().int().nullable(),
  currency: z.string(),
  applies_to: z.enum(["buy", "rent", "both"]),
  title_id: IdSchema.nullable(),
  max_redemptions: z.number().int().nullable(),
  redemptions: z.number().int(),
  starts_at: Instant.nullable(),
  ends_at: Instant.nullable(),
  created_at: Instant,
});

export const SalesReportSchema = z.object({
  seller_id: IdSchema,
  currency: z.string(),
  gross_minor: z.number().int(),
  fee_minor: z.number().int(),
  refunds_minor: z.number().int(),
  net_minor: z.number().int(),
  sales: z.number().int(),
  refunds: z.number().int(),
  by_title: z.array(
    z.object({
      title_id: IdSchema,
      title: z.string(),
      sales: z.number().int(),
      gross_minor: z.number().int(),
      net_minor: z.number().int(),
    }),
  ),
});

export const ItemsOf = <S extends z.ZodType>(item: S) => z.object({ items: z.array(item) });

export const SearchResultSchema = CardsSchema.extend({ query: z.string() });

export const SellerTitleSummarySchema = SellerTitleSchema.pick({
  id: true,
  title: true,
  status: true,
  year: true,
  age_rating: true,
  review_note: true,
  updated_at: true,
});

export const SellerAccountSchema = z.object({
  onboarded: z.boolean(),
  charges_enabled: z.boolean(),
  payouts_enabled: z.boolean(),
});

export const PayoutSchema = z.object({
  id: z.string(),
  amount_minor: z.number().int(),
  currency: z.string(),
  status: z.string(),
  arrival_date: z.string(),
});

export const ReviewItemSchema = z.object({
  id: z.string(),
  title: z.string().describe("As approved (for a revision, the live title)"),
  seller: z.string(),
  age_rating: z.string().describe("As approved (for a revision, the live rating)"),
  submitted_at: Instant.nullable(),
  kind: z.enum(["new", "revision"]).describe("new: a title in review; revision: an edit to a published title"),
  revision_id: IdSchema.nullable(),
  changes: z.array(TitleChangeSchema).describe("A revision's changes from the approved version"),
});

export const DecisionSchema = z.object({ title_id: z.string(), status: z.string() });

export const WebhookReceivedSchema = z.object({ received: z.literal(true), result: z.string() });

// ─── Answer types: derived from the schemas above, so a view cannot drift from its document ──

export type User = z.infer<typeof UserSchema>;
export type Session = z.infer<typeof SessionSchema>;
export type Me = z.infer<typeof MeSchema>;
export type TitleCardView = z.infer<typeof TitleCardSchema>;
export type SellerOfferView = z.infer<typeof SellerOfferSchema>;
export type SellerTitle = z.infer<typeof SellerTitleSchema>;
export type SellerTitleSummary = z.infer<typeof SellerTitleSummarySchema>;
export type Promo = z.infer<typeof PromoSchema>;
export type ReviewItem = z.infer<typeof ReviewItemSchema>;
