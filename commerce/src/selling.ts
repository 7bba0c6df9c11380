import { AGE_RATINGS, QualitySchema } from "@marquee/contracts";
import { AppError } from "@marquee/runtime";
import { and, desc, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { firstIssue, requireRole, type Viewer } from "./accounts.ts";
import { type CommerceContext, titleEvent } from "./context.ts";
import { newId } from "./ids.ts";
import { enqueueOutbox } from "./outbox.ts";
import { ledgerEntries, offers, orderItems, promoCodes, sellers, titleRevisions, titles } from "./schema.ts";

const Region = z.string().regex(/^[A-Z]{2}$/, "regions are ISO 3166-1 alpha-2 codes such as US");

export const TitleDraftSchema = z.object({
  title: z.string().trim().min(1).max(300),
  year: z.number().int().min(1870).max(2100),
  genres: z.array(z.string().trim().min(1).max(40)).max(10).default([]),
  runtime_min: z.number().int().min(1).max(1000),
  age_rating: z.enum(AGE_RATINGS),
  synopsis: z.string().max(5000).default(""),
  cast: z.array(z.string().trim().min(1).max(100)).max(50).default([]),
  director: z.string().max(200).default(""),
  regions: z.array(Region).max(250).default([]),
  release_date: z.iso.date().nullable().optional(),
});
export type TitleDraft = z.input<typeof TitleDraftSchema>;

export const OfferInputSchema = z
  .object({
    kind: z.enum(["buy", "rent"]),
    quality: QualitySchema,
    price_minor: z.number().int().min(0).max(100_000_00),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/)
      .default("USD"),
    rent_start_window_days: z.number().int().min(1).max(365).default(30),
    rent_watch_window_hours: z.number().int().min(1).max(720).default(48),
    sale_price_minor: z.number().int().min(0).nullable().optional(),
    sale_starts_at: z.iso.datetime({ offset: true }).nullable().optional(),
    sale_ends_at: z.iso.datetime({ offset: true }).nullable().optional(),
  })
  .refine((o) => o.sale_price_minor == null || o.sale_price_minor < o.price_minor, {
    message: "a sale price must be below the list price",
  })
  .refine((o) => !(o.sale_starts_at && o.sale_ends_at) || o.sale_starts_at < o.sale_ends_at, {
    message: "a sale must end after it starts",
  });
export type OfferInput = z.input<typeof OfferInputSchema>;

export const PromoInputSchema = z
  .object({
    code: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_-]{3,40}$/, "codes are 3-40 letters, digits, '-' or '_'")
      .transform((s) => s.toUpperCase()),
    percent_off: z.number().int().min(1).max(100).optional(),
    amount_off_minor: z.number().int().min(1).optional(),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/)
      .default("USD"),
    applies_to: z.enum(["buy", "rent", "both"]).default("both"),
    title_id: z.string().optional(),
    max_redemptions: z.number().int().min(1).optional(),
    starts_at: z.iso.datetime({ offset: true }).optional(),
    ends_at: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((p) => (p.percent_off === undefined) !== (p.amount_off_minor === undefined), {
    message: "give either percent_off or amount_off_minor",
  });
export type PromoInput = z.input<typeof PromoInputSchema>;

/** The metadata a reviewer approves: a validated draft, in the API's shape. */
export type TitleMetadata = z.output<typeof TitleDraftSchema>;

/** One field a revision changes, from the approved value to the proposed one. */
export interface TitleChange {
  field: keyof TitleMetadata;
  from: unknown;
  to: unknown;
}

/**
 * A seller's edit to a published title: waiting for review, or sent back with the reviewer's
 * note (until the seller edits again). The approved version stays live meanwhile.
 */
export interface TitleRevisionView {
  id: string;
  status: "pending" | "sent_back";
  submitted_at: Date;
  review_note: string | null;
  changes: TitleChange[];
  draft: TitleMetadata;
}

/** What a reviewer decides on: a new title in review, or a published title's revision. */
export interface ReviewQueueItem {
  id: string;
  title: string;
  seller: string;
  age_rating: string;
  submitted_at: Date | null;
  kind: "new" | "revision";
  revision_id: string | null;
  changes: TitleChange[];
}

