import { ID_PATTERN, type Offer, type Quality } from "@marquee/contracts";
import { data, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { isRouteErrorResponse, Link, useLoaderData, useRouteError } from "@remix-run/react";
import { useRef, useState } from "react";
import { Shelf } from "../components/shelf";
import { getActor } from "../lib/actor.server";
import { formatPrice, formatRuntime } from "../lib/format";
import { toShelves } from "../lib/shelves.server";
import { track } from "../lib/track.client";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "title" };

const QUALITIES: readonly Quality[] = ["SD", "HD", "4K"];
const SIMILAR_LIMIT = 20;

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const { services } = context;
  const id = params.id ?? "";
  if (!ID_PATTERN.test(id)) throw data("Title not found", { status: 404 });
  const actor = getActor(request, context);
  const [title, similar] = await Promise.all([
    services.catalog.title(id),
    services.serving.similar(id, { limit: SIMILAR_LIMIT + 1, actorId: actor.id }).catch((err: unknown) => {
      // The page is still worth showing without its "More like this" shelf.
      services.log.warn({ err, item_id: id }, "similar titles unavailable");
      return null;
    }),
  ]);
  if (!title) throw data("Title not found", { status: 404 });
  const [more] = similar
    ? await toShelves(services.catalog, [
        {
          id: "more-like-this",
          title: "More like this",
          reason: "",
          model_version: similar.model_version,
          items: similar.items.filter((i) => i.id !== id).slice(0, SIMILAR_LIMIT),
        },
      ])
    : [];
  return { title, more: more ?? null };
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

/** Offers as a kind × quality grid; a missing cell means that combination is not sold. */
function offerGrid(offers: Offer[]): Record<Offer["kind"], Partial<Record<Quality, Offer>>> {
  const grid: Record<Offer["kind"], Partial<Record<Quality, Offer>>> = { buy: {}, rent: {} };
  for (const o of offers) {
    const current = grid[o.kind][o.quality];
    if (!current || o.price_minor < current.price_minor) grid[o.kind][o.quality] = o;
  }
  return grid;
}

function OffersTable({ offers }: { offers: Offer[] }) {
  if (offers.length === 0) {
    return <p className="offers-none">This title is not on sale right now.</p>;
  }
  const grid = offerGrid(offers);
  const kinds = (["buy", "rent"] as const).filter((k) => Object.keys(grid[k]).length > 0);
  return (
    <div className="offers">
      <h2 id="offers-heading" className="offers-heading">
        Buy or rent
      </h2>
      <table className="offers-table" aria-labelledby="offers-heading">
        <thead>
          <tr>
            <td />
            {QUALITIES.map((q) => (
              <th key={q} scope="col">
                {q}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {kinds.map((kind) => (
            <tr key={kind}>
              <th scope="row">{kind === "buy" ? "Buy" : "Rent"}</th>
              {QUALITIES.map((q) => {
                const o = grid[kind][q];
                return (
                  <td key={q}>
                    {o ? (
                      <span className="price">{formatPrice(o.price_minor, o.currency)}</span>
                    ) : (
                      <>
                        <span className="muted" aria-hidden="true">
                          —
                        </span>
                        <span className="visually-hidden">Not available</span>
                      </>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      {kinds.includes("rent") ? (
        <p className="offers-note">Rentals: 30 days to start watching, then 48 hours to finish once you start.</p>
      ) : null}
    </div>
  );
}

export default function TitlePage() {
  const { title: t, more } = useLoaderData<typeof loader>();
  const trailer = useRef<HTMLDialogElement>(null);
  const [watchlisted, setWatchlisted] = useState(false);
  const [dismissed, setDismissed] = useState(false);

  const playTrailer = () => {
    track({ type: "trailer_play", item_id: t.id, payload: {} }, { flush: true });
    trailer.current?.showModal();
  };
  const addToWatchlist = () => {
    if (watchlisted) return;
    track({ type: "watchlist_add", item_id: t.id, payload: {} }, { flush: true });
    setWatchlisted(true);
  };
  const notInterested = () => {
    if (dismissed) return;
    track({ type: "not_interested", item_id: t.id, payload: {} }, { flush: true });
    setDismissed(true);
  };

  return (
    <article className="title-page" key={t.id}>
      <div className="hero">
        <div className="hero-backdrop" style={{ backgroundImage: `url("${t.poster_url}")` }} aria-hidden="true" />
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
              <button type="button" className="button primary" onClick={playTrailer}>
                <span aria-hidden="true">▶</span> Watch trailer
              </button>
              <button type="button" className="button secondary" onClick={addToWatchlist} aria-pressed={watchlisted}>
                <span aria-hidden="true">{watchlisted ? "✓" : "+"}</span>{" "}
                {watchlisted ? "On your watchlist" : "Add to watchlist"}
              </button>
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
            <OffersTable offers={t.offers} />
          </div>
        </div>
      </div>

      {more ? <Shelf id={more.id} title={more.title} modelVersion={more.model_version} cards={more.cards} /> : null}

      <dialog ref={trailer} className="trailer-dialog" aria-labelledby="trailer-heading">
        <div className="trailer-screen" aria-hidden="true">
          <span className="trailer-play">▶</span>
        </div>
        <h2 id="trailer-heading">Trailer for {t.title}</h2>
        <p>
          The trailer player is not here yet: it arrives with Marquee's media step (HLS streaming in video.js). We have
          noted that you wanted to watch it, and that helps pick your rows.
        </p>
        <form method="dialog">
          <button type="submit" className="button secondary">
            Close
          </button>
        </form>
      </dialog>
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
