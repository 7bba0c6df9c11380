import { AppError } from "@marquee/runtime";
import { and, eq, gt, isNull, lt, lte, or, sql } from "drizzle-orm";
import Stripe from "stripe";
import type { CommerceDb } from "../catalog.ts";
import { newId } from "../ids.ts";
import { localCheckoutSessions } from "../schema.ts";
import { runStatement } from "../statements.ts";
import type {
  CheckoutSession,
  ConnectedAccount,
  CreateCheckoutInput,
  DeliverEvent,
  LocalCheckoutPages,
  PaymentGateway,
  Payout,
  WebhookEvent,
} from "./gateway.ts";
import { verifyStripeEvent } from "./stripe-gateway.ts";

export interface LocalGatewayOptions {
  /** Signs and verifies the local events (whsec_… style; any string of 16+ characters). */
  webhookSecret: string;
  /** Where the store is served: the local checkout page's address when a session's own return origin is unreadable. */
  baseUrl: string;
  now?: () => Date;
}

/** How long a session takes payment when the checkout asks for no expiry (Stripe's default). */
const DEFAULT_SESSION_MS = 24 * 3_600_000;

/**
 * Embedded mode's Stripe: sessions live in Postgres, the viewer pays on a local test page
 * (`/checkout/local/:id`), and paying produces a Stripe-shaped `checkout.session.completed`
 * event signed with the local secret and delivered through the same webhook handler that
 * serves Stripe. Nothing here is trusted more than Stripe would be: the handler verifies the
 * signature and re-reads the session before granting anything.
 */
export class LocalGateway implements PaymentGateway, LocalCheckoutPages {
  readonly provider = "local" as const;
  /** This provider has no hosted page of its own: the store serves the test page. */
  readonly localCheckout: LocalCheckoutPages = this;
  private readonly signer = new Stripe("sk_test_local_signing_only");
  private readonly now: () => Date;
  private deliver: DeliverEvent | null = null;

