import type { CheckoutLineView, LibraryItem, Profile, Viewer } from "@marquee/commerce";
import type { Title } from "@marquee/contracts";
import type { CommerceServices } from "../app/context";

/**
 * An in-memory stand-in for commerce, enough for request-level tests and for looking at the
 * storefront without a database: accounts with plain-text passwords, profiles with PINs,
 * a one-step "payment", a library with rentals and self-serve refunds. It throws errors of
 * commerce's shape (`name` AppError, `code`, `status`), which is all the storefront reads.
 */
export class FakeAppError extends Error {
  readonly status: number;
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "AppError";
    this.status =
      { bad_request: 400, unauthorized: 401, forbidden: 403, not_found: 404, conflict: 409, rate_limited: 429 }[code] ??
      500;
  }
}

interface FakeUser {
  id: string;
  email: string;
  password: string;
  displayName: string;
  region: string;
  roles: Viewer["roles"];
  profiles: Array<Profile & { pin: string | null }>;
  failures: number;
}

interface FakeSession {
  userId: string;
  profileId: string;
  csrf: string;
  expiresAt: Date;
}

interface FakeEntitlement {
  id: string;
  userId: string;
  titleId: string;
  kind: "own" | "rent";
  quality: string;
  paid: number;
  currency: string;
  status: "active" | "refunded";
  acquiredAt: Date;
  startBy: Date | null;
  expiresAt: Date | null;
  firstPlayedAt: Date | null;
  watchHours: number | null;
}

interface FakeOrder {
  id: string;
  userId: string;
  status: "pending" | "paid" | "refunded";
  currency: string;
  total: number;
  lines: CheckoutLineView[];
  createdAt: Date;
  paidAt: Date | null;
}

const RANK: Record<string, number> = { G: 0, PG: 1, "PG-13": 2, R: 3, "NC-17": 4 };

export function ratingAllowed(rating: string, max: string | null | undefined): boolean {
  return max === null || max === undefined || (RANK[rating] ?? 99) <= (RANK[max] ?? -1);
}

let counter = 0;
const id = (prefix: string) =>
  `${prefix}_${(++counter).toString(36).padStart(6, "0")}${Math.random().toString(36).slice(2, 8)}`;
const token = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");

export interface FakeCommerce extends CommerceServices {
  users: Map<string, FakeUser>;
  sessions: Map<string, FakeSession>;
  entitlements: FakeEntitlement[];
  orders: Map<string, FakeOrder>;
  /** What the payment provider would report: marks the order paid and grants it. */
  pay(orderId: string): void;
  /** A signed-in session for a new account (returns the cookie token). */
  signedIn(options?: {
    kids?: string;
    roles?: Viewer["roles"];
    pin?: string;
  }): Promise<{ token: string; viewer: Viewer }>;
}

