import { CheckoutRequestSchema } from "../../checkout.ts";
import { returnOrigin } from "../../return-origin.ts";
import type { RouteContext } from "../route-context.ts";
import { CancelResultSchema, CheckoutResultSchema, QuoteSchema } from "../schemas.ts";

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
      "The same cart checked out twice (concurrently or not) meets one pending order and one payment session. Titles of one seller per checkout. After paying, the browser returns to the store's order page; apps poll GET /orders/{id}. Return addresses use the origin of this request when it is one the store answers at (a local store's localhost, 127.0.0.1 and [::1] on its port), else the configured public address: the Host header is matched, never trusted. A promo code with limited uses is held by the unpaid checkout for promo_hold_minutes, then given back; POST /orders/{id}/cancel gives it back at once.",
    tag: "checkout",
    auth: "viewer",
    body: CheckoutRequestSchema,
    response: { status: 201, description: "Order created", schema: CheckoutResultSchema },
    errors: [404, 409],
    handler: ({ viewer, body, request }) => {
      const first = body.items[0]?.title_id ?? "";
      const origin = returnOrigin(request.headers.host, base());
      return commerce.checkout.create(viewer, body, {
        successUrl: `${origin}/orders/{ORDER_ID}`,
        cancelUrl: `${origin}/titles/${encodeURIComponent(first)}`,
      });
    },
  });
  api.route(app, {
    method: "POST",
    path: "/orders/:id/cancel",
    operationId: "cancelOrder",
    summary: "Give up an unpaid checkout: its payment session expires and a promo code use it held is free again",
    description:
      "Idempotent. An order already paid (or paid while cancelling) is not touched and says so in its status.",
    tag: "checkout",
    auth: "viewer",
    response: { description: "The order's status now", schema: CancelResultSchema },
    errors: [404],
    handler: ({ viewer, param }) => commerce.checkout.cancel(viewer, param("id")),
  });
}