  constructor(
    private readonly db: CommerceDb,
    private readonly options: LocalGatewayOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** Wire the webhook handler (done by the composition root, which owns both). */
  onEvent(deliver: DeliverEvent): void {
    this.deliver = deliver;
  }

  async createCheckoutSession(input: CreateCheckoutInput, idempotencyKey: string): Promise<CheckoutSession> {
    const id = newId("cs_local");
    const amountTotal = input.lines.reduce((s, l) => s + l.amountMinor, 0);
    const session = {
      id,
      idempotencyKey,
      amountTotal,
      currency: input.currency,
      paymentIntent: newId("pi_local"),
      metadata: { order_id: input.orderId },
      lineItems: input.lines.map((l) => ({ name: l.name, amount: l.amountMinor })),
      successUrl: input.successUrl,
      cancelUrl: input.cancelUrl,
      createdAt: this.now(),
    };
    const expiresAt = input.expiresAt ?? new Date(session.createdAt.getTime() + DEFAULT_SESSION_MS);
    // Store the session and record it on its order in one statement (one commit, not two):
    // the order's checkout_session_id is set only while still empty, as Checkout would.
    const [counts] = await runStatement<{ created: number; recorded: number }>(
      this.db,
      sql`
      with s as (
        insert into local_checkout_sessions (id, idempotency_key, amount_total, currency, payment_intent, metadata,
                                             line_items, success_url, cancel_url, created_at, expires_at)
        values (${session.id}, ${idempotencyKey}, ${amountTotal}::int, ${session.currency}, ${session.paymentIntent},
                ${JSON.stringify(session.metadata)}::jsonb, ${JSON.stringify(session.lineItems)}::jsonb,
                ${session.successUrl}, ${session.cancelUrl}, ${session.createdAt.toISOString()}::timestamptz,
                ${expiresAt.toISOString()}::timestamptz)
        on conflict (idempotency_key) do nothing
        returning id
      ), o as (
        update orders set checkout_session_id = s.id, checkout_url = ${this.pageUrl(id, input.successUrl)}
        from s where orders.id = ${input.orderId} and orders.checkout_session_id is null
        returning orders.id
      )
      select (select count(*) from s)::int as created, (select count(*) from o)::int as recorded`,
    );
    const created =
      Number(counts?.created) > 0
        ? { ...session, status: "open", paymentStatus: "unpaid", refundedMinor: 0, expiresAt }
        : undefined;
    if (created) return { ...this.toSession(created), recordedOnOrder: Number(counts?.recorded) > 0 };

    // Same key, same session: what Stripe's idempotency does for a retried create.
    const [row] = await this.db
      .select()
      .from(localCheckoutSessions)
      .where(eq(localCheckoutSessions.idempotencyKey, idempotencyKey));
    if (!row) throw new AppError("internal", "local checkout session was not stored");
    return this.toSession(row);
  }

  private byId: ReturnType<LocalGateway["prepareById"]> | null = null;

  private prepareById() {
    return this.db
      .select()
      .from(localCheckoutSessions)
      .where(eq(localCheckoutSessions.id, sql.placeholder("id")))
      .prepare("mq_local_session_by_id");
  }

  async retrieveCheckoutSession(id: string): Promise<CheckoutSession> {
    this.byId ??= this.prepareById();
    const [row] = await this.byId.execute({ id });
    if (!row) throw new AppError("not_found", `no such checkout session: ${id}`);
    return this.toSession(row);
  }

  /** The local page's view of a session: lines, total, where to go after. */
  async page(id: string) {
    const [row] = await this.db.select().from(localCheckoutSessions).where(eq(localCheckoutSessions.id, id));
    return row ?? null;
  }

  /**
   * The viewer pressed "Pay" on the local page: mark the session paid (once) and deliver a
   * signed `checkout.session.completed`. Returns where the browser goes next.
   */
  async pay(id: string): Promise<string> {
    const now = this.now();
    const paid = await this.db
      .update(localCheckoutSessions)
      .set({ status: "complete", paymentStatus: "paid" })
      .where(
        and(
          eq(localCheckoutSessions.id, id),
          eq(localCheckoutSessions.status, "open"),
          // As on Stripe, a session past its expiry takes no payment, swept or not.
          or(isNull(localCheckoutSessions.expiresAt), gt(localCheckoutSessions.expiresAt, now)),
        ),
      )
      .returning();
    if (!paid[0]) {
      const open = await this.page(id);
      if (open?.status === "open") await this.expire(id);
    }
    const row = paid[0] ?? (await this.page(id));
    if (!row) throw new AppError("not_found", `no such checkout session: ${id}`);
    if (row.status === "expired") throw new AppError("conflict", "this checkout session has expired");
    await this.emit("checkout.session.completed", row);
    return row.successUrl.replace("{CHECKOUT_SESSION_ID}", row.id);
  }

  /** Expire an open session (Stripe does this after 24 h) and deliver `checkout.session.expired`. */
  async expire(id: string): Promise<void> {
    const [row] = await this.db
      .update(localCheckoutSessions)
      .set({ status: "expired" })
      .where(and(eq(localCheckoutSessions.id, id), eq(localCheckoutSessions.status, "open")))
      .returning();
    if (row) await this.emit("checkout.session.expired", row);
  }

  expireCheckoutSession(id: string): Promise<void> {
    return this.expire(id);
  }

  /**
   * Expire every open session whose time is up, as Stripe does: its own `expires_at`, else
   * `maxAgeMs` after creation (Stripe's default is 24 hours).
   */
  async expireStale(maxAgeMs = DEFAULT_SESSION_MS): Promise<number> {
    const now = this.now();
    const stale = await this.db
      .select({ id: localCheckoutSessions.id })
      .from(localCheckoutSessions)
      .where(
        and(
          eq(localCheckoutSessions.status, "open"),
          or(
            lte(localCheckoutSessions.expiresAt, now),
            and(
              isNull(localCheckoutSessions.expiresAt),
              lt(localCheckoutSessions.createdAt, new Date(now.getTime() - maxAgeMs)),
            ),
          ),
        ),
      )
      .limit(1000);
    for (const { id } of stale) await this.expire(id);
    return stale.length;
  }

  async refund(
    input: { paymentIntent: string; amountMinor: number; reason: string; reverseTransfer: boolean },
    idempotencyKey: string,
  ): Promise<{ id: string; status: string }> {
    const updated = await this.db
      .update(localCheckoutSessions)
      .set({ refundedMinor: sql`${localCheckoutSessions.refundedMinor} + ${input.amountMinor}` })
      .where(
        and(
          eq(localCheckoutSessions.paymentIntent, input.paymentIntent),
          eq(localCheckoutSessions.paymentStatus, "paid"),
          sql`${localCheckoutSessions.refundedMinor} + ${input.amountMinor} <= ${localCheckoutSessions.amountTotal}`,
        ),
      )
      .returning({ id: localCheckoutSessions.id });
    if (updated.length === 0)
      throw new AppError(
        "conflict",
        "the payment cannot be refunded by that amount (unknown, unpaid or over-refunded)",
      );
    return { id: `re_local_${idempotencyKey.replace(/[^A-Za-z0-9]/g, "").slice(0, 40)}`, status: "succeeded" };
  }

  constructEvent(rawBody: string | Buffer, signature: string | undefined): WebhookEvent {
    return verifyStripeEvent(this.signer, rawBody, signature, this.options.webhookSecret);
  }

  /** Sign a payload with the local secret, as Stripe signs its deliveries. */
  sign(payload: string): string {
    return this.signer.webhooks.generateTestHeaderString({ payload, secret: this.options.webhookSecret });
  }

  async createConnectedAccount(): Promise<ConnectedAccount> {
    // Test mode: onboarding completes at once; there is no bank to verify.
    return { id: newId("acct_local"), chargesEnabled: true, payoutsEnabled: true };
  }

  async createAccountLink(input: { account: string; refreshUrl: string; returnUrl: string }): Promise<{ url: string }> {
    return { url: input.returnUrl };
  }

  async retrieveAccount(id: string): Promise<ConnectedAccount> {
    return { id, chargesEnabled: true, payoutsEnabled: true };
  }

  async retrievePaymentRefunds(paymentIntent: string): Promise<{ amountMinor: number; refundedMinor: number }> {
    const [row] = await this.db
      .select({ amount: localCheckoutSessions.amountTotal, refunded: localCheckoutSessions.refundedMinor })
      .from(localCheckoutSessions)
      .where(eq(localCheckoutSessions.paymentIntent, paymentIntent));
    if (!row) throw new AppError("not_found", `no such payment: ${paymentIntent}`);
    return { amountMinor: row.amount, refundedMinor: row.refunded };
  }

  async listPayouts(): Promise<Payout[]> {
    return [];
  }

  /**
   * The test page's address: on the store origin the viewer returns to (the checkout built its
   * success address from the origin they use), so the whole round trip stays on one host name;
   * the configured address when that cannot be read.
   */
  private pageUrl(id: string, successUrl: string): string {
    let origin: string;
    try {
      origin = new URL(successUrl).origin;
    } catch {
      origin = this.options.baseUrl;
    }
    return `${origin === "null" ? this.options.baseUrl : origin}/checkout/local/${id}`;
  }

  private toSession(row: typeof localCheckoutSessions.$inferSelect): CheckoutSession {
    return {
      id: row.id,
      url: this.pageUrl(row.id, row.successUrl),
      status: row.status as CheckoutSession["status"],
      paymentStatus: row.paymentStatus as CheckoutSession["paymentStatus"],
      amountTotal: row.amountTotal,
      currency: row.currency,
      paymentIntent: row.paymentIntent,
      metadata: row.metadata,
    };
  }

  private async emit(type: string, row: typeof localCheckoutSessions.$inferSelect): Promise<void> {
    if (!this.deliver) throw new AppError("internal", "the local gateway has no webhook handler wired");
    const session = this.toSession(row);
    const payload = JSON.stringify({
      id: newId("evt_local"),
      object: "event",
      type,
      created: Math.floor(this.now().getTime() / 1000),
      livemode: false,
      data: {
        object: {
          id: session.id,
          object: "checkout.session",
          status: session.status,
          payment_status: session.paymentStatus,
          amount_total: session.amountTotal,
          currency: session.currency?.toLowerCase(),
          payment_intent: session.paymentIntent,
          metadata: session.metadata,
          client_reference_id: session.metadata.order_id ?? null,
        },
      },
    });
    await this.deliver(payload, this.sign(payload));
  }
}
