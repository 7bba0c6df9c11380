import { z } from "zod";
import type { Viewer } from "../../accounts.ts";
import { PromoInputSchema, TitleDraftSchema } from "../../selling.ts";
import { promoView, sellerTitleSummaryView, sellerTitleView } from "../../views.ts";
import type { RouteContext } from "../route-context.ts";
import {
  BecomeSellerSchema,
  ItemsOf,
  OffersBodySchema,
  PayoutSchema,
  PromoSchema,
  SalesReportSchema,
  SellerAccountSchema,
  SellerTitleSchema,
  SellerTitleSummarySchema,
} from "../schemas.ts";

/** A seller's titles, offers, promo codes, sales and payouts. */
export function sellerRoutes({ app, api, commerce, base }: RouteContext): void {
  const seller = api.group(app, { tag: "seller", role: "seller", auth: "viewer" });
  /** A change to one of the seller's titles answers with the title as it is now. */
  const titleNow = async (viewer: Viewer, titleId: string) =>
    sellerTitleView(await commerce.selling.getTitle(viewer, titleId));

  // Opening the account is what gives the seller role, so this one route does not need it.
  api.route(app, {
    method: "POST",
    path: "/seller",
    operationId: "becomeSeller",
    summary: "Open a seller account (idempotent)",
    tag: "seller",
    auth: "viewer",
    body: BecomeSellerSchema,
    response: { status: 201, description: "Seller account", schema: z.object({ seller_id: z.string() }) },
    handler: ({ viewer, body }) => commerce.selling.becomeSeller(viewer, body.display_name),
  });
  seller({
    method: "GET",
    path: "/seller/titles",
    operationId: "sellerTitles",
    summary: "The seller's titles, most recently changed first",
    response: { description: "Titles", schema: ItemsOf(SellerTitleSummarySchema) },
    handler: async ({ viewer }) => ({
      items: (await commerce.selling.listTitles(viewer)).map(sellerTitleSummaryView),
    }),
  });
  seller({
    method: "POST",
    path: "/seller/titles",
    operationId: "createSellerTitle",
    summary: "Create a draft title",
    body: TitleDraftSchema,
    response: { status: 201, description: "Created", schema: z.object({ title_id: z.string() }) },
    handler: ({ viewer, body }) => commerce.selling.createTitle(viewer, body),
  });
  seller({
    method: "GET",
    path: "/seller/titles/:id",
    operationId: "getSellerTitle",
    summary: "One of the seller's titles with its offers (another seller's is 404)",
    response: { description: "The title", schema: SellerTitleSchema },
    errors: [404],
    handler: ({ viewer, param }) => titleNow(viewer, param("id")),
  });
  seller({
    method: "PUT",
    path: "/seller/titles/:id",
    operationId: "updateSellerTitle",
    summary: "Replace a title's metadata (not while in review); a published title's edit waits for review",
    description:
      "A draft or withdrawn title changes at once. A published title keeps its approved metadata live; the edit becomes its `revision`, listed in the admin review queue, applied when approved. Offers are not reviewed.",
    body: TitleDraftSchema,
    response: { description: "The title", schema: SellerTitleSchema },
    errors: [404, 409],
    handler: async ({ viewer, body, param }) => {
      await commerce.selling.updateTitle(viewer, param("id"), body);
      return titleNow(viewer, param("id"));
    },
  });
  seller({
    method: "PUT",
    path: "/seller/titles/:id/offers",
    operationId: "setOffers",
    summary: "Replace a title's offers: prices, rental windows, timed sales",
    body: OffersBodySchema,
    response: { description: "The title", schema: SellerTitleSchema },
    errors: [404],
    handler: async ({ viewer, body, param }) => {
      await commerce.selling.setOffers(viewer, param("id"), body.offers);
      return titleNow(viewer, param("id"));
    },
  });
  seller({
    method: "POST",
    path: "/seller/titles/:id/submit",
    operationId: "submitForReview",
    summary: "Send a draft (or withdrawn) title with at least one offer for review",
    response: { description: "The title, now in review", schema: SellerTitleSchema },
    errors: [404, 409],
    handler: async ({ viewer, param }) => {
      await commerce.selling.submitForReview(viewer, param("id"));
      return titleNow(viewer, param("id"));
    },
  });
  seller({
    method: "GET",
    path: "/seller/promos",
    operationId: "listPromos",
    summary: "The seller's promo codes",
    response: { description: "Promo codes", schema: ItemsOf(PromoSchema) },
    handler: async ({ viewer }) => ({ items: (await commerce.selling.listPromos(viewer)).map(promoView) }),
  });
  seller({
    method: "POST",
    path: "/seller/promos",
    operationId: "createPromo",
    summary: "Create a promo code (% or amount off; buy, rent or both; limits and dates)",
    body: PromoInputSchema,
    response: { status: 201, description: "Created", schema: z.object({ promo_id: z.string(), code: z.string() }) },
    errors: [404, 409],
    handler: ({ viewer, body }) => commerce.selling.createPromo(viewer, body),
  });
  seller({
    method: "GET",
    path: "/seller/sales",
    operationId: "salesReport",
    summary: "Gross, platform fee, refunds and net from the seller's ledger, overall and per title",
    response: { description: "Report", schema: SalesReportSchema },
    handler: ({ viewer }) => commerce.selling.salesReport(viewer),
  });
  seller({
    method: "POST",
    path: "/seller/onboarding",
    operationId: "onboardingLink",
    summary: "A Stripe Connect onboarding link (to get paid); open it in a browser",
    response: { description: "Link", schema: z.object({ url: z.string() }) },
    handler: ({ viewer }) =>
      commerce.selling.onboardingLink(viewer, {
        refreshUrl: `${base()}/seller?onboarding=retry`,
        returnUrl: `${base()}/seller?onboarding=done`,
      }),
  });
  seller({
    method: "GET",
    path: "/seller/account",
    operationId: "sellerAccount",
    summary: "The seller's payment account, re-read from Stripe",
    response: { description: "Account", schema: SellerAccountSchema },
    handler: ({ viewer }) => commerce.selling.refreshAccount(viewer),
  });
  seller({
    method: "GET",
    path: "/seller/payouts",
    operationId: "payouts",
    summary: "Recent payouts to the seller's bank",
    response: { description: "Payouts", schema: ItemsOf(PayoutSchema) },
    handler: async ({ viewer }) => ({ items: await commerce.selling.payouts(viewer) }),
  });
}
