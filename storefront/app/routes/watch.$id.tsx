import { ID_PATTERN } from "@marquee/contracts";
import type { FilmPlayback } from "@marquee/media";
import {
  data,
  type HeadersFunction,
  type LinksFunction,
  type LoaderFunctionArgs,
  type MetaFunction,
} from "@remix-run/node";
import { isRouteErrorResponse, Link, useLoaderData, useRevalidator, useRouteError } from "@remix-run/react";
import { useState } from "react";
import { VideoPlayer } from "../components/video-player";
import { PLAYBACK_REFUSALS, type PlaybackRefusal } from "../context";
import { appErrorOf } from "../lib/errors.server";
import { sentence } from "../lib/format";
import { playerStylesheets } from "../lib/player-styles";
import { audienceOf, requireViewer } from "../lib/session.server";
import type { PageHandle } from "../root";

export const handle: PageHandle = { page: "watch" };

export const links: LinksFunction = () => playerStylesheets;

/** The page carries signed URLs bound to this viewer: no cache (browser or shared) keeps it. */
export const headers: HeadersFunction = () => ({ "Cache-Control": "private, no-store" });

interface Refusal {
  reason: PlaybackRefusal | "other";
  message: string;
  /** The account's stream limit, when media says it. */
  limit: number | null;
}

/** Media's refusal as one of the reasons the page explains (details.reason, else the code, else the status). */
function refusalOf(err: { code: string; status: number; message: string; details?: Record<string, unknown> }): Refusal {
  const named = [err.details?.reason, err.code].find((r): r is PlaybackRefusal =>
    PLAYBACK_REFUSALS.includes(r as PlaybackRefusal),
  );
  const limit = typeof err.details?.limit === "number" ? err.details.limit : null;
  if (named) return { reason: named, message: err.message, limit };
  // A 409 that names nothing is the film not being ready: what else conflicts with starting it.
  return { reason: err.status === 409 ? "preparing" : "other", message: err.message, limit };
}

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const viewer = await requireViewer(request, context);
  const id = params.id ?? "";
  if (!ID_PATTERN.test(id)) throw data("Title not found", { status: 404 });
  const { services } = context;
  const title = await services.catalog.title(id, audienceOf(viewer));
  let playback: FilmPlayback;
  try {
    playback = await services.media.startFilm(viewer, id);
  } catch (err) {
    const shown = appErrorOf(err);
    if (!shown) throw err;
    const kids = viewer.profile.kind === "kids" || viewer.profile.max_age_rating != null;
    // A title the viewer cannot see: a kids' profile hears the same for one above its limit and
    // one that does not exist, so the answer confirms nothing; anyone else gets the 404 page.
    if (shown.status === 404 && !title && !kids) throw data("Title not found", { status: 404 });
    let refusal: Refusal =
      shown.status === 404
        ? // A title on the shelf whose film media does not have (yet): said as media says it.
          { reason: title ? "other" : "age_limit", message: shown.message, limit: null }
        : refusalOf(shown);
    // Commerce's own refusal names no reason: the library tells a title never bought from a rental that ended.
    if (refusal.reason === "other" && shown.status === 403) {
      const held = (await services.commerce.library.list(viewer)).filter((i) => i.title_id === id);
      refusal = { ...refusal, reason: held.some((i) => i.status === "active") ? "rental_expired" : "not_bought" };
    }
    return data(
      {
        playback: null,
        refusal: { ...refusal, message: sentence(refusal.message) },
        title: title
          ? { id: title.id, title: title.title, poster_url: title.poster_url }
          : { id, title: "This film", poster_url: null },
      },
      // A refusal is the page's answer, with its status, not an error.
      { status: shown.status },
    );
  }
  if (!title) throw data("Title not found", { status: 404 });
  return { playback, refusal: null, title: { id: title.id, title: title.title, poster_url: title.poster_url } };
}

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data ? `Watch ${data.title.title} — Marquee` : "Watch — Marquee" },
  { name: "robots", content: "noindex" },
];

