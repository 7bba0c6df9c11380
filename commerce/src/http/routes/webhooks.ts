import { firstHeader } from "../cross-site.ts";
import type { RouteContext } from "../route-context.ts";
import { WebhookReceivedSchema } from "../schemas.ts";

/** Stripe's events are a few KiB; generous for the largest checkout sessions. */
const WEBHOOK_BODY_LIMIT = 512 * 1024;

/** The Stripe webhook: the signature covers the raw bytes, so this scope never parses them. */
export async function webhookRoutes({ app, api, commerce }: RouteContext): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) =>
      done(null, body),
    );
    api.route(scope, {
      method: "POST",
      path: "/webhooks/stripe",
      operationId: "stripeWebhook",
      summary: "Stripe's event deliveries (checkout completed or expired, …)",
      description:
        "Verified on the raw body with the endpoint's signing secret; a bad signature answers 400 and changes nothing. A repeated or out-of-order event changes nothing either.",
      tag: "payments",
      auth: "none",
      rawBody: true,
      response: { description: "Received", schema: WebhookReceivedSchema },
      handler: async ({ request, body }) => {
        const raw = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
        const outcome = await commerce.fulfilment.handleWebhook(raw, firstHeader(request.headers["stripe-signature"]));
        request.log.info({ outcome }, "stripe webhook handled");
        return { received: true as const, result: outcome.result };
      },
    });
  });
}
