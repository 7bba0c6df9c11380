import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { formatDateTime, formatPrice } from "../lib/format";
import { requireViewer } from "../lib/session.server";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "orders" };

export const meta: MetaFunction = () => [{ title: "Your orders — Marquee" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const viewer = await requireViewer(request, context);
  return { orders: await context.services.commerce.library.orders(viewer) };
}

const STATUS: Record<string, string> = {
  paid: "Paid",
  pending: "Awaiting payment",
  expired: "Expired (not charged)",
  refunded: "Refunded",
  partially_refunded: "Partly refunded",
};

export default function OrdersPage() {
  const { orders } = useLoaderData<typeof loader>();
  return (
    <div className="page">
      <h1>Your orders</h1>
      {orders.length === 0 ? (
        <p className="lede">
          No orders yet. <Link to="/">Find something to watch</Link>.
        </p>
      ) : (
        <table className="data-table">
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">Placed</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">
                Total
              </th>
            </tr>
          </thead>
          <tbody>
            {orders.map((o) => (
              <tr key={o.order_id}>
                <td>
                  <Link to={`/orders/${encodeURIComponent(o.order_id)}`}>{o.order_id}</Link>
                </td>
                <td>{formatDateTime(o.created_at)}</td>
                <td>{STATUS[o.status] ?? o.status}</td>
                <td className="num">{formatPrice(o.total_minor, o.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
