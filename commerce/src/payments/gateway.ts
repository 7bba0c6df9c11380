/**
 * What commerce needs from a payment provider, in Stripe's terms. Two implementations share
 * the webhook handler: `StripeGateway` (Stripe, or stripe-mock in tests) and `LocalGateway`
 * (embedded mode without keys: a local test checkout page producing Stripe-shaped events
 * signed with a local secret).
 */
export interface CheckoutLine {
  name: string;
  /** What the viewer pays for this line, minor units. */
  amountMinor: number;
}

export interface CreateCheckoutInput {
  orderId: string;
  currency: string;
  lines: CheckoutLine[];
  customerEmail?: string;
  successUrl: string;
  cancelUrl: string;
  /** Connect destination charge: the seller's account and the platform's fee. */
  destination?: { account: string; applicationFeeMinor: number };
  /**
   * When the session stops taking payment (Stripe accepts 30 minutes to 24 hours after
   * creation; unset: 24 hours). Checkouts that hold something scarce, such as a promo code's
   * limited uses, expire sooner so an abandoned one gives it back.
   */
  expiresAt?: Date;
}

export interface CheckoutSession {
  id: string;
  url: string | null;
  status: "open" | "complete" | "expired";
  paymentStatus: "paid" | "unpaid" | "no_payment_required";
  amountTotal: number | null;
  currency: string | null;
  paymentIntent: string | null;
  metadata: Record<string, string>;
  /**
   * True when creating the session also recorded it on its order (the local gateway, whose
   * sessions live in the same database, does both in one statement), so the caller need not.
   */
  recordedOnOrder?: boolean;
}

/** A verified webhook event: Stripe's envelope, with the object left for the handler to read. */
export interface WebhookEvent {
  id: string;
  type: string;
  created: number;
  data: { object: { id?: string; object?: string; [key: string]: unknown } };
}

export interface ConnectedAccount {
  id: string;
  chargesEnabled: boolean;
  payoutsEnabled: boolean;
}

export interface Payout {
  id: string;
  amountMinor: number;
  currency: string;
  status: string;
  arrivalDate: Date;
}

export interface PaymentGateway {
  readonly provider: "stripe" | "local";
  /** `idempotencyKey` is stored on the order before this call; a retry returns the same session. */
  createCheckoutSession(input: CreateCheckoutInput, idempotencyKey: string): Promise<CheckoutSession>;
  retrieveCheckoutSession(id: string): Promise<CheckoutSession>;
  refund(
    input: { paymentIntent: string; amountMinor: number; reason: string; reverseTransfer: boolean },
    idempotencyKey: string,
  ): Promise<{ id: string; status: string }>;
  /** Verify the signature over the raw body; throws `WebhookSignatureError` when it does not hold. */
  constructEvent(rawBody: string | Buffer, signature: string | undefined): WebhookEvent;
  createConnectedAccount(input: { email: string; country: string }, idempotencyKey: string): Promise<ConnectedAccount>;
  createAccountLink(input: { account: string; refreshUrl: string; returnUrl: string }): Promise<{ url: string }>;
  retrieveAccount(id: string): Promise<ConnectedAccount>;
  listPayouts(account: string, limit?: number): Promise<Payout[]>;
  /** How much of a payment the provider says was captured and refunded (minor units). */
  retrievePaymentRefunds(paymentIntent: string): Promise<{ amountMinor: number; refundedMinor: number }>;
  /**
   * Stop an open session taking payment (the viewer cancelled). The provider then sends
   * `checkout.session.expired`; a session already paid or expired is left as it is.
   */
  expireCheckoutSession(id: string): Promise<void>;

  // Optional capabilities: what only some providers need. Callers test for the capability,
  // never for the class, so a new provider needs no change elsewhere.

  /**
   * Providers that deliver their own events in-process (the local test checkout) are given
   * the webhook handler here by the composition root; Stripe POSTs to the webhook instead.
   */
  onEvent?(deliver: DeliverEvent): void;
  /** Housekeeping for providers that keep sessions themselves: expire the stale ones. */
  expireStale?(): Promise<number>;
  /** The test checkout pages a provider without its own hosted page needs served. */
  readonly localCheckout?: LocalCheckoutPages;
}

/** Delivers a signed event through the webhook handler, exactly as Stripe's POST would. */
export type DeliverEvent = (rawBody: string, signature: string) => Promise<unknown>;

/** A locally hosted checkout session, as its test page shows it. */
export interface LocalCheckoutSessionView {
  id: string;
  status: string;
  paymentStatus: string;
  amountTotal: number;
  currency: string;
  lineItems: { name: string; amount: number }[];
  successUrl: string;
  cancelUrl: string;
}

/** What the local test checkout pages call: show a session, pay it, give up on it. */
export interface LocalCheckoutPages {
  page(id: string): Promise<LocalCheckoutSessionView | null>;
  /** Pays the session once and returns where the browser goes next. */
  pay(id: string): Promise<string>;
  expire(id: string): Promise<void>;
}

export class WebhookSignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebhookSignatureError";
  }
}
