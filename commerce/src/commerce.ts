import type { Logger } from "@marquee/runtime";
import { Accounts } from "./accounts.ts";
import { Catalog, type CommerceDb } from "./catalog.ts";
import { Checkout } from "./checkout.ts";
import type { CommerceContext } from "./context.ts";
import { Fulfilment } from "./fulfilment.ts";
import { Library } from "./library.ts";
import type { PaymentGateway } from "./payments/gateway.ts";
import { Selling } from "./selling.ts";

export interface CommerceOptions {
  db: CommerceDb;
  gateway: PaymentGateway;
  log: Logger;
  /** Signs playback grants for the media origin. */
  playbackSecret: string;
  /** Platform fee for new sellers, basis points (default 1500 = 15 %). */
  platformFeeBps?: number;
  /** Sign-up and sign-in attempts per client per minute (see AccountsOptions); 0 = no limit. */
  authAttemptsPerMinute?: number;
  /**
   * Why a title's film is not ready to be reviewed (not uploaded, still transcoding, failed),
   * or null when it is: media's answer, handed in by the composition root. Without it, titles
   * are submitted without a film check.
   */
  filmProblem?: (titleId: string) => Promise<string | null>;
  now?: () => Date;
}

/** The store's server functions, one object per area, sharing one context. */
export class Commerce {
  readonly accounts: Accounts;
  readonly catalog: Catalog;
  readonly checkout: Checkout;
  readonly fulfilment: Fulfilment;
  readonly library: Library;
  readonly selling: Selling;
  readonly gateway: PaymentGateway;

  constructor(options: CommerceOptions) {
    const now = options.now ?? (() => new Date());
    this.gateway = options.gateway;
    this.accounts = new Accounts(options.db, {
      now,
      ...(options.authAttemptsPerMinute !== undefined
        ? { clientAttemptsPerMinute: options.authAttemptsPerMinute }
        : {}),
    });
    this.catalog = new Catalog(options.db);
    const ctx: CommerceContext = {
      db: options.db,
      gateway: options.gateway,
      accounts: this.accounts,
      log: options.log,
      now,
      platformFeeBps: options.platformFeeBps ?? 1500,
      ...(options.filmProblem ? { filmProblem: options.filmProblem } : {}),
    };
    this.fulfilment = new Fulfilment(ctx);
    this.checkout = new Checkout(ctx, this.fulfilment);
    this.library = new Library(ctx, options.playbackSecret);
    this.selling = new Selling(ctx);
    // A provider that delivers its own signed events (the local test checkout) sends them
    // through the very same handler as Stripe's webhook.
    options.gateway.onEvent?.((raw, signature) => this.fulfilment.handleWebhook(raw, signature));
  }

  /**
   * Housekeeping, run on a schedule: expired sessions and stale sign-in throttles go; in
   * embedded mode, unpaid local checkouts expire when their time is up as Stripe's do (their
   * orders expire and reserved promo redemptions are released, through the webhook handler).
   */
  async sweep(): Promise<{ expiredCheckouts: number }> {
    await this.accounts.sweep();
    const expiredCheckouts = (await this.gateway.expireStale?.()) ?? 0;
    return { expiredCheckouts };
  }
}