function RefusalMessage({ refusal, titleId, title }: { refusal: Refusal; titleId: string; title: string }) {
  const revalidator = useRevalidator();
  const back = `/titles/${encodeURIComponent(titleId)}`;
  switch (refusal.reason) {
    case "not_bought":
      return (
        <>
          <h1>You haven't bought or rented {title}</h1>
          <p>Buy or rent it to watch it here, on any of your devices.</p>
          <Link to={`${back}#offers-heading`} className="button primary">
            See ways to watch
          </Link>
        </>
      );
    case "rental_expired":
      return (
        <>
          <h1>Your rental of {title} has ended</h1>
          <p>{refusal.message}</p>
          <Link to={`${back}#offers-heading`} className="button primary">
            Rent or buy it again
          </Link>
        </>
      );
    case "age_limit":
      return (
        <>
          <h1>{title} isn't available on this profile</h1>
          <p>It is rated above this profile's age limit.</p>
          <Link to="/profiles" className="button primary">
            Switch profile
          </Link>
        </>
      );
    case "stream_limit":
      return (
        <>
          <h1>
            {refusal.limit === 1
              ? "This rental is already playing on another device"
              : refusal.limit
                ? `You're already watching on ${refusal.limit} devices`
                : "You're already watching on other devices"}
          </h1>
          <p>
            {refusal.limit === 1
              ? "A rental plays on one device at a time. Stop it there, then try again here."
              : refusal.limit
                ? "Stop watching on one of them, then try again here."
                : refusal.message}
          </p>
          <button
            type="button"
            className="button primary"
            onClick={() => revalidator.revalidate()}
            disabled={revalidator.state !== "idle"}
          >
            Try again
          </button>
        </>
      );
    case "preparing":
      return (
        <>
          <h1>This film is being prepared — check back in a few minutes</h1>
          <p>It is still being made ready to stream in every quality.</p>
          <button
            type="button"
            className="button primary"
            onClick={() => revalidator.revalidate()}
            disabled={revalidator.state !== "idle"}
          >
            Check again
          </button>
        </>
      );
    default:
      return (
        <>
          <h1>{title} can't play right now</h1>
          <p>{refusal.message}</p>
        </>
      );
  }
}

export default function WatchPage() {
  const { playback, refusal, title } = useLoaderData<typeof loader>();
  const [stopped, setStopped] = useState<Refusal | null>(null);
  const back = `/titles/${encodeURIComponent(title.id)}`;
  const shown = refusal ?? stopped;
  return (
    <div className="watch-page">
      <div className="watch-bar">
        <Link to={back} className="watch-back">
          <span aria-hidden="true">←</span> Back
        </Link>
        <p className="watch-title">{title.title}</p>
      </div>
      {shown ? (
        <section className="watch-message" role={refusal ? undefined : "alert"}>
          <RefusalMessage refusal={shown} titleId={title.id} title={title.title} />
          <p>
            <Link to={back}>Back to {title.title}</Link>
          </p>
        </section>
      ) : null}
      {playback && !stopped ? (
        <VideoPlayer
          className="watch-player"
          mode="film"
          autoPlay
          titleId={title.id}
          title={title.title}
          hlsUrl={playback.hls_url}
          heartbeatUrl={playback.heartbeat_url}
          posterUrl={playback.poster_url ?? title.poster_url}
          thumbnailsVttUrl={playback.thumbnails_vtt_url}
          captions={playback.captions}
          resumeAtS={playback.resume_at_s}
          onStopped={(s) =>
            setStopped(
              refusalOf({
                code: s.reason,
                status: s.reason === "stream_limit" || s.reason === "preparing" ? 409 : 403,
                message: sentence(s.message),
              }),
            )
          }
        />
      ) : null}
    </div>
  );
}

export function ErrorBoundary() {
  const error = useRouteError();
  const notFound = isRouteErrorResponse(error) && error.status === 404;
  return (
    <div className="error-page">
      <p className="error-code">{notFound ? 404 : "Oops"}</p>
      <h1>{notFound ? "This title isn't in our catalogue" : "We couldn't start this film"}</h1>
      <p>
        {notFound
          ? "It may have been removed, or the link may be mistyped."
          : "Something went wrong on our side. Please try again in a moment."}
      </p>
      <Link to="/library" className="button primary">
        Your library
      </Link>
    </div>
  );
}
