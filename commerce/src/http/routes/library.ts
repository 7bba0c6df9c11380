import type { RouteContext } from "../route-context.ts";
import {
  ItemsOf,
  LibraryItemSchema,
  OrderSchema,
  OrderSummarySchema,
  RefundRequestSchema,
  RefundSchema,
} from "../schemas.ts";

/** What the viewer owns and rents, their orders and self-serve refunds. */
export function libraryRoutes({ app, api, commerce }: RouteContext): void {
  api.route(app, {
    method: "GET",
    path: "/library",
    operationId: "library",
    summary: "What the viewer owns and rents, with playability and refund eligibility",
    tag: "library",
    auth: "viewer",
    response: { description: "Library", schema: ItemsOf(LibraryItemSchema) },
    handler: async ({ viewer }) => ({ items: await commerce.library.list(viewer) }),
  });
  api.route(app, {
    method: "GET",
    path: "/orders",
    operationId: "listOrders",
    summary: "The viewer's last 100 orders, newest first",
    tag: "library",
    auth: "viewer",
    response: { description: "Orders", schema: ItemsOf(OrderSummarySchema) },
    handler: async ({ viewer }) => ({ items: await commerce.library.orders(viewer) }),
  });
  api.route(app, {
    method: "GET",
    path: "/orders/:id",
    operationId: "getOrder",
    summary: "One of the viewer's orders (poll it after checkout: pending → paid)",
    tag: "library",
    auth: "viewer",
    response: { description: "The order", schema: OrderSchema },
    errors: [404],
    handler: ({ viewer, param }) => commerce.library.order(viewer, param("id")),
  });
  api.route(app, {
    method: "POST",
    path: "/library/:entitlementId/refund",
    operationId: "refund",
    summary: "Self-serve refund of a purchase or rental never played and under 48 hours old",
    tag: "library",
    auth: "viewer",
    body: RefundRequestSchema,
    response: { description: "Refunded", schema: RefundSchema },
    errors: [404, 409],
    handler: ({ viewer, body, param }) => commerce.library.refund(viewer, param("entitlementId"), body.reason),
  });
}