export interface SalesReport {
  seller_id: string;
  currency: string;
  gross_minor: number;
  fee_minor: number;
  refunds_minor: number;
  net_minor: number;
  sales: number;
  refunds: number;
  by_title: { title_id: string; title: string; sales: number; gross_minor: number; net_minor: number }[];
}

/**
 * Sellers list films and get paid; admins review. Every method checks the role and that the
 * title belongs to the caller's seller account: a seller never reads or changes another's.
 */
export class Selling {
  constructor(private readonly ctx: CommerceContext) {}

  /** Open a seller account for a signed-in user (idempotent). */
  async becomeSeller(viewer: Viewer, displayName: string): Promise<{ seller_id: string }> {
    if (!viewer) throw new AppError("unauthorized", "sign in first");
    if (viewer.profile.kind === "kids") throw new AppError("forbidden", "a kids' profile cannot sell");
    const name = displayName.trim();
    if (name.length < 1 || name.length > 80) throw new AppError("bad_request", "display_name must be 1-80 characters");
    await this.ctx.db
      .insert(sellers)
      .values({ id: newId("s"), userId: viewer.userId, displayName: name, feeBps: this.ctx.platformFeeBps })
      .onConflictDoNothing({ target: sellers.userId });
    await this.ctx.accounts.grantRole(viewer.userId, "seller");
    const [s] = await this.ctx.db.select().from(sellers).where(eq(sellers.userId, viewer.userId));
    if (!s) throw new AppError("internal", "seller was not created");
    return { seller_id: s.id };
  }

  /**
   * The share of each sale Marquee keeps, in basis points: the seller's own rate once they are
   * one (it can differ per seller), else the rate a new seller would get (PLATFORM_FEE_BPS).
   */
  async feeTerms(viewer: Viewer): Promise<{ fee_bps: number; own: boolean }> {
    const [s] = await this.ctx.db
      .select({ feeBps: sellers.feeBps })
      .from(sellers)
      .where(eq(sellers.userId, viewer.userId));
    return s ? { fee_bps: s.feeBps, own: true } : { fee_bps: this.ctx.platformFeeBps, own: false };
  }

  async listTitles(viewer: Viewer) {
    const seller = await this.sellerOf(viewer);
    return this.ctx.db
      .select({
        id: titles.id,
        title: titles.title,
        status: titles.status,
        year: titles.year,
        age_rating: titles.ageRating,
        review_note: titles.reviewNote,
        updated_at: titles.updatedAt,
      })
      .from(titles)
      .where(eq(titles.sellerId, seller.id))
      .orderBy(desc(titles.updatedAt));
  }

  /** The title as approved (what viewers see), its offers, and a revision waiting for review. */
  async getTitle(viewer: Viewer, titleId: string) {
    const seller = await this.sellerOf(viewer);
    const t = await this.ownTitle(seller.id, titleId);
    const os = await this.ctx.db.select().from(offers).where(eq(offers.titleId, titleId));
    return { ...t, offers: os, revision: await this.openRevision(t) };
  }

  async createTitle(viewer: Viewer, draft: TitleDraft): Promise<{ title_id: string }> {
    const seller = await this.sellerOf(viewer);
    const d = parse(TitleDraftSchema, draft);
    const id = newId("t");
    await this.ctx.db.insert(titles).values({
      id,
      sellerId: seller.id,
      status: "draft",
      ...titleColumns(d),
    });
    return { title_id: id };
  }

