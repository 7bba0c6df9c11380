import { createHmac } from "node:crypto";
import { AppError } from "@marquee/runtime";
import { and, desc, eq, inArray, isNull } from "drizzle-orm";
import type { Viewer } from "./accounts.ts";
import type { CommerceContext } from "./context.ts";
import { openRefund, recordRefund } from "./refund-records.ts";
import { HOUR_MS, playbackProblem, QUALITY_RANK, ratingAllowed, selfRefundProblem } from "./rules.ts";
import { entitlements, orderItems, orders, sellers, titles, watchlist, watchProgress } from "./schema.ts";

export interface LibraryItem {
  entitlement_id: string;
  title_id: string;
  title: string;
  age_rating: string;
  kind: "own" | "rent";
  quality: string;
  status: string;
  acquired_at: string;
  /** Rentals not yet started: the last moment to start. */
  start_by: string | null;
  /** Rentals once started: when the watch window ends. */
  expires_at: string | null;
  first_played_at: string | null;
  watch_window_hours: number | null;
  playable: boolean;
  /** Why it cannot play now, for the viewer. */
  problem: string | null;
  /** True while the viewer may refund it themselves; `refund_problem` says why not. */
  refundable: boolean;
  refund_problem: string | null;
  position_s: number | null;
}

export interface PlaybackGrant {
  entitlement_id: string;
  title_id: string;
  kind: "own" | "rent";
  quality: string;
  /** When playback must stop (rentals); null for purchases. */
  expires_at: string | null;
  /** A short-lived signed grant the media origin checks (HMAC over entitlement, quality, expiry). */
  token: string;
  token_expires_at: string;
  resume_at_s: number;
}

/** How long a playback grant token is good for; players renew it while playing. */
const GRANT_TTL_MS = 10 * 60_000;

/**
 * What a viewer owns and rents, and the rules applied when they press play or ask for their
 * money back. Every method takes the signed-in viewer and only ever touches their own rows;
 * kids' profiles never see titles above their limit, here as everywhere.
 */
export class Library {
  constructor(
    private readonly ctx: CommerceContext,
    private readonly playbackSecret: string,
  ) {}

  async list(viewer: Viewer): Promise<LibraryItem[]> {
    const now = this.ctx.now();
    const rows = await this.ctx.db
      .select({ e: entitlements, t: { title: titles.title, ageRating: titles.ageRating }, paidAt: orders.paidAt })
      .from(entitlements)
      .innerJoin(titles, eq(titles.id, entitlements.titleId))
      .innerJoin(orderItems, eq(orderItems.id, entitlements.orderItemId))
      .innerJoin(orders, eq(orders.id, orderItems.orderId))
      .where(and(eq(entitlements.userId, viewer.userId), inArray(entitlements.status, ["active", "refunded"])))
      .orderBy(desc(entitlements.createdAt));
    const visible = rows.filter((r) => ratingAllowed(r.t.ageRating, viewer.profile.max_age_rating));
    const progress = await this.progressFor(
      viewer,
      visible.map((r) => r.e.titleId),
    );
    return visible.map(({ e, t, paidAt }) => {
      const problem = playbackProblem(e, now);
      const refundProblem = selfRefundProblem(e, paidAt ?? e.startsAt, now, (progress.get(e.titleId) ?? 0) > 0);
      return {
        entitlement_id: e.id,
        title_id: e.titleId,
        title: t.title,
        age_rating: t.ageRating,
        kind: e.kind as "own" | "rent",
        quality: e.quality,
        status: e.status,
        acquired_at: e.startsAt.toISOString(),
        start_by: e.firstPlayedAt ? null : (e.startBy?.toISOString() ?? null),
        expires_at: e.expiresAt?.toISOString() ?? null,
        first_played_at: e.firstPlayedAt?.toISOString() ?? null,
        watch_window_hours: e.watchWindowHours,
        playable: problem === null,
        problem,
        refundable: refundProblem === null && e.pricePaidMinor > 0,
        refund_problem: refundProblem,
        position_s: progress.get(e.titleId) ?? null,
      };
    });
  }

