import { AppError } from "@marquee/runtime";
import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import { businessEvent, type CommerceContext } from "./context.ts";
import { newId } from "./ids.ts";
import { enqueueOutbox, type OutboxEvent } from "./outbox.ts";
import { type WebhookEvent, WebhookSignatureError } from "./payments/gateway.ts";
import { DAY_MS, platformFee } from "./rules.ts";
import {
  entitlements,
  ledgerEntries,
  orderItems,
  orders,
  payments,
  processedWebhookEvents,
  promoCodes,
  sellers,
} from "./schema.ts";

export type WebhookOutcome =
  | { result: "granted"; order_id: string; entitlements: number }
  | { result: "already_processed"; event_id: string }
  | { result: "no_change"; reason: string; order_id?: string }
  | { result: "expired"; order_id: string }
  | { result: "ignored"; type: string };

const FULFIL = new Set(["checkout.session.completed", "checkout.session.async_payment_succeeded"]);

/**
 * Turns verified payment events into entitlements: "sync from Stripe". The event id is
 * recorded in the same transaction as the grant, each order item grants at most one
 * entitlement (a unique index), and the order moves pending → paid at most once, so a
 * repeated, concurrent or out-of-order delivery changes nothing. The session is re-read from
 * the provider before granting: a signed event is a hint, the provider's answer is the truth.
 */
export class Fulfilment {
  constructor(private readonly ctx: CommerceContext) {}

  async handleWebhook(rawBody: string | Buffer, signature: string | undefined): Promise<WebhookOutcome> {
    let event: WebhookEvent;
    try {
      event = this.ctx.gateway.constructEvent(rawBody, signature);
    } catch (err) {
      if (err instanceof WebhookSignatureError)
        throw new AppError("bad_request", `webhook signature check failed: ${err.message}`);
      throw err;
    }
    const object = event.data?.object ?? {};
    if (FULFIL.has(event.type) && object.object === "checkout.session" && typeof object.id === "string")
      return this.fulfilSession(event, object.id);
    if (event.type === "checkout.session.expired" && typeof object.id === "string")
      return this.expireSession(event, object.id);
    if (event.type === "account.updated" && object.object === "account" && typeof object.id === "string") {
      // Connect: a seller finished (or lost) onboarding. Stripe's event is the news; the
      // flag only opens destination charges, which Stripe itself refuses if it is wrong.
      await this.ctx.db
        .update(sellers)
        .set({ chargesEnabled: object.charges_enabled === true })
        .where(eq(sellers.stripeAccountId, object.id));
    }
    // Anything else is acknowledged (Stripe stops retrying) and remembered.
    await this.ctx.db
      .insert(processedWebhookEvents)
      .values({ eventId: event.id, type: event.type })
      .onConflictDoNothing();
    return { result: "ignored", type: event.type };
  }

  /** An order whose total is zero (credits, promo): granted at once, without a provider. */
  async grantWithoutPayment(orderId: string): Promise<void> {
    await this.ctx.db.transaction(async (tx) => {
      await this.grant(tx, eq(orders.id, orderId), { provider: "none", paymentIntent: null, amountMinor: 0 });
    });
  }

  private async fulfilSession(event: WebhookEvent, sessionId: string): Promise<WebhookOutcome> {
    // A redelivery is common (Stripe retries until it hears 2xx): answer it without asking the
    // provider again. Only a hint: the insert below is what makes processing happen once.
    const [seen] = await this.ctx.db
      .select({ id: processedWebhookEvents.eventId })
      .from(processedWebhookEvents)
      .where(eq(processedWebhookEvents.eventId, event.id));
    if (seen) return { result: "already_processed", event_id: event.id };
    const session = await this.ctx.gateway.retrieveCheckoutSession(sessionId);
    if (session.paymentStatus !== "paid" && session.paymentStatus !== "no_payment_required") {
      // Delayed payment methods complete later (async_payment_succeeded); nothing to grant yet.
      return { result: "no_change", reason: `the provider says the session is ${session.paymentStatus}` };
    }
    return this.ctx.db.transaction(async (tx): Promise<WebhookOutcome> => {
      const first = await tx
        .insert(processedWebhookEvents)
        .values({ eventId: event.id, type: event.type })
        .onConflictDoNothing()
        .returning({ id: processedWebhookEvents.eventId });
      if (first.length === 0) return { result: "already_processed", event_id: event.id };
      // One statement finds, checks and moves the order: pending (or expired and paid late)
      // → paid, only when the provider's amount and currency are the order's.
      const granted = await this.grant(
        tx,
        and(
          eq(orders.checkoutSessionId, sessionId),
          eq(orders.totalMinor, session.amountTotal ?? -1),
          session.currency ? eq(orders.currency, session.currency) : undefined,
        ) as SQL,
        {
          provider: this.ctx.gateway.provider,
          paymentIntent: session.paymentIntent,
          amountMinor: session.amountTotal ?? 0,
        },
      );
      if (granted) return { result: "granted", order_id: granted.orderId, entitlements: granted.count };
      const [order] = await tx.select().from(orders).where(eq(orders.checkoutSessionId, sessionId));
      if (!order) {
        this.ctx.log.warn({ sessionId, orderId: session.metadata.order_id }, "paid session with no order on record");
        return { result: "no_change", reason: "no order for this session" };
      }
      if (order.status === "pending" || order.status === "expired") {
        this.ctx.log.error(
          { orderId: order.id, sessionTotal: session.amountTotal, orderTotal: order.totalMinor },
          "paid amount does not match the order: not granted",
        );
        return { result: "no_change", reason: "the paid amount does not match the order", order_id: order.id };
      }
      return { result: "no_change", reason: `order is already ${order.status}`, order_id: order.id };
    });
  }

