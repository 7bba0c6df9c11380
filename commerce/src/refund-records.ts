import { and, eq, sql } from "drizzle-orm";
import type { CommerceDb } from "./catalog.ts";
import { businessEvent } from "./context.ts";
import { newId } from "./ids.ts";
import { enqueueOutbox } from "./outbox.ts";
import { entitlements, ledgerEntries, orderItems, orders, refunds } from "./schema.ts";

type Tx = Parameters<Parameters<CommerceDb["transaction"]>[0]>[0];

/**
 * The refund row for an order item: created (pending) on the first call, the existing one on
 * every later call — one refund per item, by a unique index — so a retried refund reuses its
 * row and its provider idempotency key.
 */
export async function openRefund(
  db: CommerceDb | Tx,
  r: {
    orderId: string;
    orderItemId: string;
    entitlementId: string;
    amountMinor: number;
    currency: string;
    reason: string;
    now: Date;
  },
): Promise<typeof refunds.$inferSelect> {
  await db
    .insert(refunds)
    .values({
      id: newId("rf"),
      orderId: r.orderId,
      orderItemId: r.orderItemId,
      entitlementId: r.entitlementId,
      amountMinor: r.amountMinor,
      currency: r.currency,
      reason: r.reason.slice(0, 500),
      createdAt: r.now,
    })
    .onConflictDoNothing({ target: refunds.orderItemId });
  const [row] = await db.select().from(refunds).where(eq(refunds.orderItemId, r.orderItemId));
  if (!row) throw new Error(`refund for order item ${r.orderItemId} was not recorded`);
  return row;
}

/**
 * Everything a refund changes besides the money, inside the caller's transaction, once: the
 * refund row → succeeded (only from another state: a second call does nothing and returns
 * false), the entitlement → refunded, the order → refunded or partially refunded, the seller's
 * ledger reversed for the item, and a `refund` event in the outbox.
 */
export async function recordRefund(
  tx: Tx,
  r: {
    refundId: string;
    providerRefundId: string | null;
    order: { id: string; userId: string; sellerId: string | null; currency: string };
    orderItemId: string;
    entitlementId: string;
    titleId: string;
    amountMinor: number;
    reason: string;
    now: Date;
  },
): Promise<boolean> {
  const [done] = await tx
    .update(refunds)
    .set({ status: "succeeded", providerRefundId: r.providerRefundId })
    .where(and(eq(refunds.id, r.refundId), sql`${refunds.status} <> 'succeeded'`))
    .returning();
  if (!done) return false;
  await tx.update(entitlements).set({ status: "refunded" }).where(eq(entitlements.id, r.entitlementId));
  const [{ left } = { left: 0 }] = await tx
    .select({ left: sql<number>`count(*)::int` })
    .from(entitlements)
    .innerJoin(orderItems, eq(orderItems.id, entitlements.orderItemId))
    .where(and(eq(orderItems.orderId, r.order.id), eq(entitlements.status, "active")));
  await tx
    .update(orders)
    .set({ status: left === 0 ? "refunded" : "partially_refunded" })
    .where(eq(orders.id, r.order.id));
  if (r.order.sellerId) {
    const [sale] = await tx
      .select()
      .from(ledgerEntries)
      .where(and(eq(ledgerEntries.orderItemId, r.orderItemId), eq(ledgerEntries.kind, "sale")));
    if (sale)
      await tx
        .insert(ledgerEntries)
        .values({
          id: newId("led"),
          sellerId: r.order.sellerId,
          orderId: r.order.id,
          orderItemId: r.orderItemId,
          kind: "refund",
          grossMinor: -sale.grossMinor,
          feeMinor: -sale.feeMinor,
          netMinor: -sale.netMinor,
          currency: sale.currency,
          createdAt: r.now,
        })
        .onConflictDoNothing();
  }
  await enqueueOutbox(tx, [
    businessEvent(
      "refund",
      r.order.userId,
      r.titleId,
      { order_id: r.order.id, amount_minor: r.amountMinor, currency: r.order.currency, reason: r.reason.slice(0, 500) },
      r.now,
    ),
  ]);
  return true;
}
