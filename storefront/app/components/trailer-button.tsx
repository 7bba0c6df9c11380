import type { TrailerPlayback } from "@marquee/media";
import { useEffect, useRef, useState } from "react";
import { VideoPlayer } from "./video-player";

/**
 * "Watch trailer": the trailer (public, no heartbeat) in a modal dialog over the title page,
 * with the same player as films. While it transcodes the page says so instead; a trailer that
 * never became playable shows nothing (the caller leaves it out).
 */
export function TrailerButton({
  titleId,
  title,
  trailer,
}: {
  titleId: string;
  title: string;
  trailer: TrailerPlayback;
}) {
  const [open, setOpen] = useState(false);
  // The trailer needs the player's script: until the page is hydrated the button would do nothing.
  const [hydrated, setHydrated] = useState(false);
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => setHydrated(true), []);

  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);

  if (trailer.status === "preparing" || !trailer.hls_url) {
    return (
      <span className="trailer-preparing" role="status">
        Trailer preparing
      </span>
    );
  }
  return (
    <>
      <button
        type="button"
        className="button secondary"
        onClick={() => setOpen(true)}
        aria-haspopup="dialog"
        disabled={!hydrated}
      >
        <span aria-hidden="true">▶</span> Watch trailer
      </button>
      <dialog
        ref={dialog}
        className="trailer-dialog"
        aria-label={`Trailer: ${title}`}
        // Esc closes a modal dialog natively; keep React's state in step.
        onClose={() => setOpen(false)}
      >
        <div className="trailer-dialog-bar">
          <p className="trailer-dialog-title">{title} — trailer</p>
          <button type="button" className="button ghost small" onClick={() => setOpen(false)}>
            Close<span className="visually-hidden"> trailer</span>
          </button>
        </div>
        {open ? (
          <VideoPlayer
            mode="trailer"
            autoPlay
            titleId={titleId}
            title={title}
            hlsUrl={trailer.hls_url}
            posterUrl={trailer.poster_url}
            thumbnailsVttUrl={trailer.thumbnails_vtt_url}
          />
        ) : null}
      </dialog>
    </>
  );
}
