import { ID_PATTERN } from "@marquee/contracts";
import { type ActionFunctionArgs, data, type LoaderFunctionArgs, type MetaFunction, redirect } from "@remix-run/node";
import { Link, useActionData, useFetchers, useLoaderData } from "@remix-run/react";
import { FormMessage } from "../components/form";
import { PosterCard } from "../components/poster-card";
import { WatchlistButton } from "../components/watchlist-button";
import { protectedForm } from "../lib/csrf.server";
import { attempt } from "../lib/errors.server";
import { sentence } from "../lib/format";
import { audienceOf, getViewer, requireViewer, safeNext } from "../lib/session.server";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "watchlist" };

export const meta: MetaFunction = () => [{ title: "Your watchlist — Marquee" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const viewer = await requireViewer(request, context);
  const { services } = context;
  // Commerce keeps the list per profile and leaves out titles above its limit; the catalogue
  // applies the same audience again, so a title can never slip through one of the two.
  const ids = await services.commerce.library.watchlist(viewer);
  const cards = await services.catalog.cards(ids, audienceOf(viewer));
  return { cards, profile: viewer.profile.name };
}

/**
 * POST intent=add|remove, title_id, next. A browser without JavaScript is sent back to `next`
 * (303); the page's fetcher (via=fetcher) gets the new state and whether anything changed.
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const viewer = await getViewer(request, context);
  if (!viewer) {
    // Signed out: sign in first, then back to the page the button was on.
    let next = "/watchlist";
    try {
      next = safeNext((await request.formData()).get("next") ?? next);
    } catch {
      // An unreadable body still goes to sign in.
    }
    throw redirect(`/signin?next=${encodeURIComponent(next)}`);
  }
  const { form } = await protectedForm(request, context);
  const intent = form.get("intent");
  const titleId = String(form.get("title_id") ?? "");
  if ((intent !== "add" && intent !== "remove") || !ID_PATTERN.test(titleId))
    return data({ error: "Unknown watchlist action." }, { status: 400 });
  const { library } = context.services.commerce;
  const was = (await library.watchlist(viewer)).includes(titleId);
  const r = await attempt(() =>
    intent === "add" ? library.addToWatchlist(viewer, titleId) : library.removeFromWatchlist(viewer, titleId),
  );
  if (!r.ok) return data({ error: sentence(r.error.message) }, { status: r.error.status });
  const on = intent === "add";
  if (form.get("via") !== "fetcher") throw redirect(safeNext(form.get("next") ?? "/watchlist"), 303);
  return { title_id: titleId, on, changed: was !== on };
}

export default function WatchlistPage() {
  const { cards, profile } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  // A title being removed leaves the list at once; the reload after the post confirms it.
  const leaving = new Set(
    useFetchers()
      .filter((f) => f.formData?.get("intent") === "remove")
      .map((f) => String(f.formData?.get("title_id"))),
  );
  const shown = cards.filter((c) => !leaving.has(c.id));
  return (
    <div className="page watchlist-page">
      <h1>Your watchlist</h1>
      <p className="lede">
        Films {profile} wants to watch later. <Link to="/library">Your library</Link> has what you own and rent.
      </p>
      <FormMessage error={result && "error" in result ? result.error : null} />
      {shown.length === 0 ? (
        <p>
          Nothing on your watchlist yet. Press “Add to watchlist” on a film’s page to keep it here.{" "}
          <Link to="/">Find something to watch</Link>.
        </p>
      ) : (
        <ol className="card-grid" aria-label="Your watchlist">
          {shown.map((card, i) => (
            <li key={card.id} className="watchlist-item">
              <PosterCard card={card} row="watchlist" position={i} modelVersion="watchlist" />
              <WatchlistButton
                titleId={card.id}
                title={card.title}
                on
                next="/watchlist"
                compact
                className="button ghost small"
              />
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