  /**
   * Edit metadata. A draft or withdrawn title changes at once (it is reviewed when submitted).
   * A published title's edit is a revision: the approved version stays live, exactly as
   * approved, until an admin approves the edit (which applies it) or sends it back. Editing
   * again replaces the waiting revision; editing back to the approved values withdraws it.
   * Prices and offers are not reviewed (`setOffers`).
   */
  async updateTitle(viewer: Viewer, titleId: string, draft: TitleDraft): Promise<{ review: boolean }> {
    const seller = await this.sellerOf(viewer);
    const t = await this.ownTitle(seller.id, titleId);
    if (t.status === "in_review")
      throw new AppError("conflict", "a title in review cannot be edited until it is decided");
    const d = parse(TitleDraftSchema, draft);
    const now = this.ctx.now();
    if (t.status !== "published") {
      await this.ctx.db
        .update(titles)
        .set({ ...titleColumns(d), updatedAt: now })
        .where(eq(titles.id, titleId));
      return { review: false };
    }
    const changed = changesOf(metadataOf(t), d).length > 0;
    await this.ctx.db.transaction(async (tx) => {
      // The waiting revision (if any) is replaced, not edited in place: a reviewer who opened
      // it decides on exactly what they saw (approve names the revision).
      await tx
        .update(titleRevisions)
        .set({ status: "discarded", decidedAt: now, decidedBy: viewer.userId })
        .where(and(eq(titleRevisions.titleId, titleId), eq(titleRevisions.status, "pending")));
      if (changed)
        await tx.insert(titleRevisions).values({
          id: newId("rev"),
          titleId,
          status: "pending",
          draft: d,
          submittedBy: viewer.userId,
          submittedAt: now,
        });
      await tx.update(titles).set({ updatedAt: now }).where(eq(titles.id, titleId));
    });
    return { review: changed };
  }

  /** Replace the title's offers (prices, rental windows, timed sales) in one transaction. */
  async setOffers(viewer: Viewer, titleId: string, input: OfferInput[]): Promise<void> {
    const seller = await this.sellerOf(viewer);
    await this.ownTitle(seller.id, titleId);
    if (!Array.isArray(input) || input.length > 6) throw new AppError("bad_request", "give 0 to 6 offers");
    const list = input.map((o) => parse(OfferInputSchema, o));
    const keys = list.map((o) => `${o.kind}:${o.quality}`);
    if (new Set(keys).size !== keys.length) throw new AppError("bad_request", "one offer per kind and quality");
    if (new Set(list.map((o) => o.currency)).size > 1) throw new AppError("bad_request", "one currency per title");
    await this.ctx.db.transaction(async (tx) => {
      await tx.delete(offers).where(eq(offers.titleId, titleId));
      if (list.length > 0)
        await tx.insert(offers).values(
          list.map((o) => ({
            titleId,
            kind: o.kind,
            quality: o.quality,
            priceMinor: o.price_minor,
            currency: o.currency,
            rentStartWindowDays: o.rent_start_window_days,
            rentWatchWindowHours: o.rent_watch_window_hours,
            salePriceMinor: o.sale_price_minor ?? null,
            saleStartsAt: o.sale_starts_at ? new Date(o.sale_starts_at) : null,
            saleEndsAt: o.sale_ends_at ? new Date(o.sale_ends_at) : null,
          })),
        );
      await tx.update(titles).set({ updatedAt: this.ctx.now() }).where(eq(titles.id, titleId));
    });
  }

  async submitForReview(viewer: Viewer, titleId: string): Promise<void> {
    const seller = await this.sellerOf(viewer);
    const t = await this.ownTitle(seller.id, titleId);
    if (t.status !== "draft" && t.status !== "withdrawn")
      throw new AppError("conflict", `a ${t.status.replace("_", " ")} title cannot be submitted`);
    const [n] = await this.ctx.db
      .select({ n: sql<number>`count(*)::int` })
      .from(offers)
      .where(eq(offers.titleId, titleId));
    if (!n || n.n === 0) throw new AppError("conflict", "set at least one price before submitting");
    const film = await this.ctx.filmProblem?.(titleId);
    if (film) throw new AppError("conflict", film);
    await this.ctx.db
      .update(titles)
      .set({ status: "in_review", submittedAt: this.ctx.now(), reviewNote: null })
      .where(eq(titles.id, titleId));
  }

