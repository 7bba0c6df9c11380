import { reviewItemView } from "../../views.ts";
import type { RouteContext } from "../route-context.ts";
import { ApproveSchema, DecisionSchema, ItemsOf, RejectSchema, ReviewItemSchema, WithdrawSchema } from "../schemas.ts";

/** Title review: the queue, approve, send back, withdraw. */
export function adminRoutes({ app, api, commerce }: RouteContext): void {
  const admin = api.group(app, { tag: "admin", role: "admin", auth: "viewer" });
  /** A decision's answer: which title, and the state it is in now. */
  const decision = (titleId: string, status: string) => ({ title_id: titleId, status });

  admin({
    method: "GET",
    path: "/admin/review",
    operationId: "reviewQueue",
    summary: "Titles waiting for review, oldest first: new titles, and published titles' edits with what changed",
    response: { description: "Queue", schema: ItemsOf(ReviewItemSchema) },
    handler: async ({ viewer }) => ({ items: (await commerce.selling.reviewQueue(viewer)).map(reviewItemView) }),
  });
  admin({
    method: "POST",
    path: "/admin/titles/:id/approve",
    operationId: "approveTitle",
    summary: "Publish a title in review, or apply a published title's edit (its revision_id)",
    description:
      "For a revision, the edit replaces the live metadata and a catalogue 'updated' event is announced; naming revision_id makes sure it is the edit the reviewer saw (409 if the seller changed it since).",
    body: ApproveSchema,
    response: { description: "Published", schema: DecisionSchema },
    errors: [404, 409],
    handler: async ({ viewer, body, param }) =>
      decision(param("id"), (await commerce.selling.approve(viewer, param("id"), body.revision_id)).status),
  });
  admin({
    method: "POST",
    path: "/admin/titles/:id/reject",
    operationId: "rejectTitle",
    summary: "Send a title in review back to draft, or a published title's edit back, with a note",
    description: "A published title's edit is discarded from review; the approved version stays live and published.",
    body: RejectSchema,
    response: { description: "Back to draft", schema: DecisionSchema },
    errors: [404, 409],
    handler: async ({ viewer, body, param }) =>
      decision(param("id"), (await commerce.selling.reject(viewer, param("id"), body.note, body.revision_id)).status),
  });
  admin({
    method: "POST",
    path: "/admin/titles/:id/withdraw",
    operationId: "withdrawTitle",
    summary: "Take a published title off sale (buyers keep what they bought)",
    body: WithdrawSchema,
    response: { description: "Withdrawn", schema: DecisionSchema },
    errors: [404, 409],
    handler: async ({ viewer, body, param }) => {
      await commerce.selling.withdraw(viewer, param("id"), body.note ?? "");
      return decision(param("id"), "withdrawn");
    },
  });
}