  /**
   * May this viewer play this title now? Checked on the server at every authorisation. The
   * first play of a rental opens its watch window (once: a conditional update) and is
   * remembered, which also ends the self-serve refund.
   */
  async authorizePlayback(viewer: Viewer, titleId: string): Promise<PlaybackGrant> {
    const now = this.ctx.now();
    const [title] = await this.ctx.db
      .select({ ageRating: titles.ageRating })
      .from(titles)
      .where(eq(titles.id, titleId));
    if (!title || !ratingAllowed(title.ageRating, viewer.profile.max_age_rating))
      throw new AppError("not_found", "no such title");
    const mine = await this.activeEntitlements(viewer, titleId);
    if (mine.length === 0) throw new AppError("forbidden", "you have not bought or rented this title");
    // Best first: purchases, then the highest quality, then rentals already running.
    const ranked = mine
      .map((e) => ({ e, problem: playbackProblem(e, now) }))
      .sort(
        (a, b) =>
          Number(a.problem !== null) - Number(b.problem !== null) ||
          Number(a.e.kind !== "own") - Number(b.e.kind !== "own") ||
          (QUALITY_RANK[b.e.quality] ?? 0) - (QUALITY_RANK[a.e.quality] ?? 0) ||
          Number(b.e.firstPlayedAt !== null) - Number(a.e.firstPlayedAt !== null),
      );
    const best = ranked[0];
    if (!best || best.problem) throw new AppError("forbidden", best?.problem ?? "not playable");
    let e = best.e;
    if (e.kind === "rent" && e.firstPlayedAt === null) {
      const expiresAt = new Date(now.getTime() + (e.watchWindowHours ?? 48) * HOUR_MS);
      const [started] = await this.ctx.db
        .update(entitlements)
        .set({ firstPlayedAt: now, expiresAt })
        .where(and(eq(entitlements.id, e.id), isNull(entitlements.firstPlayedAt)))
        .returning();
      if (started) e = started;
      else [e = best.e] = await this.ctx.db.select().from(entitlements).where(eq(entitlements.id, best.e.id));
    } else if (e.firstPlayedAt === null) {
      await this.ctx.db
        .update(entitlements)
        .set({ firstPlayedAt: now })
        .where(and(eq(entitlements.id, e.id), isNull(entitlements.firstPlayedAt)));
    }
    const tokenExpires = new Date(
      Math.min(now.getTime() + GRANT_TTL_MS, e.expiresAt ? e.expiresAt.getTime() : Number.POSITIVE_INFINITY),
    );
    const progress = await this.progressFor(viewer, [titleId]);
    return {
      entitlement_id: e.id,
      title_id: titleId,
      kind: e.kind as "own" | "rent",
      quality: e.quality,
      expires_at: e.expiresAt?.toISOString() ?? null,
      token: this.sign(e.id, e.quality, tokenExpires),
      token_expires_at: tokenExpires.toISOString(),
      resume_at_s: progress.get(titleId) ?? 0,
    };
  }

  /** Check a playback grant token (for the media origin). */
  verifyGrant(token: string): { entitlementId: string; quality: string; expiresAt: Date } | null {
    const [body, mac] = token.split(".");
    if (!body || !mac) return null;
    const expected = createHmac("sha256", this.playbackSecret).update(body).digest("base64url");
    if (expected !== mac) return null;
    const [entitlementId, quality, exp] = Buffer.from(body, "base64url").toString().split("|");
    const expiresAt = new Date(Number(exp));
    if (!entitlementId || !quality || !(expiresAt > this.ctx.now())) return null;
    return { entitlementId, quality, expiresAt };
  }

  /**
   * Self-serve refund: a purchase or rental never played and under 48 hours old. The refund row
   * is written first (one per order item), then the provider is called with the row's id as
   * idempotency key, then the entitlement is revoked, the seller's ledger reversed and a
   * `refund` event recorded — so a retry after a crash refunds once.
   */
  async refund(
    viewer: Viewer,
    entitlementId: string,
    reason = "requested by the viewer",
  ): Promise<{ refund_id: string; amount_minor: number; currency: string }> {
    const now = this.ctx.now();
    const [row] = await this.ctx.db
      .select({ e: entitlements, item: orderItems, order: orders })
      .from(entitlements)
      .innerJoin(orderItems, eq(orderItems.id, entitlements.orderItemId))
      .innerJoin(orders, eq(orders.id, orderItems.orderId))
      .where(and(eq(entitlements.id, entitlementId), eq(entitlements.userId, viewer.userId)));
    if (!row) throw new AppError("not_found", "no such purchase or rental");
    const { e, item, order } = row;
    const progress = await this.progressFor(viewer, [e.titleId]);
    const problem = selfRefundProblem(e, order.paidAt ?? e.startsAt, now, (progress.get(e.titleId) ?? 0) > 0);
    if (problem) throw new AppError("conflict", `cannot refund: ${problem}`);
    const amount = item.priceMinor;

    const refund = await openRefund(this.ctx.db, {
      orderId: order.id,
      orderItemId: item.id,
      entitlementId: e.id,
      amountMinor: amount,
      currency: order.currency,
      reason,
      now,
    });
    if (refund.status === "succeeded") throw new AppError("conflict", "cannot refund: this was already refunded");

    let providerRefundId: string | null = null;
    if (amount > 0) {
      if (!order.paymentIntentId) throw new AppError("conflict", "cannot refund: the payment is not on record");
      const [seller] = order.sellerId
        ? await this.ctx.db.select().from(sellers).where(eq(sellers.id, order.sellerId))
        : [];
      const result = await this.ctx.gateway.refund(
        {
          paymentIntent: order.paymentIntentId,
          amountMinor: amount,
          reason,
          reverseTransfer: Boolean(seller?.stripeAccountId && seller.chargesEnabled),
        },
        `refund-${refund.id}`,
      );
      providerRefundId = result.id;
    }

    await this.ctx.db.transaction((tx) =>
      recordRefund(tx, {
        refundId: refund.id,
        providerRefundId,
        order,
        orderItemId: item.id,
        entitlementId: e.id,
        titleId: e.titleId,
        amountMinor: amount,
        reason,
        now,
      }),
    );
    return { refund_id: refund.id, amount_minor: amount, currency: order.currency };
  }

