import type { LibraryItem } from "@marquee/commerce";
import { ID_PATTERN, type Offer, type Quality } from "@marquee/contracts";
import type { TrailerPlayback } from "@marquee/media";
import { data, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { isRouteErrorResponse, Link, useLoaderData, useRouteError } from "@remix-run/react";
import { useState } from "react";
import { LicenceNotice } from "../components/notices";
import { Shelf } from "../components/shelf";
import { TrailerButton } from "../components/trailer-button";
import { WatchlistButton } from "../components/watchlist-button";
import { formatDateTime, formatPrice, formatRuntime, rentalTerms, sentence } from "../lib/format";
import { holdingOf } from "../lib/holding";
import { playerStylesheets } from "../lib/player-styles";
import { actorOf, audienceOf } from "../lib/session.server";
import { toShelves } from "../lib/shelves.server";
import { type OfferState, offerStates } from "../lib/title-offers.server";
import { track } from "../lib/track.client";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "title" };

// The trailer plays in this page (an overlay), so video.js's stylesheet comes with it.
export const links: LinksFunction = () => playerStylesheets;

const QUALITY_ORDER: Record<Quality, number> = { SD: 0, HD: 1, "4K": 2 };
const SIMILAR_LIMIT = 20;

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const { services } = context;
  const id = params.id ?? "";
  if (!ID_PATTERN.test(id)) throw data("Title not found", { status: 404 });
  const actor = await actorOf(request, context);
  const { viewer } = actor;
  // A title above a kids' profile's limit is a 404, exactly like one that does not exist.
  const audience = audienceOf(viewer);
  const [title, similar, library, watchlist, trailer] = await Promise.all([
    services.catalog.title(id, audience),
    services.serving.similar(id, { limit: SIMILAR_LIMIT + 1, actorId: actor.id, audience }).catch((err: unknown) => {
      // The page is still worth showing without its "More like this" shelf.
      services.log.warn({ err, item_id: id }, "similar titles unavailable");
      return null;
    }),
    viewer ? services.commerce.library.list(viewer) : Promise.resolve([] as LibraryItem[]),
    viewer ? services.commerce.library.watchlist(viewer) : Promise.resolve([] as string[]),
    // (Through a promise: even a service that throws at once only costs the trailer.)
    Promise.resolve()
      .then(() => services.media.trailer(id, audience))
      .catch((err: unknown): TrailerPlayback | null => {
        // Without its trailer the page still sells the film.
        services.log.warn({ err, item_id: id }, "trailer unavailable");
        return null;
      }),
  ]);
  if (!title) throw data("Title not found", { status: 404 });
  const mine = library.filter((i) => i.title_id === id);
  const states = viewer ? await offerStates(services.commerce, viewer, id, title.offers, mine) : [];
  const [more] = similar
    ? await toShelves(
        services.catalog,
        [
          {
            id: "more-like-this",
            title: "More like this",
            reason: "",
            model_version: similar.model_version,
            variant: similar.variant,
            experiment: similar.experiment,
            items: similar.items.filter((i) => i.id !== id).slice(0, SIMILAR_LIMIT),
          },
        ],
        audience,
      )
    : [];
  // A trailer that failed to transcode is the seller's to fix: viewers see no button at all.
  const shownTrailer =
    trailer && trailer.status !== "failed" && (trailer.status === "preparing" || trailer.hls_url) ? trailer : null;
  return { title, more: more ?? null, mine, states, onWatchlist: watchlist.includes(id), trailer: shownTrailer };
}

export const meta: MetaFunction<typeof loader> = ({ data }) => {
  if (!data) return [{ title: "Title not found — Marquee" }];
  const t = data.title;
  return [
    { title: `${t.title} (${t.year}) — Marquee` },
    { name: "description", content: t.synopsis.slice(0, 160) },
    { property: "og:title", content: t.title },
    { property: "og:image", content: t.poster_url },
  ];
};

function checkoutHref(titleId: string, o: Pick<Offer, "kind" | "quality">): string {
  return `/checkout?${new URLSearchParams({ title: titleId, kind: o.kind, quality: o.quality })}`;
}

