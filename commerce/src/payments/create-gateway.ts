import type { CommerceDb } from "../catalog.ts";
import type { PaymentGateway } from "./gateway.ts";
import { LocalGateway } from "./local-gateway.ts";
import { StripeGateway } from "./stripe-gateway.ts";

export interface PaymentGatewayOptions {
  /** Commerce's database: the local gateway keeps its sessions there. */
  db: CommerceDb;
  /** Stripe's keys: both set → Stripe; neither → the local test checkout (config checks the pair). */
  stripeSecretKey?: string | undefined;
  stripeWebhookSecret?: string | undefined;
  /** Another Stripe API host (stripe-mock in tests). */
  stripeApiUrl?: string | undefined;
  /** Signs the local gateway's events (a generated secret in embedded mode). */
  localWebhookSecret: string;
  /** Where the store is served, read when needed (the port may be known only once listening). */
  publicUrl: () => string;
  now?: () => Date;
}

/**
 * The one place that decides which payment provider the store uses, from config: Stripe when
 * its keys are set, else the local test checkout. Everything else talks to `PaymentGateway`
 * and asks for optional capabilities (`onEvent`, `expireStale`, `localCheckout`), never for
 * the class it got.
 */
export function createPaymentGateway(options: PaymentGatewayOptions): PaymentGateway {
  if (options.stripeSecretKey && options.stripeWebhookSecret)
    return new StripeGateway({
      secretKey: options.stripeSecretKey,
      webhookSecret: options.stripeWebhookSecret,
      ...(options.stripeApiUrl ? { apiUrl: options.stripeApiUrl } : {}),
    });
  const { publicUrl } = options;
  return new LocalGateway(options.db, {
    webhookSecret: options.localWebhookSecret,
    // A getter: the local page's address follows the port the server ends up on.
    get baseUrl() {
      return publicUrl();
    },
    ...(options.now ? { now: options.now } : {}),
  });
}
