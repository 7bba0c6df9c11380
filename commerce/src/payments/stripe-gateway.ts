import Stripe from "stripe";
import {
  type CheckoutSession,
  type ConnectedAccount,
  type CreateCheckoutInput,
  type PaymentGateway,
  type Payout,
  type WebhookEvent,
  WebhookSignatureError,
} from "./gateway.ts";

export interface StripeGatewayOptions {
  secretKey: string;
  webhookSecret: string;
  /** Another API host, e.g. stripe-mock at http://127.0.0.1:12111. */
  apiUrl?: string;
}

/** Stripe through its SDK: Checkout Sessions, refunds, Connect Express accounts. */
export class StripeGateway implements PaymentGateway {
  readonly provider = "stripe" as const;
  private readonly stripe: Stripe;

  constructor(private readonly options: StripeGatewayOptions) {
    const url = options.apiUrl ? new URL(options.apiUrl) : null;
    this.stripe = new Stripe(options.secretKey, {
      maxNetworkRetries: 2,
      timeout: 20_000,
      ...(url
        ? {
            host: url.hostname,
            port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
            protocol: url.protocol === "https:" ? "https" : "http",
          }
        : {}),
    });
  }

  async createCheckoutSession(input: CreateCheckoutInput, idempotencyKey: string): Promise<CheckoutSession> {
    const total = input.lines.reduce((s, l) => s + l.amountMinor, 0);
    const session = await this.stripe.checkout.sessions.create(
      {
        mode: "payment",
        client_reference_id: input.orderId,
        metadata: { order_id: input.orderId },
        line_items: input.lines.map((l) => ({
          quantity: 1,
          price_data: {
            currency: input.currency.toLowerCase(),
            unit_amount: l.amountMinor,
            product_data: { name: l.name },
          },
        })),
        success_url: input.successUrl,
        cancel_url: input.cancelUrl,
        ...(input.expiresAt ? { expires_at: Math.floor(input.expiresAt.getTime() / 1000) } : {}),
        ...(input.customerEmail ? { customer_email: input.customerEmail } : {}),
        payment_intent_data: {
          metadata: { order_id: input.orderId },
          ...(input.destination && total > 0
            ? {
                application_fee_amount: input.destination.applicationFeeMinor,
                transfer_data: { destination: input.destination.account },
              }
            : {}),
        },
      },
      { idempotencyKey },
    );
    return toSession(session);
  }

  async retrieveCheckoutSession(id: string): Promise<CheckoutSession> {
    return toSession(await this.stripe.checkout.sessions.retrieve(id));
  }

  async expireCheckoutSession(id: string): Promise<void> {
    try {
      await this.stripe.checkout.sessions.expire(id);
    } catch (err) {
      // Stripe refuses to expire a session that is no longer open (paid meanwhile, or expired
      // already): that is the outcome wanted, or the payment's own event wins. Anything else
      // (a bad key, an unknown id) is a real error.
      const current = await this.stripe.checkout.sessions.retrieve(id).catch(() => null);
      if (current && current.status !== "open") return;
      throw err;
    }
  }

  async refund(
    input: { paymentIntent: string; amountMinor: number; reason: string; reverseTransfer: boolean },
    idempotencyKey: string,
  ): Promise<{ id: string; status: string }> {
    const refund = await this.stripe.refunds.create(
      {
        payment_intent: input.paymentIntent,
        amount: input.amountMinor,
        reason: "requested_by_customer",
        metadata: { reason: input.reason.slice(0, 500) },
        ...(input.reverseTransfer ? { reverse_transfer: true, refund_application_fee: true } : {}),
      },
      { idempotencyKey },
    );
    return { id: refund.id, status: refund.status ?? "pending" };
  }

  constructEvent(rawBody: string | Buffer, signature: string | undefined): WebhookEvent {
    return verifyStripeEvent(this.stripe, rawBody, signature, this.options.webhookSecret);
  }

  async createConnectedAccount(
    input: { email: string; country: string },
    idempotencyKey: string,
  ): Promise<ConnectedAccount> {
    const account = await this.stripe.accounts.create(
      {
        type: "express",
        email: input.email,
        country: input.country,
        capabilities: { card_payments: { requested: true }, transfers: { requested: true } },
      },
      { idempotencyKey },
    );
    return toAccount(account);
  }

  async createAccountLink(input: { account: string; refreshUrl: string; returnUrl: string }): Promise<{ url: string }> {
    const link = await this.stripe.accountLinks.create({
      account: input.account,
      refresh_url: input.refreshUrl,
      return_url: input.returnUrl,
      type: "account_onboarding",
    });
    return { url: link.url };
  }

  async retrieveAccount(id: string): Promise<ConnectedAccount> {
    return toAccount(await this.stripe.accounts.retrieve(id));
  }

  async retrievePaymentRefunds(paymentIntent: string): Promise<{ amountMinor: number; refundedMinor: number }> {
    const pi = await this.stripe.paymentIntents.retrieve(paymentIntent, { expand: ["latest_charge"] });
    const charge = typeof pi.latest_charge === "object" && pi.latest_charge !== null ? pi.latest_charge : null;
    return { amountMinor: charge?.amount ?? pi.amount, refundedMinor: charge?.amount_refunded ?? 0 };
  }

  async listPayouts(account: string, limit = 20): Promise<Payout[]> {
    const list = await this.stripe.payouts.list({ limit }, { stripeAccount: account });
    return list.data.map((p) => ({
      id: p.id,
      amountMinor: p.amount,
      currency: p.currency.toUpperCase(),
      status: p.status,
      arrivalDate: new Date(p.arrival_date * 1000),
    }));
  }
}

function toSession(s: Stripe.Checkout.Session): CheckoutSession {
  return {
    id: s.id,
    url: s.url,
    status: (s.status ?? "open") as CheckoutSession["status"],
    paymentStatus: s.payment_status as CheckoutSession["paymentStatus"],
    amountTotal: s.amount_total,
    currency: s.currency ? s.currency.toUpperCase() : null,
    paymentIntent: typeof s.payment_intent === "string" ? s.payment_intent : (s.payment_intent?.id ?? null),
    metadata: (s.metadata ?? {}) as Record<string, string>,
  };
}

function toAccount(a: Stripe.Account): ConnectedAccount {
  return { id: a.id, chargesEnabled: a.charges_enabled ?? false, payoutsEnabled: a.payouts_enabled ?? false };
}

/**
 * Stripe's signature check over the raw body (the SDK's, with its timestamp tolerance), as a
 * `WebhookSignatureError` when it fails. Stripe and the local gateway verify alike.
 */
export function verifyStripeEvent(
  stripe: Stripe,
  rawBody: string | Buffer,
  signature: string | undefined,
  secret: string,
): WebhookEvent {
  if (!signature) throw new WebhookSignatureError("missing Stripe-Signature header");
  try {
    return stripe.webhooks.constructEvent(rawBody, signature, secret) as unknown as WebhookEvent;
  } catch (err) {
    throw new WebhookSignatureError(err instanceof Error ? err.message : "signature does not match");
  }
}