  async orders(viewer: Viewer) {
    const rows = await this.ctx.db
      .select()
      .from(orders)
      .where(eq(orders.userId, viewer.userId))
      .orderBy(desc(orders.createdAt))
      .limit(100);
    return rows.map((o) => ({
      order_id: o.id,
      status: o.status,
      currency: o.currency,
      total_minor: o.totalMinor,
      discount_minor: o.discountMinor,
      credit_minor: o.creditMinor,
      created_at: o.createdAt.toISOString(),
      paid_at: o.paidAt?.toISOString() ?? null,
    }));
  }

  async order(viewer: Viewer, orderId: string) {
    const [o] = await this.ctx.db
      .select()
      .from(orders)
      .where(and(eq(orders.id, orderId), eq(orders.userId, viewer.userId)));
    if (!o) throw new AppError("not_found", "no such order");
    const items = await this.ctx.db.select().from(orderItems).where(eq(orderItems.orderId, o.id));
    return {
      order_id: o.id,
      status: o.status,
      currency: o.currency,
      total_minor: o.totalMinor,
      checkout_url: o.status === "pending" ? o.checkoutUrl : null,
      items: items.map((i) => ({
        title_id: i.titleId,
        kind: i.kind,
        quality: i.quality,
        price_minor: i.priceMinor,
        credit_minor: i.creditMinor,
      })),
    };
  }

  async addToWatchlist(viewer: Viewer, titleId: string): Promise<void> {
    const [t] = await this.ctx.db
      .select({ ageRating: titles.ageRating })
      .from(titles)
      .where(and(eq(titles.id, titleId), eq(titles.status, "published")));
    if (!t || !ratingAllowed(t.ageRating, viewer.profile.max_age_rating))
      throw new AppError("not_found", "no such title");
    await this.ctx.db.insert(watchlist).values({ profileId: viewer.profile.id, titleId }).onConflictDoNothing();
  }

  async removeFromWatchlist(viewer: Viewer, titleId: string): Promise<void> {
    await this.ctx.db
      .delete(watchlist)
      .where(and(eq(watchlist.profileId, viewer.profile.id), eq(watchlist.titleId, titleId)));
  }

  async watchlist(viewer: Viewer): Promise<string[]> {
    const rows = await this.ctx.db
      .select({ id: watchlist.titleId, ageRating: titles.ageRating })
      .from(watchlist)
      .innerJoin(titles, eq(titles.id, watchlist.titleId))
      .where(and(eq(watchlist.profileId, viewer.profile.id), eq(titles.status, "published")))
      .orderBy(desc(watchlist.addedAt));
    return rows.filter((r) => ratingAllowed(r.ageRating, viewer.profile.max_age_rating)).map((r) => r.id);
  }

  /** Where the profile stopped; only for titles it may play. */
  async saveProgress(viewer: Viewer, titleId: string, positionS: number, durationS?: number): Promise<void> {
    if (!Number.isFinite(positionS) || positionS < 0 || positionS > 86_400)
      throw new AppError("bad_request", "position_s must be between 0 and 86400");
    await this.authorizePlaybackCheckOnly(viewer, titleId);
    await this.ctx.db
      .insert(watchProgress)
      .values({ profileId: viewer.profile.id, titleId, positionS: Math.floor(positionS), durationS: durationS ?? null })
      .onConflictDoUpdate({
        target: [watchProgress.profileId, watchProgress.titleId],
        set: { positionS: Math.floor(positionS), durationS: durationS ?? null, updatedAt: this.ctx.now() },
      });
  }

  private async authorizePlaybackCheckOnly(viewer: Viewer, titleId: string): Promise<void> {
    const now = this.ctx.now();
    const mine = await this.activeEntitlements(viewer, titleId);
    if (!mine.some((e) => playbackProblem(e, now) === null && e.firstPlayedAt !== null))
      throw new AppError("forbidden", "start playback before saving progress");
  }

  private activeEntitlements(viewer: Viewer, titleId: string) {
    return this.ctx.db
      .select()
      .from(entitlements)
      .where(
        and(
          eq(entitlements.userId, viewer.userId),
          eq(entitlements.titleId, titleId),
          eq(entitlements.status, "active"),
        ),
      );
  }

  private async progressFor(viewer: Viewer, titleIds: string[]): Promise<Map<string, number>> {
    if (titleIds.length === 0) return new Map();
    const rows = await this.ctx.db
      .select()
      .from(watchProgress)
      .where(and(eq(watchProgress.profileId, viewer.profile.id), inArray(watchProgress.titleId, titleIds)));
    return new Map(rows.map((r) => [r.titleId, r.positionS]));
  }

  private sign(entitlementId: string, quality: string, expiresAt: Date): string {
    const body = Buffer.from(`${entitlementId}|${quality}|${expiresAt.getTime()}`).toString("base64url");
    return `${body}.${createHmac("sha256", this.playbackSecret).update(body).digest("base64url")}`;
  }
}
