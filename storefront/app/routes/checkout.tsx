import { returnOrigin } from "@marquee/commerce/return-origin";
import { ID_PATTERN, type Quality } from "@marquee/contracts";
import {
  type ActionFunctionArgs,
  data,
  type LoaderFunctionArgs,
  type MetaFunction,
  redirect,
  redirectDocument,
} from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { CsrfField } from "../components/csrf-field";
import { Field, FormMessage } from "../components/form";
import { LicenceNotice } from "../components/notices";
import { protectedForm } from "../lib/csrf.server";
import { appErrorOf, attempt, publicBase } from "../lib/errors.server";
import { formatPrice, rentalTerms, sentence } from "../lib/format";
import { audienceOf, requireViewer } from "../lib/session.server";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "checkout" };

export const meta: MetaFunction = () => [{ title: "Check out — Marquee" }];

const QUALITIES: readonly Quality[] = ["SD", "HD", "4K"];

interface CartItem {
  title_id: string;
  kind: "buy" | "rent";
  quality: Quality;
}

/** The one-title cart a Buy or Rent button links to: `?title=…&kind=buy|rent&quality=SD|HD|4K`. */
function cartOf(params: URLSearchParams | FormData): CartItem | null {
  const title = String(params.get("title") ?? "");
  const kind = String(params.get("kind") ?? "");
  const quality = String(params.get("quality") ?? "") as Quality;
  if (!ID_PATTERN.test(title) || (kind !== "buy" && kind !== "rent") || !QUALITIES.includes(quality)) return null;
  return { title_id: title, kind, quality };
}

function promoOf(params: URLSearchParams | FormData): string | undefined {
  const code = String(params.get("promo") ?? "").trim();
  return code ? code.slice(0, 40) : undefined;
}

/**
 * The origin the payment page sends the viewer back to: the one they are using when the store
 * is known to answer there (localhost and 127.0.0.1 of a local store are both it, and each
 * keeps its own cookies), never a Host header the store does not know (see `returnOrigin`).
 */
function returnBase(request: Request, configured: string | undefined): string {
  return configured ? returnOrigin(new URL(request.url).host, configured) : publicBase(request, configured);
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  const viewer = await requireViewer(request, context);
  const { commerce, catalog } = context.services;
  const params = new URL(request.url).searchParams;
  const item = cartOf(params);
  if (!item) throw data("Pick a film to buy or rent first.", { status: 400 });
  // Back from the payment page without paying: the order is given up at once, so a promo
  // code use it held is free again (its session can no longer be paid). Best effort: if it
  // fails (another account's order id, the provider unreachable) the hold lapses on its own.
  const cancelledOrder = params.get("cancelled") === "1" ? String(params.get("order") ?? "") : "";
  let cancelled: "expired" | "paid" | null = null;
  if (ID_PATTERN.test(cancelledOrder)) {
    try {
      const r = await commerce.checkout.cancel(viewer, cancelledOrder);
      cancelled = r.status === "expired" ? "expired" : r.status === "pending" ? null : "paid";
    } catch (err) {
      if (!appErrorOf(err))
        context.services.log.warn({ err, orderId: cancelledOrder }, "cancelling a checkout failed; its hold lapses");
    }
  }
  const title = await catalog.title(item.title_id, audienceOf(viewer));
  if (!title) throw data("Title not found", { status: 404 });
  const promo = promoOf(params);
  let promoError: string | null = null;
  let quoted = await attempt(() =>
    commerce.checkout.quote(viewer, { items: [item], ...(promo ? { promo_code: promo } : {}) }),
  );
  if (!quoted.ok && promo) {
    // A bad code should not hide the price: quote without it and say what was wrong.
    promoError = sentence(quoted.error.message);
    quoted = await attempt(() => commerce.checkout.quote(viewer, { items: [item] }));
  }
  const offer = title.offers.find((o) => o.kind === item.kind && o.quality === item.quality) ?? null;
  return {
    item,
    title: { id: title.id, title: title.title, year: title.year, poster_url: title.poster_url },
    offer,
    quote: quoted.ok ? quoted.value : null,
    problem: quoted.ok ? null : sentence(quoted.error.message),
    promo: quoted.ok && promo && !promoError ? promo.toUpperCase() : null,
    promoTried: promo ?? "",
    promoError,
    needsPin: viewer.profile.has_pin || viewer.profile.kind === "kids",
    cancelled: params.get("cancelled") === "1",
    cancelledPaid: cancelled === "paid",
  };
}

/** POST: create the order and send the browser to pay (Stripe, or the local test page). */
export async function action({ request, context }: ActionFunctionArgs) {
  const { form } = await protectedForm(request, context);
  const viewer = await requireViewer(request, context);
  const item = cartOf(form);
  if (!item) throw data("Pick a film to buy or rent first.", { status: 400 });
  const promo = promoOf(form);
  const pin = String(form.get("pin") ?? "");
  const base = returnBase(request, context.services.publicUrl);
  const back = new URLSearchParams({ title: item.title_id, kind: item.kind, quality: item.quality });
  if (promo) back.set("promo", promo);
  back.set("cancelled", "1");
  const result = await attempt(() =>
    context.services.commerce.checkout.create(
      viewer,
      { items: [item], ...(promo ? { promo_code: promo } : {}), ...(pin ? { pin } : {}) },
      // Commerce fills in {ORDER_ID}; the order page confirms once the payment is recorded.
      { successUrl: `${base}/orders/{ORDER_ID}`, cancelUrl: `${base}/checkout?${back}&order={ORDER_ID}` },
    ),
  );
  if (!result.ok) {
    const pinProblem = result.error.code === "forbidden" && /PIN/i.test(result.error.message);
    return data(
      {
        error: pinProblem ? null : sentence(result.error.message),
        pinError: pinProblem ? "That PIN is not right." : null,
      },
      { status: result.error.status },
    );
  }
  const order = result.value;
  // Paying happens off the app (Stripe, or the local page Fastify serves): a full page load.
  if (order.checkout_url) return redirectDocument(order.checkout_url, 303);
  return redirect(`/orders/${encodeURIComponent(order.order_id)}`, 303);
}

