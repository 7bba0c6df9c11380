import { AppError } from "@marquee/runtime";
import { and, eq, type SQL, sql } from "drizzle-orm";
import type { CommerceDb } from "./catalog.ts";
import { businessEvent, type CommerceContext } from "./context.ts";
import { newId } from "./ids.ts";
import { expirePendingOrders } from "./order-expiry.ts";
import type { OutboxEvent } from "./outbox.ts";
import { type WebhookEvent, WebhookSignatureError } from "./payments/gateway.ts";
import { openRefund, recordRefund } from "./refund-records.ts";
import { DAY_MS, platformFee } from "./rules.ts";
import { entitlements, orderItems, orders, processedWebhookEvents, refunds, sellers } from "./schema.ts";
import { runStatement } from "./statements.ts";

export type WebhookOutcome =
  | { result: "granted"; order_id: string; entitlements: number }
  | { result: "already_processed"; event_id: string }
  | { result: "no_change"; reason: string; order_id?: string }
  | { result: "expired"; order_id: string }
  | { result: "refunded"; order_id: string; entitlements: number }
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
    if (event.type === "charge.refunded" && typeof object.payment_intent === "string")
      return this.mirrorRefund(event, object.payment_intent);
    if (event.type === "account.updated" && object.object === "account" && typeof object.id === "string") {
      // Connect: a seller finished (or lost) onboarding. Stripe's event is the news; the
      // flag only opens destination charges, which Stripe itself refuses if it is wrong.
      await this.ctx.db
        .update(sellers)
        .set({ chargesEnabled: object.charges_enabled === true })
        .where(eq(sellers.stripeAccountId, object.id));
    }
    // Anything else is acknowledged (Stripe stops retrying) and remembered.
    await this.remember(event);
    return { result: "ignored", type: event.type };
  }

  /** An order whose total is zero (credits, promo): granted at once, without a provider. */
  async grantWithoutPayment(orderId: string): Promise<void> {
    const loaded = await this.loadOrder(orderId);
    if (!loaded) throw new AppError("not_found", "no such order");
    await this.grant(loaded, { provider: "none", paymentIntent: null, amountMinor: 0 }, null);
  }

  private async fulfilSession(event: WebhookEvent, sessionId: string): Promise<WebhookOutcome> {
    // Order, items and "seen before?" in one read. A redelivery (Stripe retries until it hears
    // 2xx) is answered here without asking the provider again; this is only a hint — the
    // statement in `grant` is what makes processing happen once.
    const loaded = await this.loadForSession(sessionId, event.id);
    if (loaded?.seen) return { result: "already_processed", event_id: event.id };
    const session = await this.ctx.gateway.retrieveCheckoutSession(sessionId);
    if (session.paymentStatus !== "paid" && session.paymentStatus !== "no_payment_required") {
      // Delayed payment methods complete later (async_payment_succeeded); nothing to grant yet.
      return { result: "no_change", reason: `the provider says the session is ${session.paymentStatus}` };
    }
    if (!loaded) {
      const first = await this.remember(event);
      if (!first) return { result: "already_processed", event_id: event.id };
      this.ctx.log.warn({ sessionId, orderId: session.metadata.order_id }, "paid session with no order on record");
      return { result: "no_change", reason: "no order for this session" };
    }
    const { order } = loaded;
    if (session.amountTotal !== order.totalMinor || (session.currency ?? order.currency) !== order.currency) {
      const first = await this.remember(event);
      if (!first) return { result: "already_processed", event_id: event.id };
      this.ctx.log.error(
        { orderId: order.id, sessionTotal: session.amountTotal, orderTotal: order.totalMinor },
        "paid amount does not match the order: not granted",
      );
      return { result: "no_change", reason: "the paid amount does not match the order", order_id: order.id };
    }
    const outcome = await this.grant(
      loaded,
      {
        provider: this.ctx.gateway.provider,
        paymentIntent: session.paymentIntent,
        amountMinor: session.amountTotal ?? 0,
      },
      event,
    );
    if (!outcome.newEvent) return { result: "already_processed", event_id: event.id };
    if (outcome.paid) return { result: "granted", order_id: order.id, entitlements: outcome.granted };
    const [now] = await this.ctx.db.select({ status: orders.status }).from(orders).where(eq(orders.id, order.id));
    return { result: "no_change", reason: `order is already ${now?.status ?? "gone"}`, order_id: order.id };
  }

  /** Record an event as handled (in `db`, or the caller's transaction); false when it already was. */
  private async remember(event: WebhookEvent, db: CommerceDb | Tx = this.ctx.db): Promise<boolean> {
    const rows = await db
      .insert(processedWebhookEvents)
      .values({ eventId: event.id, type: event.type })
      .onConflictDoNothing()
      .returning({ id: processedWebhookEvents.eventId });
    return rows.length > 0;
  }

  /** Order, its items, its seller's fee and "was this event handled?": what granting reads. */
  private loadSelection(seen: SQL) {
    return {
      order: orders,
      item: orderItems,
      feeBps: sql<number | null>`(select ${sellers.feeBps} from ${sellers} where ${sellers.id} = ${orders.sellerId})`,
      seen: sql<boolean>`${seen}`,
    };
  }

  /** The webhook's read, prepared once (it runs for every delivery). */
  private loadBySession: ReturnType<Fulfilment["prepareLoadBySession"]> | null = null;

  private prepareLoadBySession() {
    return this.ctx.db
      .select(
        this.loadSelection(
          sql`exists (select 1 from ${processedWebhookEvents} where ${processedWebhookEvents.eventId} = ${sql.placeholder("eventId")})`,
        ),
      )
      .from(orders)
      .innerJoin(orderItems, eq(orderItems.orderId, orders.id))
      .where(eq(orders.checkoutSessionId, sql.placeholder("sessionId")))
      .prepare("mq_fulfilment_load_by_session");
  }

  private async loadForSession(sessionId: string, eventId: string): Promise<Loaded | null> {
    this.loadBySession ??= this.prepareLoadBySession();
    return this.toLoaded(await this.loadBySession.execute({ sessionId, eventId }));
  }

  private async loadOrder(orderId: string): Promise<Loaded | null> {
    return this.toLoaded(
      await this.ctx.db
        .select(this.loadSelection(sql`false`))
        .from(orders)
        .innerJoin(orderItems, eq(orderItems.orderId, orders.id))
        .where(eq(orders.id, orderId)),
    );
  }

  private toLoaded(
    rows: { order: typeof orders.$inferSelect; item: Item; feeBps: number | null; seen: boolean }[],
  ): Loaded | null {
    const first = rows[0];
    if (!first) return null;
    return {
      order: first.order,
      items: rows.map((r) => r.item),
      feeBps: first.feeBps ?? this.ctx.platformFeeBps,
      seen: Boolean(first.seen),
    };
  }

  /**
   * A refund made outside Marquee (Stripe's dashboard) is mirrored: when the provider says the
   * whole payment was refunded, every entitlement of the order still active is revoked, with
   * its refund row, ledger reversal and `refund` event. Refunds Marquee made itself are already
   * on record, so their `charge.refunded` changes nothing. A partial refund that Marquee did not
   * make is left for a person: which item it was for is not knowable from the charge.
   */
  private async mirrorRefund(event: WebhookEvent, paymentIntent: string): Promise<WebhookOutcome> {
    const [order] = await this.ctx.db.select().from(orders).where(eq(orders.paymentIntentId, paymentIntent));
    if (!order) {
      await this.remember(event);
      return { result: "ignored", type: event.type };
    }
    const state = await this.ctx.gateway.retrievePaymentRefunds(paymentIntent);
    const now = this.ctx.now();
    return this.ctx.db.transaction(async (tx): Promise<WebhookOutcome> => {
      if (!(await this.remember(event, tx))) return { result: "already_processed", event_id: event.id };
      const [recorded] = await tx
        .select({ sum: sql<number>`coalesce(sum(${refunds.amountMinor}), 0)::int` })
        .from(refunds)
        .where(and(eq(refunds.orderId, order.id), eq(refunds.status, "succeeded")));
      const outside = state.refundedMinor - (recorded?.sum ?? 0);
      if (outside <= 0) return { result: "no_change", reason: "every refund is already on record", order_id: order.id };
      if (state.refundedMinor < state.amountMinor) {
        this.ctx.log.warn(
          { orderId: order.id, refundedMinor: state.refundedMinor, amountMinor: state.amountMinor },
          "a partial refund was made outside Marquee: entitlements kept, review by hand",
        );
        return {
          result: "no_change",
          reason: "a partial refund outside Marquee is left for review",
          order_id: order.id,
        };
      }
      const active = await tx
        .select({ e: entitlements, item: orderItems })
        .from(entitlements)
        .innerJoin(orderItems, eq(orderItems.id, entitlements.orderItemId))
        .where(and(eq(orderItems.orderId, order.id), eq(entitlements.status, "active")));
      const reason = "refunded by the store through Stripe";
      for (const { e, item } of active) {
        const refund = await openRefund(tx, {
          orderId: order.id,
          orderItemId: item.id,
          entitlementId: e.id,
          amountMinor: item.priceMinor,
          currency: order.currency,
          reason,
          now,
        });
        await recordRefund(tx, {
          refundId: refund.id,
          providerRefundId: null,
          order,
          orderItemId: item.id,
          entitlementId: e.id,
          titleId: e.titleId,
          amountMinor: item.priceMinor,
          reason,
          now,
        });
      }
      return { result: "refunded", order_id: order.id, entitlements: active.length };
    });
  }

  private async expireSession(event: WebhookEvent, sessionId: string): Promise<WebhookOutcome> {
    return this.ctx.db.transaction(async (tx): Promise<WebhookOutcome> => {
      if (!(await this.remember(event, tx))) return { result: "already_processed", event_id: event.id };
      // Only a pending order expires: a late "expired" after "completed" changes nothing. Its
      // promo redemption, if any, is given back with it.
      const [order] = await expirePendingOrders(tx, { checkoutSessionId: sessionId });
      if (!order) return { result: "no_change", reason: "no pending order for this session" };
      return { result: "expired", order_id: order.id };
    });
  }

  /**
   * Mark the order paid and grant its items in ONE statement (so atomically, with no
   * transaction round trips): remember the event, move the order pending (or expired and
   * paid late: the money was taken) → paid, record the payment, one entitlement per item (a
   * unique index), supersede upgraded purchases, the seller's ledger, and the outbox events.
   * Every step after the first runs only if the one before changed something, so a repeated,
   * concurrent or out-of-order delivery changes nothing.
   */
  private async grant(
    loaded: Loaded,
    payment: { provider: string; paymentIntent: string | null; amountMinor: number },
    event: WebhookEvent | null,
  ): Promise<{ newEvent: boolean; paid: boolean; granted: number }> {
    const now = this.ctx.now();
    const { order, items, feeBps } = loaded;
    const kindOf = (i: Item) => (i.kind === "buy" ? "own" : "rent");
    const startBy = (i: Item) =>
      i.kind === "rent" ? new Date(now.getTime() + (i.rentStartWindowDays ?? 30) * DAY_MS) : null;
    const grants = items.map((i) => ({
      id: `ent_${i.id.replace(/^oi_/, "")}`,
      itemId: i.id,
      titleId: i.titleId,
      kind: kindOf(i),
      quality: i.quality,
      startBy: startBy(i),
      watchHours: i.kind === "rent" ? (i.rentWatchWindowHours ?? 48) : null,
      paid: i.priceMinor + i.creditMinor,
    }));
    const events: OutboxEvent[] = items.map((i) => {
      const sale = { order_id: order.id, quality: i.quality, amount_minor: i.priceMinor, currency: order.currency };
      return i.kind === "buy"
        ? businessEvent("purchase", order.userId, i.titleId, sale, now)
        : businessEvent(
            "rental_start",
            order.userId,
            i.titleId,
            { ...sale, expires_at: startBy(i)?.toISOString() },
            now,
          );
    });
    const upgraded = items.flatMap((i) => (i.upgradesEntitlementId ? [i.upgradesEntitlementId] : []));
    const ts = (d: Date | null) => (d === null ? sql`null::timestamptz` : sql`${d.toISOString()}::timestamptz`);
    const values = <T>(rows: T[], row: (r: T) => SQL) => sql.join(rows.map(row), sql`, `);

    const statement = sql`
      with ev as (
        ${
          event
            ? sql`insert into processed_webhook_events (event_id, type, received_at)
                values (${event.id}, ${event.type}, ${ts(now)})
                on conflict do nothing returning event_id`
            : sql`select 'none'::text as event_id`
        }
      ), before as (
        select status from orders where id = ${order.id}
      ), o as (
        update orders set status = 'paid', paid_at = ${ts(now)}, payment_intent_id = ${payment.paymentIntent}
        where id = ${order.id} and status in ('pending', 'expired') and exists (select 1 from ev)
        returning id, promo_code_id
      ), pr as (
        -- Paid after it expired: the promo redemption given back at expiry is used after all.
        update promo_codes set redemptions = promo_codes.redemptions + 1
        from o where promo_codes.id = o.promo_code_id and (select status from before) = 'expired'
      ), p as (
        insert into payments (id, order_id, provider, payment_intent_id, amount_minor, currency, status, created_at)
        select ${newId("pay")}, o.id, ${payment.provider}, ${payment.paymentIntent}, ${payment.amountMinor}::int,
               ${order.currency}, 'succeeded', ${ts(now)} from o
        on conflict do nothing
      ), e as (
        insert into entitlements (id, user_id, title_id, kind, quality, order_item_id, status, starts_at,
                                  start_by, watch_window_hours, price_paid_minor, currency, created_at)
        select v.id, ${order.userId}, v.title_id, v.kind, v.quality, v.item_id, 'active', ${ts(now)},
               v.start_by, v.watch_hours, v.paid, ${order.currency}, ${ts(now)}
        from (values ${values(
          grants,
          (g) =>
            sql`(${g.id}, ${g.titleId}, ${g.kind}, ${g.quality}, ${g.itemId}, ${ts(g.startBy)}, ${g.watchHours}::int, ${g.paid}::int)`,
        )}) as v(id, title_id, kind, quality, item_id, start_by, watch_hours, paid)
        where exists (select 1 from o)
        on conflict (order_item_id) do nothing
        returning id
      )${
        upgraded.length > 0
          ? sql`, u as (
        update entitlements set status = 'superseded'
        where id in (${sql.join(
          upgraded.map((id) => sql`${id}`),
          sql`, `,
        )}) and user_id = ${order.userId} and exists (select 1 from o)
      )`
          : sql``
      }${
        order.sellerId
          ? sql`, l as (
        insert into ledger_entries (id, seller_id, order_id, order_item_id, kind, gross_minor, fee_minor, net_minor, currency, created_at)
        select v.id, ${order.sellerId}, ${order.id}, v.item_id, 'sale', v.gross, v.fee, v.gross - v.fee, ${order.currency}, ${ts(now)}
        from (values ${values(
          items,
          (i) => sql`(${newId("led")}, ${i.id}, ${i.priceMinor}::int, ${platformFee(i.priceMinor, feeBps)}::int)`,
        )}) as v(id, item_id, gross, fee)
        where exists (select 1 from o)
        on conflict do nothing
      )`
          : sql``
      }, x as (
        insert into outbox (id, topic, key, payload, headers, created_at)
        select v.id::uuid, v.topic, v.key, v.payload::jsonb, v.headers::jsonb, ${ts(now)}
        from (values ${values(
          events,
          (ev) =>
            sql`(${ev.id}, ${ev.topic}, ${ev.key}, ${JSON.stringify(ev.payload)}, ${JSON.stringify(ev.headers ?? {})})`,
        )}) as v(id, topic, key, payload, headers)
        where exists (select 1 from o)
        on conflict do nothing
      )
      select (select count(*) from ev)::int as new_event, (select count(*) from o)::int as paid,
             (select count(*) from e)::int as granted`;
    const rows = await runStatement<{ new_event: number; paid: number; granted: number }>(this.ctx.db, statement);
    const r = rows[0] ?? { new_event: 0, paid: 0, granted: 0 };
    if (r.paid > 0)
      this.ctx.log.info({ orderId: order.id, items: items.length, total: order.totalMinor }, "order paid and granted");
    return { newEvent: Number(r.new_event) > 0, paid: Number(r.paid) > 0, granted: Number(r.granted) };
  }
}

type Item = typeof orderItems.$inferSelect;
type Tx = Parameters<Parameters<CommerceDb["transaction"]>[0]>[0];
interface Loaded {
  order: typeof orders.$inferSelect;
  items: Item[];
  feeBps: number;
  seen: boolean;
}
