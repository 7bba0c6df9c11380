import { rowsOf } from "@marquee/runtime";
import { type SQL, sql } from "drizzle-orm";
import type { CommerceDb } from "./catalog.ts";

type Tx = Parameters<Parameters<CommerceDb["transaction"]>[0]>[0];

/**
 * An unpaid checkout's promo code hold. A code with limited uses is scarce, so a checkout that
 * reserves one of them gives it back soon if it is not paid: its payment session expires after
 * this long (and at once when the viewer cancels). Stripe accepts expiries from 30 minutes, so
 * the session is asked for a minute more than the hold the viewer is told about.
 */
export const PROMO_HOLD_MINUTES = 30;
export const PROMO_HOLD_SESSION_MS = (PROMO_HOLD_MINUTES + 1) * 60_000;

/**
 * Expire pending orders and give back the promo redemption each reserved, in one statement (so
 * together or not at all). Only a pending order changes: a paid one, or one already expired,
 * is left as it is, so every path that abandons a checkout (the provider's expiry event, a
 * cancel, a stale cart) can run this and the redemption comes back exactly once.
 */
export async function expirePendingOrders(
  db: CommerceDb | Tx,
  which: { orderId: string } | { checkoutSessionId: string },
): Promise<{ id: string; promoCodeId: string | null }[]> {
  const where: SQL =
    "orderId" in which ? sql`id = ${which.orderId}` : sql`checkout_session_id = ${which.checkoutSessionId}`;
  const result = await db.execute(sql`
    with o as (
      update orders set status = 'expired' where ${where} and status = 'pending'
      returning id, promo_code_id
    ), p as (
      update promo_codes set redemptions = greatest(promo_codes.redemptions - 1, 0)
      from o where promo_codes.id = o.promo_code_id
    )
    select id, promo_code_id from o`);
  return rowsOf<{ id: string; promo_code_id: string | null }>(result).map((r) => ({
    id: r.id,
    promoCodeId: r.promo_code_id,
  }));
}