  private async expireSession(event: WebhookEvent, sessionId: string): Promise<WebhookOutcome> {
    return this.ctx.db.transaction(async (tx): Promise<WebhookOutcome> => {
      const first = await tx
        .insert(processedWebhookEvents)
        .values({ eventId: event.id, type: event.type })
        .onConflictDoNothing()
        .returning({ id: processedWebhookEvents.eventId });
      if (first.length === 0) return { result: "already_processed", event_id: event.id };
      // Only a pending order expires: a late "expired" after "completed" changes nothing.
      const [order] = await tx
        .update(orders)
        .set({ status: "expired" })
        .where(and(eq(orders.checkoutSessionId, sessionId), eq(orders.status, "pending")))
        .returning();
      if (!order) return { result: "no_change", reason: "no pending order for this session" };
      if (order.promoCodeId) {
        await tx
          .update(promoCodes)
          .set({ redemptions: sql`greatest(${promoCodes.redemptions} - 1, 0)` })
          .where(eq(promoCodes.id, order.promoCodeId));
      }
      return { result: "expired", order_id: order.id };
    });
  }

  /**
   * Mark the order matching `match` paid and grant its items, inside the caller's transaction.
   * Returns the order and the number of entitlements granted, or null when no pending order
   * matched (already paid, or not this amount): nothing was done.
   * An order that expired and was paid anyway (a late payment) is still granted: the money
   * was taken.
   */
  private async grant(
    tx: Parameters<Parameters<CommerceContext["db"]["transaction"]>[0]>[0],
    match: SQL,
    payment: { provider: string; paymentIntent: string | null; amountMinor: number },
  ): Promise<{ orderId: string; count: number } | null> {
    const now = this.ctx.now();
    const [order] = await tx
      .update(orders)
      .set({ status: "paid", paidAt: now, paymentIntentId: payment.paymentIntent })
      .where(and(match, inArray(orders.status, ["pending", "expired"])))
      .returning();
    if (!order) return null;
    const orderId = order.id;
    await tx
      .insert(payments)
      .values({
        id: newId("pay"),
        orderId,
        provider: payment.provider,
        paymentIntentId: payment.paymentIntent,
        amountMinor: payment.amountMinor,
        currency: order.currency,
        status: "succeeded",
        createdAt: now,
      })
      .onConflictDoNothing();
    const items = await tx.select().from(orderItems).where(eq(orderItems.orderId, orderId));
    const grants = items.map((i) => ({
      id: newId("ent"),
      userId: order.userId,
      titleId: i.titleId,
      kind: i.kind === "buy" ? "own" : "rent",
      quality: i.quality,
      orderItemId: i.id,
      status: "active",
      startsAt: now,
      startBy: i.kind === "rent" ? new Date(now.getTime() + (i.rentStartWindowDays ?? 30) * DAY_MS) : null,
      watchWindowHours: i.kind === "rent" ? (i.rentWatchWindowHours ?? 48) : null,
      pricePaidMinor: i.priceMinor + i.creditMinor,
      currency: order.currency,
      createdAt: now,
    }));
    const inserted = await tx
      .insert(entitlements)
      .values(grants)
      .onConflictDoNothing({ target: entitlements.orderItemId })
      .returning({ id: entitlements.id });
    const upgraded = items.flatMap((i) => (i.upgradesEntitlementId ? [i.upgradesEntitlementId] : []));
    if (upgraded.length > 0)
      await tx
        .update(entitlements)
        .set({ status: "superseded" })
        .where(and(inArray(entitlements.id, upgraded), eq(entitlements.userId, order.userId)));

    if (order.sellerId) {
      const [seller] = await tx.select({ feeBps: sellers.feeBps }).from(sellers).where(eq(sellers.id, order.sellerId));
      const bps = seller?.feeBps ?? this.ctx.platformFeeBps;
      await tx
        .insert(ledgerEntries)
        .values(
          items.map((i) => {
            const fee = platformFee(i.priceMinor, bps);
            return {
              id: newId("led"),
              sellerId: order.sellerId as string,
              orderId,
              orderItemId: i.id,
              kind: "sale",
              grossMinor: i.priceMinor,
              feeMinor: fee,
              netMinor: i.priceMinor - fee,
              currency: order.currency,
              createdAt: now,
            };
          }),
        )
        .onConflictDoNothing();
    }

    const events: OutboxEvent[] = grants.map((g, n) => {
      const item = items[n];
      const sale = {
        order_id: orderId,
        quality: g.quality,
        amount_minor: item?.priceMinor ?? 0,
        currency: order.currency,
      };
      return g.kind === "own"
        ? businessEvent("purchase", order.userId, g.titleId, sale, now)
        : businessEvent(
            "rental_start",
            order.userId,
            g.titleId,
            { ...sale, expires_at: g.startBy?.toISOString() },
            now,
          );
    });
    await enqueueOutbox(tx, events);
    this.ctx.log.info({ orderId, items: items.length, total: order.totalMinor }, "order paid and granted");
    return { orderId, count: inserted.length };
  }
}