function Price({ offer }: { offer: Offer }) {
  const now = formatPrice(offer.price_minor, offer.currency);
  if (offer.list_price_minor === undefined || offer.list_price_minor <= offer.price_minor) {
    return <span className="price">{now}</span>;
  }
  const was = formatPrice(offer.list_price_minor, offer.currency);
  return (
    <span className="price-block">
      <del className="list-price">
        <span className="visually-hidden">Was </span>
        {was}
      </del>{" "}
      <span className="price sale">
        <span className="visually-hidden">now </span>
        {now}
      </span>
      <span className="sale-note">
        {offer.sale_ends_at ? `Sale ends ${formatDateTime(offer.sale_ends_at)}` : "On sale"}
      </span>
    </span>
  );
}

function OfferRow({ titleId, offer, state }: { titleId: string; offer: Offer; state: OfferState | undefined }) {
  const verb = offer.kind === "buy" ? "Buy" : "Rent";
  const status = state?.status ?? "available";
  const credit = state?.credit ?? null;
  return (
    <li className="offer">
      <div className="offer-what">
        <span className="offer-kind">{verb}</span> <span className="badge">{offer.quality}</span>
      </div>
      <div className="offer-price">
        {credit ? (
          <span className="price-block">
            <del className="list-price">
              <span className="visually-hidden">Was </span>
              {formatPrice(offer.price_minor, offer.currency)}
            </del>{" "}
            <span className="price sale">{formatPrice(credit.pay_minor, offer.currency)}</span>
            <span className="sale-note">
              {credit.reason === "upgrade"
                ? `Upgrade from ${credit.from_quality}: you pay the difference`
                : `Rent-to-own: your rental's ${formatPrice(credit.credit_minor, offer.currency)} counts towards buying it`}
            </span>
          </span>
        ) : (
          <Price offer={offer} />
        )}
      </div>
      {offer.kind === "rent" ? (
        <p className="offer-terms">{rentalTerms(offer.rent_start_window_days, offer.rent_watch_window_hours)}</p>
      ) : null}
      <div className="offer-action">
        {status === "owned" ? (
          <span className="owned-tag">Owned</span>
        ) : status === "renting" ? (
          <span className="owned-tag">Renting</span>
        ) : status === "own-instead" ? (
          <span className="muted">You own this film</span>
        ) : (
          <Link to={checkoutHref(titleId, offer)} className="button primary small">
            {credit?.reason === "upgrade" ? `Upgrade to ${offer.quality}` : `${verb} ${offer.quality}`}
            <span className="visually-hidden">
              {" "}
              for {formatPrice(credit?.pay_minor ?? offer.price_minor, offer.currency)}
            </span>
          </Link>
        )}
      </div>
    </li>
  );
}

function OffersPanel({ titleId, offers, states }: { titleId: string; offers: Offer[]; states: OfferState[] }) {
  if (offers.length === 0) {
    return <p className="offers-none">This title is not on sale right now.</p>;
  }
  const sorted = [...offers].sort(
    (a, b) =>
      Number(a.kind === "buy") - Number(b.kind === "buy") || QUALITY_ORDER[a.quality] - QUALITY_ORDER[b.quality],
  );
  const stateOf = (o: Offer) => states.find((s) => s.kind === o.kind && s.quality === o.quality);
  return (
    <section className="offers" aria-labelledby="offers-heading">
      <h2 id="offers-heading" className="offers-heading">
        Buy or rent
      </h2>
      <ul className="offer-list">
        {sorted.map((o) => (
          <OfferRow key={`${o.kind}:${o.quality}`} titleId={titleId} offer={o} state={stateOf(o)} />
        ))}
      </ul>
      {offers.some((o) => o.kind === "buy") ? <LicenceNotice /> : null}
    </section>
  );
}

function holdingText(item: LibraryItem): string {
  if (item.kind === "own") return `You own this film in ${item.quality}.`;
  if (item.expires_at) return `You're renting this in ${item.quality}: watch until ${formatDateTime(item.expires_at)}.`;
  if (item.start_by)
    return `You're renting this in ${item.quality}: start watching by ${formatDateTime(item.start_by)}.`;
  return `You're renting this in ${item.quality}.`;
}

