import { IdSchema } from "@marquee/contracts";
import { isAppError } from "@marquee/runtime";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { LocalCheckoutPages } from "../payments/gateway.ts";
import { originOf, refuseCrossSite } from "./cross-site.ts";
import { pageHeaders, renderLocalCheckoutPage, renderMessagePage } from "./local-checkout-page.ts";

/**
 * The local test checkout (embedded mode without Stripe keys), where `LocalGateway` sends the
 * viewer: GET shows the session, POST …/pay pays it (a signed event through the real webhook
 * handler) and 303s back to the store, POST …/cancel goes back without paying. As on Stripe's
 * page, the unguessable session id is what grants access; the store's session is not needed.
 */
export async function localCheckoutRoutes(
  app: FastifyInstance,
  options: { gateway: LocalCheckoutPages; publicUrl: () => string },
): Promise<void> {
  const { gateway } = options;
  const send = (reply: FastifyReply, status: number, html: string, redirectTargets: string[] = []) =>
    reply
      .code(status)
      .headers(pageHeaders(redirectTargets.map(originOf).filter((o): o is string => o !== null)))
      .send(html);
  const sessionId = (request: FastifyRequest) => IdSchema.safeParse((request.params as { id?: unknown }).id);
  const unknown = (reply: FastifyReply) =>
    send(
      reply,
      404,
      renderMessagePage("No such checkout", "This test checkout does not exist. Start again from the store."),
    );

  app.get("/checkout/local/:id", async (request, reply) => {
    const id = sessionId(request);
    const session = id.success ? await gateway.page(id.data) : null;
    if (!session) return unknown(reply);
    return send(reply, 200, renderLocalCheckoutPage(session), [session.successUrl, session.cancelUrl]);
  });

  app.post("/checkout/local/:id/pay", async (request, reply) => {
    refuseCrossSite(request, options.publicUrl());
    const id = sessionId(request);
    if (!id.success) return unknown(reply);
    try {
      return reply.redirect(await gateway.pay(id.data), 303);
    } catch (err) {
      if (!isAppError(err) || err.status >= 500) throw err;
      if (err.code === "not_found") return unknown(reply);
      return send(reply, err.status, renderMessagePage("Payment not taken", err.message));
    }
  });

  // Like Stripe's back link: back to the store's cancel address, which gives the order up
  // (`Checkout.cancel`: the session expires and a promo code use it held is free again).
  app.post("/checkout/local/:id/cancel", async (request, reply) => {
    refuseCrossSite(request, options.publicUrl());
    const id = sessionId(request);
    const session = id.success ? await gateway.page(id.data) : null;
    if (!session) return unknown(reply);
    return reply.redirect(session.cancelUrl, 303);
  });
}