  /**
   * May this viewer upload and replace a title's media (film, trailer, poster, captions)? Its
   * seller, or an admin; anyone else is told the title does not exist. Returns the user id.
   */
  async mayManageMedia(viewer: Viewer | null, titleId: string): Promise<{ userId: string }> {
    if (!viewer) throw new AppError("unauthorized", "sign in to upload");
    if (viewer.roles.includes("admin")) {
      const [t] = await this.ctx.db.select({ id: titles.id }).from(titles).where(eq(titles.id, titleId));
      if (!t) throw new AppError("not_found", "no such title");
      return { userId: viewer.userId };
    }
    const seller = await this.sellerOf(viewer);
    await this.ownTitle(seller.id, titleId);
    return { userId: viewer.userId };
  }

  async createPromo(viewer: Viewer, input: PromoInput): Promise<{ promo_id: string; code: string }> {
    const seller = await this.sellerOf(viewer);
    const p = parse(PromoInputSchema, input);
    if (p.title_id) await this.ownTitle(seller.id, p.title_id);
    if (p.starts_at && p.ends_at && p.starts_at >= p.ends_at)
      throw new AppError("bad_request", "a promo must end after it starts");
    const id = newId("promo");
    const inserted = await this.ctx.db
      .insert(promoCodes)
      .values({
        id,
        sellerId: seller.id,
        code: p.code,
        percentOff: p.percent_off ?? null,
        amountOffMinor: p.amount_off_minor ?? null,
        currency: p.currency,
        appliesTo: p.applies_to,
        titleId: p.title_id ?? null,
        maxRedemptions: p.max_redemptions ?? null,
        startsAt: p.starts_at ? new Date(p.starts_at) : null,
        endsAt: p.ends_at ? new Date(p.ends_at) : null,
      })
      .onConflictDoNothing()
      .returning({ id: promoCodes.id });
    if (inserted.length === 0) throw new AppError("conflict", `you already have a promo code ${p.code}`);
    return { promo_id: id, code: p.code };
  }

  async listPromos(viewer: Viewer) {
    const seller = await this.sellerOf(viewer);
    return this.ctx.db
      .select()
      .from(promoCodes)
      .where(eq(promoCodes.sellerId, seller.id))
      .orderBy(desc(promoCodes.createdAt));
  }

  /** Gross, platform fee, refunds and net from the ledger, overall and per title. */
  async salesReport(viewer: Viewer): Promise<SalesReport> {
    const seller = await this.sellerOf(viewer);
    const [total] = await this.ctx.db
      .select({
        currency: sql<string>`coalesce(min(${ledgerEntries.currency}), 'USD')`,
        gross: sql<number>`coalesce(sum(${ledgerEntries.grossMinor}) filter (where ${ledgerEntries.kind} = 'sale'), 0)::int`,
        fee: sql<number>`coalesce(sum(${ledgerEntries.feeMinor}), 0)::int`,
        refunds: sql<number>`coalesce(-sum(${ledgerEntries.grossMinor}) filter (where ${ledgerEntries.kind} = 'refund'), 0)::int`,
        net: sql<number>`coalesce(sum(${ledgerEntries.netMinor}), 0)::int`,
        sales: sql<number>`count(*) filter (where ${ledgerEntries.kind} = 'sale')::int`,
        refundCount: sql<number>`count(*) filter (where ${ledgerEntries.kind} = 'refund')::int`,
      })
      .from(ledgerEntries)
      .where(eq(ledgerEntries.sellerId, seller.id));
    const byTitle = await this.ctx.db
      .select({
        title_id: orderItems.titleId,
        title: sql<string>`min(${titles.title})`,
        sales: sql<number>`count(*) filter (where ${ledgerEntries.kind} = 'sale')::int`,
        gross_minor: sql<number>`coalesce(sum(${ledgerEntries.grossMinor}), 0)::int`,
        net_minor: sql<number>`coalesce(sum(${ledgerEntries.netMinor}), 0)::int`,
      })
      .from(ledgerEntries)
      .innerJoin(orderItems, eq(orderItems.id, ledgerEntries.orderItemId))
      .innerJoin(titles, eq(titles.id, orderItems.titleId))
      .where(eq(ledgerEntries.sellerId, seller.id))
      .groupBy(orderItems.titleId)
      .orderBy(desc(sql`sum(${ledgerEntries.netMinor})`));
    return {
      seller_id: seller.id,
      currency: total?.currency ?? "USD",
      gross_minor: total?.gross ?? 0,
      fee_minor: total?.fee ?? 0,
      refunds_minor: total?.refunds ?? 0,
      net_minor: total?.net ?? 0,
      sales: total?.sales ?? 0,
      refunds: total?.refundCount ?? 0,
      by_title: byTitle,
    };
  }