export function createFakeCommerce(titles: () => Title[]): FakeCommerce {
  const users = new Map<string, FakeUser>();
  const sessions = new Map<string, FakeSession>();
  const entitlements: FakeEntitlement[] = [];
  const orders = new Map<string, FakeOrder>();
  const tokenIds = new Map<string, string>();

  const viewerOf = (tok: string, s: FakeSession): Viewer | null => {
    const user = [...users.values()].find((u) => u.id === s.userId);
    const profile = user?.profiles.find((p) => p.id === s.profileId) ?? user?.profiles[0];
    if (!user || !profile) return null;
    const { pin: _pin, ...shown } = profile;
    return {
      sessionId: tokenIds.get(tok) ?? tok,
      userId: user.id,
      email: user.email,
      displayName: user.displayName,
      roles: user.roles,
      region: user.region,
      profile: shown,
      sellerId: user.roles.includes("seller") ? `s_${user.id}` : null,
      csrfToken: s.csrf,
      expiresAt: s.expiresAt,
    };
  };

  const open = (user: FakeUser, replaces?: string | null) => {
    if (replaces) sessions.delete(replaces);
    const tok = token();
    const session: FakeSession = {
      userId: user.id,
      profileId: user.profiles[0]?.id ?? "",
      csrf: token(),
      expiresAt: new Date(Date.now() + 30 * 86_400_000),
    };
    sessions.set(tok, session);
    tokenIds.set(tok, id("sess"));
    const viewer = viewerOf(tok, session);
    if (!viewer) throw new FakeAppError("internal", "no viewer");
    return { token: tok, viewer };
  };

  const sessionOf = (viewer: Viewer) => [...sessions.values()].find((s) => s.csrf === viewer.csrfToken);
  const userOf = (viewer: Viewer) => {
    const u = [...users.values()].find((x) => x.id === viewer.userId);
    if (!u) throw new FakeAppError("unauthorized", "sign in first");
    return u;
  };

  const titleFor = (viewer: Viewer, titleId: string) => {
    const t = titles().find((x) => x.id === titleId);
    if (!t || !ratingAllowed(t.age_rating, viewer.profile.max_age_rating))
      throw new FakeAppError("not_found", `title ${titleId} is not for sale`);
    return t;
  };

  const price = (viewer: Viewer, items: Array<{ title_id: string; kind: "buy" | "rent"; quality: string }>) => {
    const lines = items.map((item): CheckoutLineView => {
      const t = titleFor(viewer, item.title_id);
      const offer = t.offers.find((o) => o.kind === item.kind && o.quality === item.quality);
      if (!offer)
        throw new FakeAppError("bad_request", `“${t.title}” is not offered to ${item.kind} in ${item.quality}`);
      const mine = entitlements.filter(
        (e) => e.userId === viewer.userId && e.titleId === t.id && e.status === "active",
      );
      if (mine.some((e) => e.kind === "own")) throw new FakeAppError("conflict", `you already own “${t.title}”`);
      const rental = mine.find((e) => e.kind === "rent");
      const credit = item.kind === "buy" && rental ? Math.min(rental.paid, offer.price_minor) : 0;
      return {
        title_id: t.id,
        title: t.title,
        kind: item.kind,
        quality: item.quality,
        list_price_minor: offer.list_price_minor ?? offer.price_minor,
        price_minor: offer.price_minor - credit,
        discount_minor: 0,
        credit_minor: credit,
        rent_start_window_days: item.kind === "rent" ? (offer.rent_start_window_days ?? 30) : null,
        rent_watch_window_hours: item.kind === "rent" ? (offer.rent_watch_window_hours ?? 48) : null,
      };
    });
    const subtotal = lines.reduce((s, l) => s + l.price_minor + l.credit_minor, 0);
    const credit = lines.reduce((s, l) => s + l.credit_minor, 0);
    return {
      currency: "USD",
      subtotal_minor: subtotal,
      discount_minor: 0,
      credit_minor: credit,
      total_minor: subtotal - credit,
      lines,
    };
  };

  const item = (e: FakeEntitlement): LibraryItem => {
    const now = Date.now();
    const ended =
      e.status !== "active"
        ? "this order was refunded"
        : e.kind === "rent" && e.firstPlayedAt && e.expiresAt && e.expiresAt.getTime() <= now
          ? "this rental has ended: its watch window is over"
          : null;
    const refundProblem =
      e.status !== "active"
        ? "this was already refunded"
        : e.firstPlayedAt
          ? "it has been played, so it cannot be refunded here"
          : null;
    const t = titles().find((x) => x.id === e.titleId);
    return {
      entitlement_id: e.id,
      title_id: e.titleId,
      title: t?.title ?? e.titleId,
      age_rating: t?.age_rating ?? "G",
      kind: e.kind,
      quality: e.quality,
      status: e.status,
      acquired_at: e.acquiredAt.toISOString(),
      start_by: e.firstPlayedAt ? null : (e.startBy?.toISOString() ?? null),
      expires_at: e.expiresAt?.toISOString() ?? null,
      first_played_at: e.firstPlayedAt?.toISOString() ?? null,
      watch_window_hours: e.watchHours,
      playable: ended === null,
      problem: ended,
      refundable: refundProblem === null,
      refund_problem: refundProblem,
      position_s: null,
    };
  };

  const notInFake = async (): Promise<never> => {
    throw new FakeAppError("not_found", "not in the fake commerce");
  };
  const requireSeller = (viewer: Viewer) => {
    if (!viewer.roles.includes("seller")) throw new FakeAppError("forbidden", "this needs the seller role");
  };

  const fake: FakeCommerce = {
    users,
    sessions,
    entitlements,
    orders,
    pay(orderId) {
      const order = orders.get(orderId);
      if (order?.status !== "pending") return;
      order.status = "paid";
      order.paidAt = new Date();
      for (const l of order.lines) {
        const t = titles().find((x) => x.id === l.title_id);
        const offer = t?.offers.find((o) => o.kind === l.kind && o.quality === l.quality);
        entitlements.push({
          id: id("ent"),
          userId: order.userId,
          titleId: l.title_id,
          kind: l.kind === "buy" ? "own" : "rent",
          quality: l.quality,
          paid: l.price_minor,
          currency: order.currency,
          status: "active",
          acquiredAt: new Date(),
          startBy: l.kind === "rent" ? new Date(Date.now() + (offer?.rent_start_window_days ?? 30) * 86_400_000) : null,
          expiresAt: null,
          firstPlayedAt: null,
          watchHours: l.kind === "rent" ? (offer?.rent_watch_window_hours ?? 48) : null,
        });
      }
    },
    async signedIn(options = {}) {
      const email = `${id("user")}@example.com`;
      await fake.accounts.signUp({ email, password: "correct horse battery" });
      const user = users.get(email) as FakeUser;
      if (options.roles) user.roles = options.roles;
      if (options.pin) {
        const first = user.profiles[0];
        if (first) {
          first.pin = options.pin;
          first.has_pin = true;
        }
      }
      if (options.kids) {
        const kids = {
          id: id("p"),
          name: "Kid",
          kind: "kids" as const,
          max_age_rating: options.kids,
          has_pin: true,
          pin: "1234",
        };
        user.profiles.unshift(kids);
      }
      return open(user);
    },
    accounts: {
      async signUp(input, replaces) {
        const email = String(input.email).trim().toLowerCase();
        if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))
          throw new FakeAppError("bad_request", "email: must be an e-mail address");
        if ([...input.password].length < 12)
          throw new FakeAppError("bad_request", "password must be at least 12 characters");
        if (users.has(email)) throw new FakeAppError("conflict", "an account with this e-mail already exists");
        const displayName = input.display_name ?? email.split("@")[0] ?? "viewer";
        const user: FakeUser = {
          id: id("u"),
          email,
          password: input.password,
          displayName,
          region: input.region ?? "US",
          roles: ["viewer"],
          profiles: [
            { id: id("p"), name: displayName, kind: "standard", max_age_rating: null, has_pin: false, pin: null },
          ],
          failures: 0,
        };
        users.set(email, user);
        return open(user, replaces);
      },
      async signIn(input, replaces) {
        const user = users.get(input.email.trim().toLowerCase());
        if (user && user.failures >= 3)
          throw new FakeAppError("rate_limited", "too many failed sign-ins: try again in 30 s", {
            retryAfterSeconds: 30,
          });
        if (!user || user.password !== input.password) {
          if (user) user.failures++;
          throw new FakeAppError("unauthorized", "wrong e-mail or password");
        }
        user.failures = 0;
        return open(user, replaces);
      },
      async signOut(tok) {
        sessions.delete(tok);
      },
      async authenticate(tok) {
        const s = tok ? sessions.get(tok) : undefined;
        return tok && s && s.expiresAt.getTime() > Date.now() ? viewerOf(tok, s) : null;
      },
      async listProfiles(userId) {
        const user = [...users.values()].find((u) => u.id === userId);
        return (user?.profiles ?? []).map(({ pin: _pin, ...p }) => p);
      },
      async createProfile(viewer, input) {
        if (viewer.profile.kind === "kids")
          throw new FakeAppError("forbidden", "a kids' profile cannot manage profiles");
        if (input.kind === "kids" && !(input.max_age_rating && input.pin))
          throw new FakeAppError("bad_request", "a kids' profile needs an age limit and a purchase PIN");
        const p = {
          id: id("p"),
          name: input.name,
          kind: input.kind ?? "standard",
          max_age_rating: input.max_age_rating ?? null,
          has_pin: Boolean(input.pin),
          pin: input.pin ?? null,
        };
        userOf(viewer).profiles.push(p);
        const { pin: _pin, ...shown } = p;
        return shown;
      },
      async selectProfile(viewer, profileId, pin) {
        const user = userOf(viewer);
        const p = user.profiles.find((x) => x.id === profileId);
        if (!p) throw new FakeAppError("not_found", "no such profile");
        const from = user.profiles.find((x) => x.id === viewer.profile.id);
        if (viewer.profile.kind === "kids" && p.kind !== "kids") {
          const needed = p.pin ?? from?.pin ?? null;
          if (needed && needed !== pin)
            throw new FakeAppError("forbidden", "the PIN is needed to leave a kids' profile");
        }
        const s = sessionOf(viewer);
        if (s) s.profileId = p.id;
        const { pin: _pin, ...shown } = p;
        return shown;
      },
    },
    checkout: {
      async quote(viewer, request) {
        return price(viewer, request.items);
      },
      async create(viewer, request, urls) {
        const profile = userOf(viewer).profiles.find((p) => p.id === viewer.profile.id);
        if (profile?.pin && profile.pin !== request.pin)
          throw new FakeAppError("forbidden", "this profile needs its purchase PIN to buy");
        const q = price(viewer, request.items);
        const order: FakeOrder = {
          id: id("ord"),
          userId: viewer.userId,
          status: "pending",
          currency: q.currency,
          total: q.total_minor,
          lines: q.lines,
          createdAt: new Date(),
          paidAt: null,
        };
        orders.set(order.id, order);
        const paidNow = q.total_minor === 0;
        if (paidNow) fake.pay(order.id);
        return {
          order_id: order.id,
          status: paidNow ? "paid" : "pending",
          checkout_url: paidNow
            ? null
            : `${urls.successUrl.replace("/orders/{ORDER_ID}", "")}/checkout/local/cs_${order.id}`,
          ...q,
        };
      },
    },
    library: {
      async list(viewer) {
        return entitlements
          .filter((e) => e.userId === viewer.userId)
          .map(item)
          .filter((i) => ratingAllowed(i.age_rating, viewer.profile.max_age_rating));
      },
      async authorizePlayback(viewer, titleId) {
        titleFor(viewer, titleId);
        const e = entitlements.find(
          (x) => x.userId === viewer.userId && x.titleId === titleId && x.status === "active",
        );
        if (!e) throw new FakeAppError("forbidden", "you have not bought or rented this title");
        if (e.kind === "rent" && !e.firstPlayedAt) {
          e.firstPlayedAt = new Date();
          e.expiresAt = new Date(Date.now() + (e.watchHours ?? 48) * 3_600_000);
        }
        e.firstPlayedAt ??= new Date();
        return {
          entitlement_id: e.id,
          title_id: titleId,
          kind: e.kind,
          quality: e.quality,
          expires_at: e.expiresAt?.toISOString() ?? null,
          token: `grant.${e.id}`,
          token_expires_at: new Date(Date.now() + 600_000).toISOString(),
          resume_at_s: 0,
        };
      },
      async refund(viewer, entitlementId) {
        const e = entitlements.find((x) => x.id === entitlementId && x.userId === viewer.userId);
        if (!e) throw new FakeAppError("not_found", "no such purchase or rental");
        const problem = item(e).refund_problem;
        if (problem) throw new FakeAppError("conflict", `cannot refund: ${problem}`);
        e.status = "refunded";
        return { refund_id: id("rf"), amount_minor: e.paid, currency: e.currency };
      },
      async orders(viewer) {
        return [...orders.values()]
          .filter((o) => o.userId === viewer.userId)
          .map((o) => ({
            order_id: o.id,
            status: o.status,
            currency: o.currency,
            total_minor: o.total,
            discount_minor: 0,
            credit_minor: 0,
            created_at: o.createdAt.toISOString(),
            paid_at: o.paidAt?.toISOString() ?? null,
          }));
      },
      async order(viewer, orderId) {
        const o = orders.get(orderId);
        if (!o || o.userId !== viewer.userId) throw new FakeAppError("not_found", "no such order");
        return {
          order_id: o.id,
          status: o.status,
          currency: o.currency,
          total_minor: o.total,
          checkout_url: o.status === "pending" ? `/checkout/local/cs_${o.id}` : null,
          items: o.lines.map((l) => ({
            title_id: l.title_id,
            kind: l.kind,
            quality: l.quality,
            price_minor: l.price_minor,
            credit_minor: l.credit_minor,
          })),
        };
      },
    },
    selling: {
      async becomeSeller(viewer) {
        if (viewer.profile.kind === "kids") throw new FakeAppError("forbidden", "a kids' profile cannot sell");
        const u = userOf(viewer);
        if (!u.roles.includes("seller")) u.roles = [...u.roles, "seller"];
        return { seller_id: `s_${u.id}` };
      },
      async listTitles(viewer) {
        requireSeller(viewer);
        return [];
      },
      getTitle: notInFake,
      createTitle: notInFake,
      updateTitle: notInFake,
      setOffers: notInFake,
      submitForReview: notInFake,
      createPromo: notInFake,
      async listPromos(viewer) {
        requireSeller(viewer);
        return [];
      },
      async salesReport(viewer) {
        requireSeller(viewer);
        return {
          seller_id: `s_${viewer.userId}`,
          currency: "USD",
          gross_minor: 0,
          fee_minor: 0,
          refunds_minor: 0,
          net_minor: 0,
          sales: 0,
          refunds: 0,
          by_title: [],
        };
      },
      async onboardingLink(_viewer, urls) {
        return { url: urls.returnUrl };
      },
      async refreshAccount() {
        return { onboarded: false, charges_enabled: false, payouts_enabled: false };
      },
      async payouts() {
        return [];
      },
      async reviewQueue(viewer) {
        if (!viewer.roles.includes("admin")) throw new FakeAppError("forbidden", "this needs the admin role");
        return [];
      },
      approve: notInFake,
      reject: notInFake,
      withdraw: notInFake,
    },
  };
  return fake;
}