export default function CheckoutPage() {
  const d = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const { item, title, quote, offer } = d;
  const currency = quote?.currency ?? offer?.currency ?? "USD";
  const line = quote?.lines[0];
  const verb = item.kind === "buy" ? "Buy" : "Rent";
  return (
    <div className="checkout-page">
      <h1>Check out</h1>
      {d.cancelledPaid ? (
        <p className="form-message notice">
          That order was paid before it could be cancelled: it is in <Link to="/library">your library</Link>.
        </p>
      ) : d.cancelled ? (
        <p className="form-message notice">
          Payment was cancelled; nothing was charged{d.promo ? ` and code ${d.promo} is free to use again` : ""}.
        </p>
      ) : null}
      <div className="checkout-grid">
        <section className="checkout-summary" aria-labelledby="summary-heading">
          <h2 id="summary-heading" className="offers-heading">
            Your order
          </h2>
          <div className="checkout-item">
            <img src={title.poster_url} alt="" width={80} height={120} />
            <div>
              <p className="checkout-title">
                <Link to={`/titles/${encodeURIComponent(title.id)}`}>{title.title}</Link> ({title.year})
              </p>
              <p>
                {verb} · {item.quality}
              </p>
              {item.kind === "rent" ? (
                <p className="offer-terms">
                  Rental:{" "}
                  {rentalTerms(
                    line?.rent_start_window_days ?? offer?.rent_start_window_days,
                    line?.rent_watch_window_hours ?? offer?.rent_watch_window_hours,
                  )}
                  .
                </p>
              ) : null}
            </div>
          </div>
          {quote && line ? (
            <dl className="totals">
              <div>
                <dt>Price</dt>
                <dd>{formatPrice(line.list_price_minor, currency)}</dd>
              </div>
              {quote.subtotal_minor < line.list_price_minor ? (
                <div>
                  <dt>Sale</dt>
                  <dd>−{formatPrice(line.list_price_minor - quote.subtotal_minor, currency)}</dd>
                </div>
              ) : null}
              {quote.discount_minor > 0 ? (
                <div>
                  <dt>Promo code {d.promo}</dt>
                  <dd>−{formatPrice(quote.discount_minor, currency)}</dd>
                </div>
              ) : null}
              {quote.credit_minor > 0 ? (
                <div>
                  <dt>{item.kind === "buy" ? "Credit (your rental or earlier purchase)" : "Credit"}</dt>
                  <dd>−{formatPrice(quote.credit_minor, currency)}</dd>
                </div>
              ) : null}
              <div className="total">
                <dt>Total</dt>
                <dd>{formatPrice(quote.total_minor, currency)}</dd>
              </div>
            </dl>
          ) : (
            <FormMessage error={d.problem ?? "This cannot be bought right now."} />
          )}
          {item.kind === "buy" ? <LicenceNotice /> : null}
        </section>

        {quote ? (
          <section className="checkout-pay" aria-label="Pay">
            <Form method="get" className="promo-form">
              <input type="hidden" name="title" value={item.title_id} />
              <input type="hidden" name="kind" value={item.kind} />
              <input type="hidden" name="quality" value={item.quality} />
              <Field
                label="Promo code"
                name="promo"
                defaultValue={d.promoTried}
                maxLength={40}
                autoComplete="off"
                error={d.promoError}
                hint={
                  d.promo
                    ? quote.promo_hold_minutes
                      ? `Code ${d.promo} applied. Its uses are limited: once you go to pay, one is held for you for ${quote.promo_hold_minutes} minutes, and given back if you cancel or do not pay by then.`
                      : `Code ${d.promo} applied.`
                    : undefined
                }
              />
              <button type="submit" className="button secondary small">
                Apply
              </button>
            </Form>
            <Form method="post" className="pay-form">
              <CsrfField />
              <input type="hidden" name="title" value={item.title_id} />
              <input type="hidden" name="kind" value={item.kind} />
              <input type="hidden" name="quality" value={item.quality} />
              {d.promo ? <input type="hidden" name="promo" value={d.promo} /> : null}
              {d.needsPin ? (
                <Field
                  label="Profile PIN"
                  name="pin"
                  type="password"
                  inputMode="numeric"
                  pattern="[0-9]{4,6}"
                  autoComplete="off"
                  required
                  hint="This profile asks for its PIN before buying."
                  error={result?.pinError}
                />
              ) : null}
              <FormMessage error={result?.error} />
              <button type="submit" className="button primary wide" disabled={busy}>
                {busy
                  ? "Creating your order…"
                  : quote.total_minor === 0
                    ? `Get it for ${formatPrice(0, currency)}`
                    : `Pay ${formatPrice(quote.total_minor, currency)}`}
              </button>
              <p className="field-hint">
                {item.kind === "rent"
                  ? "Not started yet and under 48 hours old? You can refund it yourself from your library."
                  : "Not played yet and under 48 hours old? You can refund it yourself from your library."}
              </p>
            </Form>
          </section>
        ) : null}
      </div>
    </div>
  );
}
