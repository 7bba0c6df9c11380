import { reviewItemView } from "../../views.ts";
import type { RouteContext } from "../route-context.ts";
import { DecisionSchema, ItemsOf, RejectSchema, ReviewItemSchema, WithdrawSchema } from "../schemas.ts";

/** Title review: the queue, approve, send back, withdraw. */
export function adminRoutes({ app, api, commerce }: RouteContext): void {
  api.route(app, {
    method: "GET",
    path: "/admin/review",
    operationId: "reviewQueue",
    summary: "Titles waiting for review, oldest first",
    tag: "admin",
    role: "admin",
    auth: "viewer",
    response: { description: "Queue", schema: ItemsOf(ReviewItemSchema) },
    handler: async ({ viewer }) => ({ items: (await commerce.selling.reviewQueue(viewer)).map(reviewItemView) }),
  });
  api.route(app, {
    method: "POST",
    path: "/admin/titles/:id/approve",
    operationId: "approveTitle",
    summary: "Publish a title in review",
    tag: "admin",
    role: "admin",
    auth: "viewer",
    response: { description: "Published", schema: DecisionSchema },
    errors: [404, 409],
    handler: async ({ viewer, param }) => {
      await commerce.selling.approve(viewer, param("id"));
      return { title_id: param("id"), status: "published" };
    },
  });
  api.route(app, {
    method: "POST",
    path: "/admin/titles/:id/reject",
    operationId: "rejectTitle",
    summary: "Send a title in review back to its seller as a draft, with a note",
    tag: "admin",
    role: "admin",
    auth: "viewer",
    body: RejectSchema,
    response: { description: "Back to draft", schema: DecisionSchema },
    errors: [404, 409],
    handler: async ({ viewer, body, param }) => {
      await commerce.selling.reject(viewer, param("id"), body.note);
      return { title_id: param("id"), status: "draft" };
    },
  });
  api.route(app, {
    method: "POST",
    path: "/admin/titles/:id/withdraw",
    operationId: "withdrawTitle",
    summary: "Take a published title off sale (buyers keep what they bought)",
    tag: "admin",
    role: "admin",
    auth: "viewer",
    body: WithdrawSchema,
    response: { description: "Withdrawn", schema: DecisionSchema },
    errors: [404, 409],
    handler: async ({ viewer, body, param }) => {
      await commerce.selling.withdraw(viewer, param("id"), body.note ?? "");
      return { title_id: param("id"), status: "withdrawn" };
    },
  });
}
