import type { LibraryItem } from "@marquee/commerce";
import { ID_PATTERN } from "@marquee/contracts";
import { type ActionFunctionArgs, data, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { CsrfField } from "../components/csrf-field";
import { FormMessage } from "../components/form";
import { GrantNotice } from "../components/notices";
import { protectedForm } from "../lib/csrf.server";
import { attempt } from "../lib/errors.server";
import { formatDateTime, formatPrice, sentence } from "../lib/format";
import { requireViewer } from "../lib/session.server";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "library" };

export const meta: MetaFunction = () => [{ title: "Your library — Marquee" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const viewer = await requireViewer(request, context);
  // Commerce filters by the profile's age limit: a kids' profile sees only what it may play.
  const items = await context.services.commerce.library.list(viewer);
  return { items, profile: viewer.profile.name };
}

/**
 * POST intent=refund (entitlement_id). intent=play (title_id) still answers with a playback
 * grant for clients that post it; the page's Play opens the player (/watch/:id).
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const { form } = await protectedForm(request, context);
  const viewer = await requireViewer(request, context);
  const { library } = context.services.commerce;
  const intent = form.get("intent");
  if (intent === "play") {
    const titleId = String(form.get("title_id") ?? "");
    if (!ID_PATTERN.test(titleId)) throw data("Unknown title", { status: 400 });
    const r = await attempt(() => library.authorizePlayback(viewer, titleId));
    if (!r.ok) return data({ for: titleId, error: sentence(r.error.message) }, { status: r.error.status });
    return { for: titleId, grant: r.value };
  }
  if (intent === "refund") {
    const id = String(form.get("entitlement_id") ?? "");
    if (!ID_PATTERN.test(id)) throw data("Unknown purchase", { status: 400 });
    const r = await attempt(() => library.refund(viewer, id));
    if (!r.ok) return data({ for: id, error: sentence(r.error.message) }, { status: r.error.status });
    return {
      for: id,
      notice: `Refunded ${formatPrice(r.value.amount_minor, r.value.currency)} to your original payment method.`,
    };
  }
  throw data("Unknown action", { status: 400 });
}

/** Where a purchase or rental stands, in words. */
function statusText(i: LibraryItem): string {
  if (i.status === "refunded") return "Refunded";
  if (i.kind === "own") return "Owned";
  if (!i.playable) return i.problem ? sentence(i.problem) : "Ended";
  if (i.expires_at) return `Rented · watch until ${formatDateTime(i.expires_at)}`;
  if (i.start_by) return `Rented · start by ${formatDateTime(i.start_by)}`;
  return "Rented";
}

function Item({ item }: { item: LibraryItem }) {
  const result = useActionData<typeof action>();
  const nav = useNavigation();
  const busy = nav.state === "submitting";
  const mine = result && (result.for === item.title_id || result.for === item.entitlement_id) ? result : null;
  const ended = item.status === "refunded" || !item.playable;
  return (
    <li className={`library-item${ended ? " ended" : ""}`} data-entitlement={item.entitlement_id}>
      <Link to={`/titles/${encodeURIComponent(item.title_id)}`} className="library-poster" tabIndex={-1}>
        <img src={`/posters/${encodeURIComponent(item.title_id)}.svg`} alt="" width={80} height={120} loading="lazy" />
      </Link>
      <div className="library-body">
        <h2 className="library-title">
          <Link to={`/titles/${encodeURIComponent(item.title_id)}`}>{item.title}</Link>{" "}
          <span className="badge">{item.quality}</span>
        </h2>
        <p className="library-status">{statusText(item)}</p>
        <div className="library-actions">
          {item.status === "active" && item.playable ? (
            <Link to={`/watch/${encodeURIComponent(item.title_id)}`} className="button primary small">
              <span aria-hidden="true">▶</span> Play<span className="visually-hidden"> {item.title}</span>
            </Link>
          ) : null}
          {item.refundable ? (
            <Form method="post">
              <CsrfField />
              <input type="hidden" name="intent" value="refund" />
              <input type="hidden" name="entitlement_id" value={item.entitlement_id} />
              <button type="submit" className="button secondary small" disabled={busy}>
                Refund<span className="visually-hidden"> {item.title}</span>
              </button>
            </Form>
          ) : item.status === "active" && item.refund_problem ? (
            <p className="field-hint">No self-serve refund: {item.refund_problem}.</p>
          ) : null}
        </div>
        {item.status === "active" && item.kind === "rent" && !item.first_played_at && item.playable ? (
          <p className="field-hint">
            Your {item.watch_window_hours ?? 48}-hour watch window starts when the film starts playing.
          </p>
        ) : null}
        {mine && "error" in mine ? <FormMessage error={mine.error} /> : null}
        {mine && "notice" in mine ? <FormMessage notice={mine.notice} /> : null}
        {mine && "grant" in mine && mine.grant ? <GrantNotice grant={mine.grant} /> : null}
      </div>
    </li>
  );
}

export default function LibraryPage() {
  const { items, profile } = useLoaderData<typeof loader>();
  const owned = items.filter((i) => i.kind === "own");
  const rented = items.filter((i) => i.kind === "rent");
  return (
    <div className="page library-page">
      <h1>Your library</h1>
      <p className="lede">
        What you own and rent, as {profile} sees it. Films saved for later are on{" "}
        <Link to="/watchlist">your watchlist</Link>.
      </p>
      {items.length === 0 ? (
        <p>
          Nothing here yet. <Link to="/">Find something to watch</Link>.
        </p>
      ) : null}
      {rented.length > 0 ? (
        <section aria-labelledby="rented-heading">
          <h2 id="rented-heading" className="section-heading">
            Rentals
          </h2>
          <ul className="library-list">
            {rented.map((i) => (
              <Item key={i.entitlement_id} item={i} />
            ))}
          </ul>
        </section>
      ) : null}
      {owned.length > 0 ? (
        <section aria-labelledby="owned-heading">
          <h2 id="owned-heading" className="section-heading">
            Purchases
          </h2>
          <ul className="library-list">
            {owned.map((i) => (
              <Item key={i.entitlement_id} item={i} />
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}
