import { createHmac, timingSafeEqual } from "node:crypto";
import { AppError } from "@marquee/runtime";
import { and, desc, eq, inArray, isNull } from "drizzle-orm";
import type { Viewer } from "./accounts.ts";
import type { CommerceContext } from "./context.ts";
import { openRefund, recordRefund } from "./refund-records.ts";
import { HOUR_MS, playbackProblem, QUALITY_RANK, ratingAllowed, selfRefundProblem } from "./rules.ts";
import { entitlements, orderItems, orders, profiles, sellers, titles, watchlist, watchProgress } from "./schema.ts";

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
  /**
   * When playback must stop: a started rental's end. Null for purchases, and for a rental
   * whose watch window has not started yet (it starts at the media step's first key request).
   */
  expires_at: string | null;
  /** Rentals: the hours the watch window lasts once playback really starts. */
  watch_window_hours: number | null;
  /** A short-lived signed grant the media origin checks (HMAC over entitlement, quality, expiry). */
  token: string;
  token_expires_at: string;
  resume_at_s: number;
}

/** Playback really started (the first key request): the rental's window is running. */
export interface PlaybackStart {
  entitlement_id: string;
  title_id: string;
  kind: "own" | "rent";
  /** The first time playback started; a repeat answers the same instant. */
  started_at: string;
  /** A rental's end, counted from `started_at`; null for purchases. */
  expires_at: string | null;
}

type Entitlement = typeof entitlements.$inferSelect;

/**
 * Who holds a media playback token (media's signed links carry these ids, not a session): the
 * account that owns the entitlement and the profile that pressed Play.
 */
export interface PlaybackHolder {
  userId: string;
  profileId: string;
}

