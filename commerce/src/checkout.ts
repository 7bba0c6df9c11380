import { IdSchema, QualitySchema } from "@marquee/contracts";
import { AppError, rowsOf } from "@marquee/runtime";
import { and, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import { firstIssue, type Viewer } from "./accounts.ts";
import type { CommerceContext } from "./context.ts";
import type { Fulfilment } from "./fulfilment.ts";
import { newId, sha256Hex } from "./ids.ts";
import { expirePendingOrders, PROMO_HOLD_MINUTES, PROMO_HOLD_SESSION_MS } from "./order-expiry.ts";
import {
  DAY_MS,
  effectivePrice,
  platformFee,
  playbackProblem,
  promoDiscounts,
  promoProblem,
  QUALITY_RANK,
  RENT_TO_OWN_DAYS,
  ratingAllowed,
  regionAllowed,
  rentToOwnCredit,
} from "./rules.ts";
import { entitlements, offers, orderItems, orders, promoCodes, sellers, titles } from "./schema.ts";
import { runStatement } from "./statements.ts";

export const CheckoutRequestSchema = z.object({
  items: z
    .array(z.object({ title_id: IdSchema, kind: z.enum(["buy", "rent"]), quality: QualitySchema }))
    .min(1, "the cart is empty")
    .max(10, "at most 10 items per checkout"),
  promo_code: z
    .string()
    .trim()
    .max(40)
    .transform((s) => s.toUpperCase())
    .optional(),
  /** The profile's purchase PIN, required when the profile has one (kids' profiles always do). */
  pin: z.string().max(12).optional(),
});
export type CheckoutRequest = z.input<typeof CheckoutRequestSchema>;

export interface CheckoutLineView {
  title_id: string;
  title: string;
  kind: "buy" | "rent";
  quality: string;
  list_price_minor: number;
  price_minor: number;
  discount_minor: number;
  credit_minor: number;
  /** Rentals: days to start, hours to finish once started (shown before paying). */
  rent_start_window_days: number | null;
  rent_watch_window_hours: number | null;
}

export interface CheckoutResult {
  order_id: string;
  status: "pending" | "paid";
  /** Where to pay (Stripe's page, or the local test page); null when nothing is owed. */
  checkout_url: string | null;
  currency: string;
  subtotal_minor: number;
  discount_minor: number;
  credit_minor: number;
  total_minor: number;
  lines: CheckoutLineView[];
  /**
   * With a promo code of limited uses: how long an unpaid checkout holds its use (then, or on
   * cancel, it is given back). Null when nothing scarce is held.
   */
  promo_hold_minutes: number | null;
}

/** What cancelling a checkout did: `expired` (nothing charged, any promo use given back) or `paid`. */
export interface CancelResult {
  order_id: string;
  status: "expired" | "paid" | "refunded" | "partially_refunded" | "pending";
}

/** How long a pending order (and its Stripe session) is reused for the same cart. */
const PENDING_REUSE_MS = 23 * 3600_000;
/** The same for an order holding a limited promo code: well inside its session's life. */
const PROMO_PENDING_REUSE_MS = (PROMO_HOLD_MINUTES - 5) * 60_000;

/**
 * Turns a cart into an order and a payment session. Prices, sales, promo codes, rent-to-own
 * credits and upgrades are decided here, on the server, from the database, never from the
 * client. One pending order per user and cart (a unique index) makes concurrent checkouts
 * of the same cart meet on one order; its idempotency key, stored before the first call to
 * the payment provider, makes them meet on one payment session too.
 */
export class Checkout {
  constructor(
    private readonly ctx: CommerceContext,
    private readonly fulfilment: Fulfilment,
  ) {}

  /** What the cart would cost now, without creating anything. */
  async quote(
    viewer: Viewer,
    request: CheckoutRequest,
  ): Promise<Omit<CheckoutResult, "order_id" | "status" | "checkout_url">> {
    const priced = await this.price(viewer, this.parse(request));
    const { lines, currency, discount, credit, subtotal, total } = priced;
    return {
      currency,
      subtotal_minor: subtotal,
      discount_minor: discount,
      credit_minor: credit,
      total_minor: total,
      lines: lines.map((l) => l.view),
      promo_hold_minutes: priced.promoLimited ? PROMO_HOLD_MINUTES : null,
    };
  }

  async create(
    viewer: Viewer,
    request: CheckoutRequest,
    urls: { successUrl: string; cancelUrl: string },
  ): Promise<CheckoutResult> {
    const input = this.parse(request);
    if (viewer.profile.has_pin || viewer.profile.kind === "kids") {
      if (!(await this.ctx.accounts.verifyPin(viewer.profile.id, input.pin)))
        throw new AppError("forbidden", "this profile needs its purchase PIN to buy");
    }
    const priced = await this.price(viewer, input);
    const cartKey = sha256Hex(
      JSON.stringify([
        viewer.profile.id,
        input.items.map((i) => `${i.title_id}:${i.kind}:${i.quality}`).sort(),
        input.promo_code ?? "",
      ]),
    );
    const placed = await this.place(viewer, priced, cartKey);
    if (!placed) {
      // The other checkout of this cart finished (paid or expired) between our statements.
      throw new AppError("conflict", "this cart was just checked out; look in your library", { retriable: true });
    }
    const { order, items } = placed;
    const lines = priced.lines.map((l) => l.view);
    const result = (status: "pending" | "paid", url: string | null): CheckoutResult => ({
      order_id: order.id,
      status,
      checkout_url: url,
      currency: order.currency,
      subtotal_minor: order.subtotalMinor,
      discount_minor: order.discountMinor,
      credit_minor: order.creditMinor,
      total_minor: order.totalMinor,
      lines,
      promo_hold_minutes: priced.promoLimited && status === "pending" ? PROMO_HOLD_MINUTES : null,
    });

    if (order.totalMinor === 0) {
      // Fully covered by credits or a promo: nothing to charge, grant now.
      await this.fulfilment.grantWithoutPayment(order.id);
      return result("paid", null);
    }
    if (order.checkoutUrl) return result("pending", order.checkoutUrl);

    const names = new Map(lines.map((l) => [l.title_id, l.title]));
    const destination = await this.destinationFor(order.sellerId, order.platformFeeMinor);
    const session = await this.ctx.gateway.createCheckoutSession(
      {
        orderId: order.id,
        currency: order.currency,
        customerEmail: viewer.email,
        lines: items
          .filter((i) => i.priceMinor > 0)
          .map((i) => ({
            name: `${names.get(i.titleId) ?? i.titleId} — ${i.kind === "buy" ? "buy" : "rent"} ${i.quality}`,
            amountMinor: i.priceMinor,
          })),
        successUrl: urls.successUrl.replace("{ORDER_ID}", order.id),
        cancelUrl: urls.cancelUrl.replace("{ORDER_ID}", order.id),
        ...(destination ? { destination } : {}),
        // A limited promo code's use is held only briefly: an abandoned checkout gives it back.
        ...(priced.promoLimited ? { expiresAt: new Date(order.createdAt.getTime() + PROMO_HOLD_SESSION_MS) } : {}),
      },
      order.idempotencyKey,
    );
    if (!session.recordedOnOrder)
      await this.ctx.db
        .update(orders)
        .set({ checkoutSessionId: session.id, checkoutUrl: session.url })
        .where(and(eq(orders.id, order.id), isNull(orders.checkoutSessionId)));
    return result("pending", session.url);
  }

  /**
   * The viewer gave up on paying (Stripe's or the local page's back link lands here): the
   * payment session is expired at the provider first, so it can no longer be paid, then the
   * order expires and a promo code use it reserved is available again at once. Idempotent; an
   * order paid meanwhile stays paid.
   */
  async cancel(viewer: Viewer, orderId: string): Promise<CancelResult> {
    const [order] = await this.ctx.db
      .select()
      .from(orders)
      .where(and(eq(orders.id, orderId), eq(orders.userId, viewer.userId)));
    if (!order) throw new AppError("not_found", "no such order");
    if (order.status !== "pending") return { order_id: order.id, status: order.status as CancelResult["status"] };
    if (order.checkoutSessionId) {
      await this.ctx.gateway.expireCheckoutSession(order.checkoutSessionId);
      const session = await this.ctx.gateway.retrieveCheckoutSession(order.checkoutSessionId);
      // Paid just before the cancel: its event grants it; nothing is given back.
      if (session.status === "complete") return { order_id: order.id, status: "pending" };
    }
    await expirePendingOrders(this.ctx.db, { orderId: order.id });
    const [now] = await this.ctx.db.select({ status: orders.status }).from(orders).where(eq(orders.id, order.id));
    return { order_id: order.id, status: (now?.status ?? "expired") as CancelResult["status"] };
  }

  /**
   * Insert the order and its items, or find the pending order of the same cart that a
   * concurrent checkout placed. A pending order older than a payment session's life is
   * abandoned: it expires and the cart starts over.
   */
  private async place(
    viewer: Viewer,
    priced: Awaited<ReturnType<Checkout["price"]>>,
    cartKey: string,
    attempt = 0,
  ): Promise<{ order: typeof orders.$inferSelect; items: (typeof orderItems.$inferSelect)[] } | null> {
    const now = this.ctx.now();
    const orderId = newId("ord");
    const order: typeof orders.$inferSelect = {
      id: orderId,
      userId: viewer.userId,
      profileId: viewer.profile.id,
      sellerId: priced.sellerId,
      status: "pending",
      cartKey,
      currency: priced.currency,
      subtotalMinor: priced.subtotal,
      discountMinor: priced.discount,
      creditMinor: priced.credit,
      totalMinor: priced.total,
      platformFeeMinor: priced.fee,
      promoCodeId: priced.promoId,
      idempotencyKey: `checkout-${orderId}`,
      checkoutSessionId: null,
      checkoutUrl: null,
      paymentIntentId: null,
      createdAt: now,
      paidAt: null,
    };
    const items: (typeof orderItems.$inferSelect)[] = priced.lines.map((l) => ({
      id: newId("oi"),
      orderId,
      titleId: l.view.title_id,
      kind: l.view.kind,
      quality: l.view.quality,
      listPriceMinor: l.view.list_price_minor,
      priceMinor: l.view.price_minor,
      creditMinor: l.view.credit_minor,
      creditedEntitlementId: l.creditedEntitlementId,
      upgradesEntitlementId: l.upgradesEntitlementId,
      rentStartWindowDays: l.view.rent_start_window_days,
      rentWatchWindowHours: l.view.rent_watch_window_hours,
    }));
    // One statement, so atomic without a transaction: the order (unless this cart already has
    // a pending one) and its items.
    const place = sql`
      with o as (
        insert into orders (id, user_id, profile_id, seller_id, status, cart_key, currency, subtotal_minor, discount_minor,
                            credit_minor, total_minor, platform_fee_minor, promo_code_id, idempotency_key, created_at)
        select ${order.id}, ${order.userId}, ${order.profileId}, ${order.sellerId}, 'pending', ${cartKey}, ${order.currency},
               ${order.subtotalMinor}::int, ${order.discountMinor}::int, ${order.creditMinor}::int, ${order.totalMinor}::int,
               ${order.platformFeeMinor}::int, ${order.promoCodeId}, ${order.idempotencyKey}, ${now.toISOString()}::timestamptz
        on conflict do nothing
        returning id
      ), i as (
        insert into order_items (id, order_id, title_id, kind, quality, list_price_minor, price_minor, credit_minor,
                                 credited_entitlement_id, upgrades_entitlement_id, rent_start_window_days, rent_watch_window_hours)
        select v.id, o.id, v.title_id, v.kind, v.quality, v.list_price, v.price, v.credit, v.credited, v.upgrades, v.start_days, v.watch_hours
        from o, (values ${sql.join(
          items.map(
            (i) =>
              sql`(${i.id}, ${i.titleId}, ${i.kind}, ${i.quality}, ${i.listPriceMinor}::int, ${i.priceMinor}::int, ${i.creditMinor}::int,
                   ${i.creditedEntitlementId}::text, ${i.upgradesEntitlementId}::text, ${i.rentStartWindowDays}::int, ${i.rentWatchWindowHours}::int)`,
          ),
          sql`, `,
        )}) as v(id, title_id, kind, quality, list_price, price, credit, credited, upgrades, start_days, watch_hours)
      )
      select (select count(*) from o)::int as placed`;
    let placed: boolean;
    if (order.promoCodeId) {
      // With a promo code, the order and its redemption commit together or not at all: a cart
      // that lost the race to a concurrent checkout reserves nothing.
      const promoId = order.promoCodeId;
      const usedUp = new Error("promo used up");
      const placing = this.ctx.db.transaction(async (tx) => {
        const [r] = rowsOf<{ placed: number }>(await tx.execute(place));
        if (!(Number(r?.placed) > 0)) return false;
        const reserved = await tx
          .update(promoCodes)
          .set({ redemptions: sql`${promoCodes.redemptions} + 1` })
          .where(
            and(
              eq(promoCodes.id, promoId),
              sql`(${promoCodes.maxRedemptions} is null or ${promoCodes.redemptions} < ${promoCodes.maxRedemptions})`,
            ),
          )
          .returning({ id: promoCodes.id });
        if (reserved.length === 0) throw usedUp; // rolls the order back
        return true;
      });
      // Why it is used up is read after the rollback, outside the transaction.
      placed = await placing.catch(async (err: unknown) => {
        if (err === usedUp) throw new AppError("conflict", await this.usedUp(promoId));
        throw err;
      });
    } else {
      const [r] = await runStatement<{ placed: number }>(this.ctx.db, place);
      placed = Number(r?.placed) > 0;
    }
    if (placed) return { order, items };
    const [existing] = await this.ctx.db
      .select()
      .from(orders)
      .where(and(eq(orders.userId, viewer.userId), eq(orders.cartKey, cartKey), eq(orders.status, "pending")));
    const reuseMs = priced.promoLimited ? PROMO_PENDING_REUSE_MS : PENDING_REUSE_MS;
    if (existing && existing.createdAt.getTime() >= now.getTime() - reuseMs) {
      const items = await this.ctx.db.select().from(orderItems).where(eq(orderItems.orderId, existing.id));
      return { order: existing, items };
    }
    if (attempt > 0) return null;
    if (existing) {
      // Abandoned: its session is expired at the provider (so it cannot be paid behind the
      // new order's back) and the order with it, giving back any promo use it held.
      if (existing.checkoutSessionId) await this.ctx.gateway.expireCheckoutSession(existing.checkoutSessionId);
      await expirePendingOrders(this.ctx.db, { orderId: existing.id });
    }
    return this.place(viewer, priced, cartKey, attempt + 1);
  }

  private parse(request: CheckoutRequest) {
    const parsed = CheckoutRequestSchema.safeParse(request);
    if (!parsed.success) throw new AppError("bad_request", firstIssue(parsed.error));
    const ids = parsed.data.items.map((i) => i.title_id);
    if (new Set(ids).size !== ids.length) throw new AppError("bad_request", "each title may appear once per checkout");
    return parsed.data;
  }

  private async destinationFor(sellerId: string | null, feeMinor: number) {
    if (!sellerId) return null;
    const [seller] = await this.ctx.db.select().from(sellers).where(eq(sellers.id, sellerId));
    if (!seller?.stripeAccountId || !seller.chargesEnabled) return null;
    const local = seller.stripeAccountId.startsWith("acct_local_");
    if (local !== (this.ctx.gateway.provider === "local")) return null;
    return { account: seller.stripeAccountId, applicationFeeMinor: feeMinor };
  }

  /** Pricing's one read, prepared once (it runs for every quote and checkout). */
  private priceRead: ReturnType<Checkout["preparePriceRead"]> | null = null;

  private preparePriceRead() {
    return this.ctx.db
      .select({
        // Only what pricing needs (not the poster, which can be kilobytes of SVG).
        t: {
          id: titles.id,
          title: titles.title,
          ageRating: titles.ageRating,
          regions: titles.regions,
          sellerId: titles.sellerId,
        },
        offers: sql<OfferJson[] | string>`coalesce((select json_agg(json_build_object(
            'kind', o.kind, 'quality', o.quality, 'price_minor', o.price_minor, 'currency', o.currency,
            'start_days', o.rent_start_window_days, 'watch_hours', o.rent_watch_window_hours,
            'sale_price_minor', o.sale_price_minor, 'sale_starts_at', o.sale_starts_at, 'sale_ends_at', o.sale_ends_at))
          from ${offers} o where o.title_id = "titles"."id"), '[]'::json)`,
        owned: sql<EntitlementJson[] | string>`coalesce((select json_agg(json_build_object(
            'id', e.id, 'kind', e.kind, 'quality', e.quality, 'status', e.status, 'starts_at', e.starts_at,
            'start_by', e.start_by, 'expires_at', e.expires_at, 'first_played_at', e.first_played_at,
            'price_paid_minor', e.price_paid_minor, 'currency', e.currency,
            'credited', exists (select 1 from ${orderItems} oi join ${orders} od on od.id = oi.order_id
              where oi.credited_entitlement_id = e.id and od.status in ('paid', 'pending', 'partially_refunded'))))
          from ${entitlements} e where e.user_id = ${sql.placeholder("userId")} and e.title_id = "titles"."id"
            and e.status in ('active', 'superseded')), '[]'::json)`,
        feeBps: sql<number | null>`(select s.fee_bps from ${sellers} s where s.id = "titles"."seller_id")`,
      })
      .from(titles)
      .where(and(sql`${titles.id} = any(${sql.placeholder("ids")})`, eq(titles.status, "published")))
      .prepare("mq_checkout_price_read");
  }

  private async price(viewer: Viewer, input: z.output<typeof CheckoutRequestSchema>) {
    const now = this.ctx.now();
    const ids = input.items.map((i) => i.title_id);
    // One read: the titles, each with its offers, the viewer's entitlements to it (with
    // "credited": a rental already counted towards a purchase) and its seller's fee.
    this.priceRead ??= this.preparePriceRead();
    const rows = await this.priceRead.execute({ ids, userId: viewer.userId });
    const byId = new Map(rows.map((r) => [r.t.id, r]));
    const date = (v: string | null) => (v === null ? null : new Date(v));
    const offerRows = rows.flatMap((r) =>
      parseJson<OfferJson[]>(r.offers).map((o) => ({
        titleId: r.t.id,
        kind: o.kind,
        quality: o.quality,
        priceMinor: o.price_minor,
        currency: o.currency,
        rentStartWindowDays: o.start_days,
        rentWatchWindowHours: o.watch_hours,
        salePriceMinor: o.sale_price_minor,
        saleStartsAt: date(o.sale_starts_at),
        saleEndsAt: date(o.sale_ends_at),
      })),
    );
    const owned = rows.flatMap((r) =>
      parseJson<EntitlementJson[]>(r.owned).map((e) => ({
        titleId: r.t.id,
        id: e.id,
        kind: e.kind,
        quality: e.quality,
        status: e.status,
        startsAt: new Date(e.starts_at),
        startBy: date(e.start_by),
        expiresAt: date(e.expires_at),
        firstPlayedAt: date(e.first_played_at),
        pricePaidMinor: e.price_paid_minor,
        currency: e.currency,
        credited: e.credited,
      })),
    );
    const credited = new Set(owned.filter((o) => o.credited).map((o) => o.id));

    let sellerId: string | null | undefined;
    let currency: string | undefined;
    const lines = input.items.map((item) => {
      const t = byId.get(item.title_id)?.t;
      // A title a profile may not see is reported exactly like one that does not exist.
      if (!t || !ratingAllowed(t.ageRating, viewer.profile.max_age_rating))
        throw new AppError("not_found", `title ${item.title_id} is not for sale`);
      if (!regionAllowed(t.regions, viewer.region))
        throw new AppError("forbidden", `“${t.title}” is not sold in your region (${viewer.region})`);
      const offer = offerRows.find((o) => o.titleId === t.id && o.kind === item.kind && o.quality === item.quality);
      if (!offer) throw new AppError("bad_request", `“${t.title}” is not offered to ${item.kind} in ${item.quality}`);
      if (sellerId !== undefined && sellerId !== t.sellerId)
        throw new AppError(
          "bad_request",
          "one checkout can hold titles of one seller only; check out the others separately",
        );
      sellerId = t.sellerId;
      if (currency !== undefined && currency !== offer.currency)
        throw new AppError("bad_request", "all items of a checkout must be priced in one currency");
      currency = offer.currency;

      const mine = owned.filter((o) => o.titleId === t.id);
      const ownedBest = mine
        .filter((o) => o.kind === "own" && o.status === "active")
        .sort((a, b) => (QUALITY_RANK[b.quality] ?? 0) - (QUALITY_RANK[a.quality] ?? 0))[0];
      const want = QUALITY_RANK[item.quality] ?? 0;
      if (ownedBest && (QUALITY_RANK[ownedBest.quality] ?? 0) >= want)
        throw new AppError("conflict", `you already own “${t.title}” in ${ownedBest.quality}`);
      let credit = 0;
      let creditedEntitlementId: string | null = null;
      let upgradesEntitlementId: string | null = null;
      const { priceMinor } = effectivePrice(offer, now);
      if (item.kind === "rent") {
        if (ownedBest) throw new AppError("conflict", `you already own “${t.title}”; buy the upgrade instead`);
        const renting = mine.find(
          (o) => o.kind === "rent" && playbackProblem(o, now) === null && (QUALITY_RANK[o.quality] ?? 0) >= want,
        );
        if (renting) throw new AppError("conflict", `you are already renting “${t.title}”`);
      } else if (ownedBest) {
        // Quality upgrade: pay the difference from what was paid for the lower quality.
        upgradesEntitlementId = ownedBest.id;
        credit = Math.min(priceMinor, ownedBest.pricePaidMinor);
      } else {
        // Rent-to-own: the most recent rental not yet credited, within RENT_TO_OWN_DAYS.
        const rental = mine
          .filter(
            (o) =>
              o.kind === "rent" &&
              !credited.has(o.id) &&
              now.getTime() - o.startsAt.getTime() <= RENT_TO_OWN_DAYS * DAY_MS,
          )
          .sort((a, b) => b.startsAt.getTime() - a.startsAt.getTime())[0];
        if (rental) {
          credit = rentToOwnCredit(rental, priceMinor, offer.currency, now);
          if (credit > 0) creditedEntitlementId = rental.id;
        }
      }
      return {
        creditedEntitlementId,
        upgradesEntitlementId,
        view: {
          title_id: t.id,
          title: t.title,
          kind: item.kind,
          quality: item.quality,
          list_price_minor: offer.priceMinor,
          price_minor: priceMinor,
          discount_minor: 0,
          credit_minor: credit,
          rent_start_window_days: item.kind === "rent" ? offer.rentStartWindowDays : null,
          rent_watch_window_hours: item.kind === "rent" ? offer.rentWatchWindowHours : null,
        } satisfies CheckoutLineView,
      };
    });

    let promoId: string | null = null;
    let promoLimited = false;
    if (input.promo_code) {
      const [promo] = sellerId
        ? await this.ctx.db
            .select()
            .from(promoCodes)
            .where(and(eq(promoCodes.sellerId, sellerId), eq(promoCodes.code, input.promo_code)))
        : [];
      if (!promo) throw new AppError("bad_request", "unknown promo code");
      const problem = promoProblem(promo, now);
      if (problem)
        throw new AppError(
          "bad_request",
          promo.maxRedemptions !== null && promo.redemptions >= promo.maxRedemptions
            ? await this.usedUp(promo.id)
            : problem,
        );
      const discounts = promoDiscounts(
        promo,
        lines.map((l) => ({
          titleId: l.view.title_id,
          kind: l.view.kind,
          priceMinor: l.view.price_minor - l.view.credit_minor,
          currency: currency ?? "USD",
        })),
      );
      if (discounts.every((d) => d === 0))
        throw new AppError("bad_request", "this promo code does not apply to this cart");
      lines.forEach((l, i) => {
        l.view.discount_minor = discounts[i] ?? 0;
      });
      promoId = promo.id;
      promoLimited = promo.maxRedemptions !== null;
    }

    const feeBps = sellerId ? (rows.find((r) => r.t.sellerId === sellerId)?.feeBps ?? this.ctx.platformFeeBps) : 0;
    let subtotal = 0;
    let discount = 0;
    let credit = 0;
    let fee = 0;
    for (const l of lines) {
      const gross = l.view.price_minor;
      subtotal += gross;
      discount += l.view.discount_minor;
      credit += l.view.credit_minor;
      l.view.price_minor = Math.max(0, gross - l.view.discount_minor - l.view.credit_minor);
      fee += platformFee(l.view.price_minor, feeBps);
    }
    const total = lines.reduce((s, l) => s + l.view.price_minor, 0);
    return {
      lines,
      sellerId: sellerId ?? null,
      currency: currency ?? "USD",
      subtotal,
      discount,
      credit,
      total,
      fee,
      promoId,
      promoLimited,
    };
  }

  /**
   * Why a limited promo code cannot be used: all its uses are paid for, or some are held by
   * checkouts not yet paid (which give them back if they are not paid in time).
   */
  private async usedUp(promoId: string): Promise<string> {
    const [held] = await this.ctx.db
      .select({ n: sql<number>`count(*)::int` })
      .from(orders)
      .where(and(eq(orders.promoCodeId, promoId), eq(orders.status, "pending")));
    return held && held.n > 0
      ? `this promo code's remaining uses are held by checkouts in progress; a use comes back if one is not paid within ${PROMO_HOLD_MINUTES} minutes`
      : "this promo code has been used up";
  }
}

interface OfferJson {
  kind: string;
  quality: string;
  price_minor: number;
  currency: string;
  start_days: number;
  watch_hours: number;
  sale_price_minor: number | null;
  sale_starts_at: string | null;
  sale_ends_at: string | null;
}

interface EntitlementJson {
  id: string;
  kind: string;
  quality: string;
  status: string;
  starts_at: string;
  start_by: string | null;
  expires_at: string | null;
  first_played_at: string | null;
  price_paid_minor: number;
  currency: string;
  credited: boolean;
}

/** json columns arrive parsed from node-postgres and PGlite alike; a string is parsed here. */
function parseJson<T>(value: T | string): T {
  return typeof value === "string" ? (JSON.parse(value) as T) : value;
}