  /** Stripe Connect Express onboarding: the account is created once, the link each time. */
  async onboardingLink(viewer: Viewer, urls: { refreshUrl: string; returnUrl: string }): Promise<{ url: string }> {
    const seller = await this.sellerOf(viewer);
    let account = seller.stripeAccountId;
    if (!account) {
      const created = await this.ctx.gateway.createConnectedAccount(
        { email: viewer.email, country: viewer.region },
        `connect-${seller.id}`,
      );
      account = created.id;
      await this.ctx.db
        .update(sellers)
        .set({ stripeAccountId: account, chargesEnabled: created.chargesEnabled })
        .where(eq(sellers.id, seller.id));
    }
    return this.ctx.gateway.createAccountLink({ account, ...urls });
  }

  /** Re-read the connected account (after onboarding, or on `account.updated`). */
  async refreshAccount(viewer: Viewer) {
    const seller = await this.sellerOf(viewer);
    if (!seller.stripeAccountId) return { onboarded: false, charges_enabled: false, payouts_enabled: false };
    const a = await this.ctx.gateway.retrieveAccount(seller.stripeAccountId);
    await this.ctx.db.update(sellers).set({ chargesEnabled: a.chargesEnabled }).where(eq(sellers.id, seller.id));
    return { onboarded: true, charges_enabled: a.chargesEnabled, payouts_enabled: a.payoutsEnabled };
  }

  async payouts(viewer: Viewer) {
    const seller = await this.sellerOf(viewer);
    if (!seller.stripeAccountId) return [];
    const list = await this.ctx.gateway.listPayouts(seller.stripeAccountId);
    return list.map((p) => ({
      id: p.id,
      amount_minor: p.amountMinor,
      currency: p.currency,
      status: p.status,
      arrival_date: p.arrivalDate.toISOString(),
    }));
  }

  // ─── Admin ──────────────────────────────────────────────────────────────────────────

  /** New titles in review and published titles' waiting revisions (with what changed), oldest first. */
  async reviewQueue(viewer: Viewer): Promise<ReviewQueueItem[]> {
    requireRole(viewer, "admin");
    const fresh = await this.ctx.db
      .select({
        id: titles.id,
        title: titles.title,
        seller: sellers.displayName,
        age_rating: titles.ageRating,
        submitted_at: titles.submittedAt,
      })
      .from(titles)
      .innerJoin(sellers, eq(sellers.id, titles.sellerId))
      .where(eq(titles.status, "in_review"));
    const revised = await this.ctx.db
      .select({ t: titles, seller: sellers.displayName, r: titleRevisions })
      .from(titleRevisions)
      .innerJoin(titles, eq(titles.id, titleRevisions.titleId))
      .innerJoin(sellers, eq(sellers.id, titles.sellerId))
      .where(and(eq(titleRevisions.status, "pending"), eq(titles.status, "published")));
    const items: ReviewQueueItem[] = [
      ...fresh.map((t) => ({ ...t, kind: "new" as const, revision_id: null, changes: [] })),
      ...revised.map(({ t, seller, r }) => ({
        id: t.id,
        title: t.title,
        seller,
        age_rating: t.ageRating,
        submitted_at: r.submittedAt,
        kind: "revision" as const,
        revision_id: r.id,
        changes: changesOf(metadataOf(t), r.draft as TitleMetadata),
      })),
    ];
    return items.sort((a, b) => (a.submitted_at?.getTime() ?? 0) - (b.submitted_at?.getTime() ?? 0));
  }