function checkPosition(positionS: number): void {
  if (!Number.isFinite(positionS) || positionS < 0 || positionS > 86_400)
    throw new AppError("bad_request", "position_s must be between 0 and 86400");
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
   * May this viewer play this title now? Checked on the server at every authorisation. A grant
   * costs the viewer nothing: it neither opens a rental's watch window nor counts as played for
   * self-serve refunds, since pressing Play is not watching. Playback starts at the media
   * step's first key request, which calls `playbackStarted` with the grant.
   */
  async authorizePlayback(viewer: Viewer, titleId: string): Promise<PlaybackGrant> {
    const now = this.ctx.now();
    const [title] = await this.ctx.db
      .select({ ageRating: titles.ageRating, status: titles.status })
      .from(titles)
      .where(eq(titles.id, titleId));
    if (!title || !ratingAllowed(title.ageRating, viewer.profile.max_age_rating))
      throw new AppError("not_found", "no such title");
    const mine = await this.activeEntitlements(viewer, titleId);
    if (mine.length === 0) {
      // An unpublished title (draft, in review, withdrawn) exists only for those who bought it:
      // to anyone else "not bought" would confirm it exists.
      if (title.status !== "published") throw new AppError("not_found", "no such title");
      throw new AppError("forbidden", "you have not bought or rented this title");
    }
    const best = this.best(mine, now);
    if (!best || best.problem) throw new AppError("forbidden", best?.problem ?? "not playable");
    const e = best.e;
    // A grant never outlives what it grants: a running rental's end, or an unstarted one's
    // last moment to start.
    const limit = e.expiresAt ?? (e.firstPlayedAt === null ? e.startBy : null);
    const tokenExpires = new Date(
      Math.min(now.getTime() + GRANT_TTL_MS, limit ? limit.getTime() : Number.POSITIVE_INFINITY),
    );
    const progress = await this.progressFor(viewer, [titleId]);
    return {
      entitlement_id: e.id,
      title_id: titleId,
      kind: e.kind as "own" | "rent",
      quality: e.quality,
      expires_at: e.expiresAt?.toISOString() ?? null,
      watch_window_hours: e.kind === "rent" ? (e.watchWindowHours ?? 48) : null,
      token: this.sign(e.id, e.quality, tokenExpires),
      token_expires_at: tokenExpires.toISOString(),
      resume_at_s: progress.get(titleId) ?? 0,
    };
  }

  /**
   * Playback really started: called by the media step at its first key request for a grant
   * (the grant token is the credential). The first call opens a rental's watch window and
   * marks the entitlement played (which ends the self-serve refund); every later call, and
   * concurrent ones, answer the same start (a conditional update). `titleId`, when given,
   * must be the grant's title.
   */
  async playbackStarted(token: string, titleId?: string): Promise<PlaybackStart> {
    const now = this.ctx.now();
    const grant = this.verifyGrant(token);
    if (!grant) throw new AppError("unauthorized", "the playback grant is invalid or has expired: authorise again");
    const [found] = await this.ctx.db.select().from(entitlements).where(eq(entitlements.id, grant.entitlementId));
    if (!found || (titleId !== undefined && found.titleId !== titleId))
      throw new AppError("not_found", "this grant is not for this title");
    const problem = playbackProblem(found, now);
    if (problem) throw new AppError("forbidden", problem);
    const e = await this.start(found, now);
    return {
      entitlement_id: e.id,
      title_id: e.titleId,
      kind: e.kind as "own" | "rent",
      started_at: e.firstPlayedAt.toISOString(),
      expires_at: e.expiresAt?.toISOString() ?? null,
    };
  }

  /**
   * Media's key request: may this entitlement play `titleId` for this profile now? The same
   * rules as `authorizePlayback` (refunded, revoked, a rental outside its windows, the profile's
   * age limit as it is now, not as it was when the link was signed), then the first call opens a
   * rental's watch window, like `playbackStarted` (a repeat answers the same start).
   */
  async startPlayback(entitlementId: string, titleId: string, holder: PlaybackHolder): Promise<PlaybackStart> {
    const now = this.ctx.now();
    const e = await this.start(await this.heldEntitlement(entitlementId, titleId, holder, now), now);
    return {
      entitlement_id: e.id,
      title_id: e.titleId,
      kind: e.kind as "own" | "rent",
      started_at: e.firstPlayedAt.toISOString(),
      expires_at: e.expiresAt?.toISOString() ?? null,
    };
  }

  /**
   * Media's heartbeat: `startPlayback`'s checks without starting anything. Answers when playback
   * must stop (a started rental's end), null when nothing ends it.
   */
  async checkPlayback(
    entitlementId: string,
    titleId: string,
    holder: PlaybackHolder,
  ): Promise<{ expires_at: string | null }> {
    const e = await this.heldEntitlement(entitlementId, titleId, holder, this.ctx.now());
    return { expires_at: e.expiresAt?.toISOString() ?? null };
  }

  /** Watch progress from media's heartbeat (no session there: the signed link's holder). */
  async savePlaybackProgress(
    entitlementId: string,
    titleId: string,
    holder: PlaybackHolder,
    positionS: number,
    durationS?: number,
  ): Promise<void> {
    checkPosition(positionS);
    const now = this.ctx.now();
    const e = await this.heldEntitlement(entitlementId, titleId, holder, now);
    if (positionS >= 1 && !e.firstPlayedAt) await this.start(e, now);
    await this.writeProgress(holder.profileId, titleId, positionS, durationS, now);
  }

  /**
   * Check a playback grant token (for the media origin): `<body>.<mac>`, exactly two parts,
   * the MAC compared in constant time so its bytes cannot be guessed one at a time from how
   * long a refusal takes.
   */
  verifyGrant(token: string): { entitlementId: string; quality: string; expiresAt: Date } | null {
    const parts = token.split(".");
    if (parts.length !== 2) return null;
    const [body, mac] = parts;
    if (!body || !mac) return null;
    // Compared as the text sent, not decoded: base64 decoding skips stray characters, so
    // decoded bytes could match for a token that was tampered with.
    const given = Buffer.from(mac, "utf8");
    const expected = Buffer.from(createHmac("sha256", this.playbackSecret).update(body).digest("base64url"), "utf8");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
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
    checkPosition(positionS);
    const now = this.ctx.now();
    const best = this.best(await this.activeEntitlements(viewer, titleId), now);
    if (!best || best.problem)
      throw new AppError("forbidden", best?.problem ?? "you have not bought or rented this title");
    // A position past the start is the player saying the film is playing: if the media step
    // has not reported the start yet, this is it (and it counts as played, as it always has).
    if (positionS >= 1 && !best.e.firstPlayedAt) await this.start(best.e, now);
    await this.writeProgress(viewer.profile.id, titleId, positionS, durationS, now);
  }

  private async writeProgress(
    profileId: string,
    titleId: string,
    positionS: number,
    durationS: number | undefined,
    now: Date,
  ) {
    await this.ctx.db
      .insert(watchProgress)
      .values({ profileId, titleId, positionS: Math.floor(positionS), durationS: durationS ?? null })
      .onConflictDoUpdate({
        target: [watchProgress.profileId, watchProgress.titleId],
        set: { positionS: Math.floor(positionS), durationS: durationS ?? null, updatedAt: now },
      });
  }

  /**
   * The entitlement a media token names, if it still plays `titleId` for this holder now:
   * 404 when it is not theirs or not for this title (saying no more), 403 with the reason
   * otherwise. A kids' profile's limit is read now, so lowering it stops links already out.
   */
  private async heldEntitlement(entitlementId: string, titleId: string, holder: PlaybackHolder, now: Date) {
    const [row] = await this.ctx.db
      .select({ e: entitlements, ageRating: titles.ageRating })
      .from(entitlements)
      .innerJoin(titles, eq(titles.id, entitlements.titleId))
      .where(and(eq(entitlements.id, entitlementId), eq(entitlements.userId, holder.userId)));
    if (!row || row.e.titleId !== titleId) throw new AppError("not_found", "this playback is not for this title");
    const [profile] = await this.ctx.db
      .select({ maxAgeRating: profiles.maxAgeRating })
      .from(profiles)
      .where(and(eq(profiles.id, holder.profileId), eq(profiles.userId, holder.userId)));
    if (!profile) throw new AppError("forbidden", "this profile no longer exists");
    if (!ratingAllowed(row.ageRating, profile.maxAgeRating))
      throw new AppError("forbidden", "this title is above this profile's age limit");
    const problem = playbackProblem(row.e, now);
    if (problem) throw new AppError("forbidden", problem);
    return row.e;
  }

  /** The entitlement that plays: purchases, then the highest quality, then rentals already running. */
  private best(mine: Entitlement[], now: Date): { e: Entitlement; problem: string | null } | undefined {
    return mine
      .map((e) => ({ e, problem: playbackProblem(e, now) }))
      .sort(
        (a, b) =>
          Number(a.problem !== null) - Number(b.problem !== null) ||
          Number(a.e.kind !== "own") - Number(b.e.kind !== "own") ||
          (QUALITY_RANK[b.e.quality] ?? 0) - (QUALITY_RANK[a.e.quality] ?? 0) ||
          Number(b.e.firstPlayedAt !== null) - Number(a.e.firstPlayedAt !== null),
      )[0];
  }

  /**
   * Record that playback started, once: a rental's watch window opens now. A conditional
   * update, so concurrent starts agree on the first; returns the entitlement as recorded.
   */
  private async start(e: Entitlement, now: Date): Promise<Entitlement & { firstPlayedAt: Date }> {
    if (e.firstPlayedAt) return { ...e, firstPlayedAt: e.firstPlayedAt };
    const expiresAt = e.kind === "rent" ? new Date(now.getTime() + (e.watchWindowHours ?? 48) * HOUR_MS) : null;
    const [started] = await this.ctx.db
      .update(entitlements)
      .set({ firstPlayedAt: now, expiresAt })
      .where(and(eq(entitlements.id, e.id), isNull(entitlements.firstPlayedAt), eq(entitlements.status, "active")))
      .returning();
    // Another start (or a refund) won the race: answer what is on record now.
    const current = started ?? (await this.ctx.db.select().from(entitlements).where(eq(entitlements.id, e.id)))[0];
    if (!current?.firstPlayedAt) throw new AppError("conflict", "this entitlement is no longer active");
    return { ...current, firstPlayedAt: current.firstPlayedAt };
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
