import { CheckoutRequestSchema } from "../../checkout.ts";
import type { RouteContext } from "../route-context.ts";
import { CheckoutResultSchema, QuoteSchema } from "../schemas.ts";

/** Pricing a cart and creating its order and payment session. */
export function checkoutRoutes({ app, api, commerce, base }: RouteContext): void {
  api.route(app, {
    method: "POST",
    path: "/checkout/quote",
    operationId: "quote",
    summary: "Price a cart now (sales, promo code, rent-to-own credit, upgrades) without buying",
    tag: "checkout",
    auth: "viewer",
    body: CheckoutRequestSchema,
    response: { description: "Quote", schema: QuoteSchema },
    errors: [404, 409],
    handler: ({ viewer, body }) => commerce.checkout.quote(viewer, body),
  });
  api.route(app, {
    method: "POST",
    path: "/checkout",
    operationId: "checkout",
    summary: "Create the order and its payment session; open checkout_url to pay",
    description:
      "The same cart checked out twice (concurrently or not) meets one pending order and one payment session. Titles of one seller per checkout. After paying, the browser returns to the store's order page; apps poll GET /orders/{id}.",
    tag: "checkout",
    auth: "viewer",
    body: CheckoutRequestSchema,
    response: { status: 201, description: "Order created", schema: CheckoutResultSchema },
    errors: [404, 409],
    handler: ({ viewer, body }) => {
      const first = body.items[0]?.title_id ?? "";
      return commerce.checkout.create(viewer, body, {
        successUrl: `${base()}/orders/{ORDER_ID}`,
        cancelUrl: `${base()}/titles/${encodeURIComponent(first)}`,
      });
    },
  });
}