function WatchPanel({ titleId, items }: { titleId: string; items: LibraryItem[] }) {
  const holding = holdingOf(items);
  const shown = holding.owned ?? holding.renting;
  if (!shown) {
    const ended = items.find((i) => i.status === "active" && !i.playable);
    return ended?.problem ? <p className="watch-note">{sentence(ended.problem)}</p> : null;
  }
  const startsWindow = !holding.owned && holding.renting && !holding.renting.first_played_at;
  return (
    <section className="watch-panel" aria-labelledby="watch-heading">
      <h2 id="watch-heading" className="offers-heading">
        In your library
      </h2>
      <p>{holdingText(shown)}</p>
      {holding.playable ? (
        <div>
          <Link to={`/watch/${encodeURIComponent(titleId)}`} className="button primary">
            <span aria-hidden="true">▶</span> Play
          </Link>
          {startsWindow ? (
            <p className="field-hint">
              Your {holding.renting?.watch_window_hours ?? 48}-hour watch window starts when the film starts playing.
            </p>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}

export default function TitlePage() {
  const { title: t, more, mine, states, onWatchlist, trailer } = useLoaderData<typeof loader>();
  const [dismissed, setDismissed] = useState(false);

  const notInterested = () => {
    if (dismissed) return;
    track({ type: "not_interested", item_id: t.id, payload: {} }, { flush: true });
    setDismissed(true);
  };

  return (
    <article className="title-page" key={t.id}>
      <div className="hero">
        <img className="hero-backdrop" src={t.poster_url} alt="" aria-hidden="true" />
        <div className="hero-inner">
          <img className="hero-poster" src={t.poster_url} alt={`Poster for ${t.title}`} width={400} height={600} />
          <div className="hero-info">
            <h1 className="hero-title">{t.title}</h1>
            <p className="hero-facts">
              <span>{t.year}</span>
              <span>{formatRuntime(t.runtime_min)}</span>
              <span className="badge" title="Age rating">
                {t.age_rating}
              </span>
            </p>
            {t.genres.length > 0 ? (
              <ul className="genres" aria-label="Genres">
                {t.genres.map((g) => (
                  <li key={g}>{g}</li>
                ))}
              </ul>
            ) : null}
            <p className="synopsis">{t.synopsis}</p>
            <div className="actions">
              {trailer ? <TrailerButton titleId={t.id} title={t.title} trailer={trailer} /> : null}
              <WatchlistButton titleId={t.id} title={t.title} on={onWatchlist} next={`/titles/${t.id}`} />
              <button type="button" className="button ghost" onClick={notInterested} aria-pressed={dismissed}>
                {dismissed ? "Noted" : "Not interested"}
              </button>
            </div>
            <p className="action-status" aria-live="polite">
              {dismissed ? "Got it. We'll show you fewer titles like this one." : ""}
            </p>
            <dl className="credits">
              {t.director ? (
                <div>
                  <dt>Director</dt>
                  <dd>{t.director}</dd>
                </div>
              ) : null}
              {t.cast.length > 0 ? (
                <div>
                  <dt>Cast</dt>
                  <dd>{t.cast.join(", ")}</dd>
                </div>
              ) : null}
            </dl>
            <WatchPanel titleId={t.id} items={mine} />
            <OffersPanel titleId={t.id} offers={t.offers} states={states} />
          </div>
        </div>
      </div>

      {more ? (
        <Shelf
          id={more.id}
          title={more.title}
          modelVersion={more.model_version}
          variant={more.variant}
          cards={more.cards}
        />
      ) : null}
    </article>
  );
}

export function ErrorBoundary() {
  const error = useRouteError();
  const notFound = isRouteErrorResponse(error) && error.status === 404;
  return (
    <div className="error-page">
      <p className="error-code">{notFound ? 404 : "Oops"}</p>
      <h1>{notFound ? "This title isn't in our catalogue" : "We couldn't load this title"}</h1>
      <p>
        {notFound
          ? "It may have been removed, or the link may be mistyped. There is plenty more to watch."
          : "Something went wrong on our side. Please try again in a moment."}
      </p>
      <Link to="/" className="button primary">
        Browse the store
      </Link>
    </div>
  );
}