  /**
   * Publish a title in review, or apply a published title's waiting revision (`revisionId`,
   * when given, must be the one waiting: a reviewer approves what they saw, not a newer edit).
   */
  async approve(
    viewer: Viewer,
    titleId: string,
    revisionId?: string,
  ): Promise<{ status: "published"; revision: boolean }> {
    requireRole(viewer, "admin");
    const [t] = await this.ctx.db.select({ status: titles.status }).from(titles).where(eq(titles.id, titleId));
    if (t?.status === "published") {
      await this.decideRevision(viewer, titleId, revisionId, { approve: true });
      return { status: "published", revision: true };
    }
    await this.transition(viewer, titleId, "in_review", "published", null);
    return { status: "published", revision: false };
  }

  /** Send a title in review back to draft, or a published title's revision back to its seller. */
  async reject(viewer: Viewer, titleId: string, note: string, revisionId?: string): Promise<{ status: string }> {
    requireRole(viewer, "admin");
    if (!note.trim()) throw new AppError("bad_request", "say what the seller must change");
    const [t] = await this.ctx.db.select({ status: titles.status }).from(titles).where(eq(titles.id, titleId));
    if (t?.status === "published") {
      await this.decideRevision(viewer, titleId, revisionId, { approve: false, note: note.trim().slice(0, 1000) });
      return { status: "published" };
    }
    await this.transition(viewer, titleId, "in_review", "draft", note.trim().slice(0, 1000));
    return { status: "draft" };
  }

  /**
   * Take a title off sale. Buyers keep what they bought: entitlements are not touched. A
   * revision waiting for review is discarded: a withdrawn title is edited and resubmitted whole.
   */
  async withdraw(viewer: Viewer, titleId: string, note: string): Promise<void> {
    requireRole(viewer, "admin");
    await this.transition(viewer, titleId, "published", "withdrawn", note.trim().slice(0, 1000) || null);
  }

  /** Approve (apply) or send back the revision waiting on a published title, in one transaction. */
  private async decideRevision(
    viewer: Viewer,
    titleId: string,
    revisionId: string | undefined,
    decision: { approve: true } | { approve: false; note: string },
  ): Promise<void> {
    const now = this.ctx.now();
    await this.ctx.db.transaction(async (tx) => {
      const [r] = await tx
        .update(titleRevisions)
        .set({
          status: decision.approve ? "approved" : "sent_back",
          decidedAt: now,
          decidedBy: viewer.userId,
          reviewNote: decision.approve ? null : decision.note,
        })
        .where(
          and(
            eq(titleRevisions.titleId, titleId),
            eq(titleRevisions.status, "pending"),
            ...(revisionId ? [eq(titleRevisions.id, revisionId)] : []),
          ),
        )
        .returning();
      if (!r) {
        const [waiting] = await tx
          .select({ id: titleRevisions.id })
          .from(titleRevisions)
          .where(and(eq(titleRevisions.titleId, titleId), eq(titleRevisions.status, "pending")));
        throw new AppError(
          "conflict",
          waiting
            ? "the seller changed this title again since you opened it: review the latest changes"
            : "this title is published with no changes waiting for review",
        );
      }
      if (!decision.approve) return;
      const d = parse(TitleDraftSchema, r.draft);
      const [before] = await tx.select().from(titles).where(eq(titles.id, titleId));
      const [after] = await tx
        .update(titles)
        .set({ ...titleColumns(d), reviewNote: null, updatedAt: now })
        .where(and(eq(titles.id, titleId), eq(titles.status, "published")))
        .returning();
      const changed = before ? changesOf(metadataOf(before), d).map((c) => c.field) : [];
      if (after) await enqueueOutbox(tx, [titleEvent("updated", after, viewer.userId, now, { changed })]);
    });
  }

