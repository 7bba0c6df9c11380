import { ID_PATTERN } from "@marquee/contracts";
import { data, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData, useRevalidator } from "@remix-run/react";
import { useEffect } from "react";
import { orRespond } from "../lib/errors.server";
import { formatPrice } from "../lib/format";
import { audienceOf, requireViewer } from "../lib/session.server";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "order" };

export const meta: MetaFunction = () => [{ title: "Your order — Marquee" }];

/** How often a pending order is re-read while the payment is being confirmed, ms. */
const POLL_MS = 2_000;

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const viewer = await requireViewer(request, context);
  const id = params.id ?? "";
  if (!ID_PATTERN.test(id)) throw data("Order not found", { status: 404 });
  const { commerce, catalog } = context.services;
  // Another account's order is reported as missing.
  const order = await orRespond(() => commerce.library.order(viewer, id));
  const cards = await catalog.cards(
    order.items.map((i) => i.title_id),
    audienceOf(viewer),
  );
  const names = Object.fromEntries(cards.map((c) => [c.id, c.title]));
  return { order, names };
}

const STATUS: Record<string, string> = {
  paid: "Payment received",
  pending: "Waiting for your payment to be confirmed…",
  expired: "This checkout expired before it was paid; nothing was charged.",
  refunded: "Refunded",
  partially_refunded: "Partly refunded",
};

export default function OrderPage() {
  const { order, names } = useLoaderData<typeof loader>();
  const pending = order.status === "pending";
  const revalidator = useRevalidator();
  // While the payment provider's confirmation is on its way, re-read the order (JS only; the
  // page also offers a refresh link for browsers without it).
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => {
      if (revalidator.state === "idle") revalidator.revalidate();
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [pending, revalidator]);

  return (
    <div className="order-page">
      <p className="eyebrow">Order {order.order_id}</p>
      <h1 aria-live="polite">{STATUS[order.status] ?? order.status}</h1>
      {order.status === "paid" ? (
        <p className="lede">Thank you. It is in your library now, ready when you are.</p>
      ) : null}
      {pending ? (
        <p className="lede">
          This page updates by itself. <Link to=".">Refresh</Link>
          {order.checkout_url ? (
            <>
              {" "}
              or <a href={order.checkout_url}>go back to the payment page</a>
            </>
          ) : null}
          .
        </p>
      ) : null}
      <table className="data-table">
        <caption className="visually-hidden">What this order holds</caption>
        <thead>
          <tr>
            <th scope="col">Title</th>
            <th scope="col">What</th>
            <th scope="col" className="num">
              Price
            </th>
          </tr>
        </thead>
        <tbody>
          {order.items.map((i) => (
            <tr key={`${i.title_id}:${i.kind}:${i.quality}`}>
              <td>
                <Link to={`/titles/${encodeURIComponent(i.title_id)}`}>{names[i.title_id] ?? i.title_id}</Link>
              </td>
              <td>
                {i.kind === "buy" ? "Buy" : "Rent"} · {i.quality}
                {i.credit_minor > 0 ? ` (credit ${formatPrice(i.credit_minor, order.currency)})` : ""}
              </td>
              <td className="num">{formatPrice(i.price_minor, order.currency)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row" colSpan={2}>
              Total
            </th>
            <td className="num">{formatPrice(order.total_minor, order.currency)}</td>
          </tr>
        </tfoot>
      </table>
      <p className="actions">
        <Link to="/library" className="button primary">
          Go to your library
        </Link>
        <Link to="/orders" className="button secondary">
          All orders
        </Link>
      </p>
    </div>
  );
}
