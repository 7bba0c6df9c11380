import { Link, useFetcher } from "@remix-run/react";
import { useEffect, useRef, useState } from "react";
import { track } from "../lib/track.client";
import type { action as watchlistAction } from "../routes/watchlist";
import { CsrfField, useAccount } from "./csrf-field";

export interface WatchlistButtonProps {
  titleId: string;
  title: string;
  /** Whether the title is on the profile's watchlist, as the server last said. */
  on: boolean;
  /** Where a browser without JavaScript comes back to after the post. */
  next: string;
  className?: string;
  /** Words for the button; the watchlist page says "Remove" only. */
  compact?: boolean;
}

/** True once React runs in the browser: the form then goes through a fetcher. */
function useHydrated(): boolean {
  const [hydrated, setHydrated] = useState(false);
  useEffect(() => setHydrated(true), []);
  return hydrated;
}

/**
 * Adds a title to the profile's watchlist or takes it off. Without JavaScript it is a plain form
 * post to /watchlist that comes back to `next`; with it, a fetcher that shows the change at once
 * and then the server's answer. `watchlist_add` is recorded only when the server says the title
 * was not on the list before: a double click or a second tab records nothing.
 */
export function WatchlistButton({ titleId, title, on, next, className, compact = false }: WatchlistButtonProps) {
  const account = useAccount();
  const hydrated = useHydrated();
  const fetcher = useFetcher<typeof watchlistAction>({ key: `watchlist:${titleId}` });
  const recorded = useRef<unknown>(null);

  useEffect(() => {
    const d = fetcher.data;
    if (fetcher.state !== "idle" || !d || recorded.current === d) return;
    recorded.current = d;
    if ("changed" in d && d.changed && d.on)
      track({ type: "watchlist_add", item_id: titleId, payload: {} }, { flush: true });
  }, [fetcher.state, fetcher.data, titleId]);

  const classes = className ?? "button secondary";
  if (!account) {
    return (
      <Link to={`/signin?next=${encodeURIComponent(next)}`} className={classes}>
        <span aria-hidden="true">+</span> Add to watchlist
      </Link>
    );
  }

  // While the post is in flight (and the page's data reloads after it), show what was asked for.
  const pending = fetcher.formData?.get("intent");
  const shown = pending === "add" ? true : pending === "remove" ? false : on;
  const error = fetcher.state === "idle" && fetcher.data && "error" in fetcher.data ? fetcher.data.error : null;
  const label = shown ? (compact ? "Remove" : "On your watchlist") : "Add to watchlist";
  return (
    <fetcher.Form method="post" action="/watchlist" className="watchlist-form">
      <CsrfField />
      <input type="hidden" name="intent" value={shown ? "remove" : "add"} />
      <input type="hidden" name="title_id" value={titleId} />
      <input type="hidden" name="next" value={next} />
      {hydrated ? <input type="hidden" name="via" value="fetcher" /> : null}
      <button
        type="submit"
        className={classes}
        aria-pressed={compact ? undefined : shown}
        title={shown ? `Remove ${title} from your watchlist` : undefined}
      >
        {compact ? null : <span aria-hidden="true">{shown ? "✓" : "+"}</span>}
        {compact ? null : " "}
        {label}
        {compact ? <span className="visually-hidden"> {title} from your watchlist</span> : null}
      </button>
      {error ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : null}
    </fetcher.Form>
  );
}