  /** The revision a seller should see: one waiting for review, or the last one sent back. */
  private async openRevision(t: typeof titles.$inferSelect): Promise<TitleRevisionView | null> {
    if (t.status !== "published") return null;
    const [r] = await this.ctx.db
      .select()
      .from(titleRevisions)
      .where(eq(titleRevisions.titleId, t.id))
      .orderBy(desc(titleRevisions.submittedAt))
      .limit(1);
    // Approved (applied) or discarded (withdrawn, reverted): nothing left to show.
    if (!r || (r.status !== "pending" && r.status !== "sent_back")) return null;
    const draft = r.draft as TitleMetadata;
    return {
      id: r.id,
      status: r.status as TitleRevisionView["status"],
      submitted_at: r.submittedAt,
      review_note: r.reviewNote,
      changes: changesOf(metadataOf(t), draft),
      draft,
    };
  }

  private async transition(viewer: Viewer, titleId: string, from: string, to: string, note: string | null) {
    const now = this.ctx.now();
    await this.ctx.db.transaction(async (tx) => {
      const [t] = await tx
        .update(titles)
        .set({ status: to, reviewNote: note, updatedAt: now })
        .where(and(eq(titles.id, titleId), eq(titles.status, from)))
        .returning();
      if (!t) {
        const [cur] = await tx.select({ status: titles.status }).from(titles).where(eq(titles.id, titleId));
        if (!cur) throw new AppError("not_found", "no such title");
        throw new AppError("conflict", `the title is ${cur.status.replace("_", " ")}, not ${from.replace("_", " ")}`);
      }
      if (to === "published" || to === "withdrawn") await enqueueOutbox(tx, [titleEvent(to, t, viewer.userId, now)]);
      if (to === "withdrawn")
        await tx
          .update(titleRevisions)
          .set({ status: "discarded", decidedAt: now, decidedBy: viewer.userId })
          .where(and(eq(titleRevisions.titleId, titleId), eq(titleRevisions.status, "pending")));
    });
  }

  private async sellerOf(viewer: Viewer) {
    requireRole(viewer, "seller");
    const [s] = await this.ctx.db.select().from(sellers).where(eq(sellers.userId, viewer.userId));
    if (!s) throw new AppError("forbidden", "open a seller account first");
    return s;
  }

  /** The title if it is this seller's; another seller's title is reported as missing. */
  private async ownTitle(sellerId: string, titleId: string) {
    const [t] = await this.ctx.db
      .select()
      .from(titles)
      .where(and(eq(titles.id, titleId), eq(titles.sellerId, sellerId)));
    if (!t) throw new AppError("not_found", "no such title");
    return t;
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new AppError("bad_request", firstIssue(r.error));
  return r.data;
}

/** A title row's reviewed metadata, in the draft's shape, to compare a revision with. */
function metadataOf(t: typeof titles.$inferSelect): TitleMetadata {
  return {
    title: t.title,
    year: t.year,
    genres: t.genres,
    runtime_min: t.runtimeMin,
    age_rating: t.ageRating as TitleMetadata["age_rating"],
    synopsis: t.synopsis,
    cast: t.cast,
    director: t.director,
    regions: t.regions,
    release_date: t.releaseDate ?? null,
  };
}

const METADATA_FIELDS = [
  "title",
  "year",
  "genres",
  "runtime_min",
  "age_rating",
  "synopsis",
  "cast",
  "director",
  "regions",
  "release_date",
] as const satisfies readonly (keyof TitleMetadata)[];

/** What a draft changes from the approved metadata, field by field. */
function changesOf(approved: TitleMetadata, draft: TitleMetadata): TitleChange[] {
  return METADATA_FIELDS.flatMap((field) => {
    const from = approved[field] ?? null;
    const to = draft[field] ?? null;
    return JSON.stringify(from) === JSON.stringify(to) ? [] : [{ field, from, to }];
  });
}

/** A validated draft as the titles table's columns. */
function titleColumns(d: z.output<typeof TitleDraftSchema>) {
  return {
    title: d.title,
    year: d.year,
    genres: d.genres,
    runtimeMin: d.runtime_min,
    ageRating: d.age_rating,
    synopsis: d.synopsis,
    cast: d.cast,
    director: d.director,
    regions: d.regions,
    releaseDate: d.release_date ?? null,
  };
}
