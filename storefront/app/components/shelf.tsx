import { useEffect, useRef, useState } from "react";
import type { TitleCard } from "../context";
import { PosterCard } from "./poster-card";

export interface ShelfProps {
  id: string;
  title: string;
  reason?: string;
  modelVersion: string;
  variant?: string;
  why?: Record<string, { reason?: string; progress?: number }>;
  cards: TitleCard[];
  /** Load the first posters eagerly (the first shelf on the page). */
  eager?: boolean;
}

const EAGER_CARDS = 6;

/** A titled, horizontally scrolling row of poster cards; arrow buttons appear once JS runs. */
export function Shelf({ id, title, reason, modelVersion, variant, why, cards, eager = false }: ShelfProps) {
  const track = useRef<HTMLOListElement>(null);
  const [edges, setEdges] = useState<{ start: boolean; end: boolean } | null>(null);
  const headingId = `shelf-${id}`;

  useEffect(() => {
    const el = track.current;
    if (!el) return;
    const update = () =>
      setEdges({ start: el.scrollLeft <= 4, end: el.scrollLeft + el.clientWidth >= el.scrollWidth - 4 });
    update();
    el.addEventListener("scroll", update, { passive: true });
    window.addEventListener("resize", update);
    return () => {
      el.removeEventListener("scroll", update);
      window.removeEventListener("resize", update);
    };
  }, []);

  const page = (dir: 1 | -1) => {
    const el = track.current;
    if (el) el.scrollBy({ left: dir * el.clientWidth * 0.85, behavior: "smooth" });
  };

  return (
    <section className="shelf" aria-labelledby={headingId}>
      <div className="shelf-head">
        <h2 id={headingId} className="shelf-title">
          {title}
        </h2>
        {reason ? <p className="shelf-reason">{reason}</p> : null}
      </div>
      <div className="shelf-body">
        {edges && !edges.start ? (
          <button
            type="button"
            className="shelf-arrow prev"
            aria-label={`Scroll ${title} back`}
            onClick={() => page(-1)}
          >
            <span aria-hidden="true">‹</span>
          </button>
        ) : null}
        <ol className="shelf-track" ref={track}>
          {cards.map((card, i) => (
            <li key={card.id}>
              <PosterCard
                card={card}
                row={id}
                position={i}
                modelVersion={modelVersion}
                {...(variant ? { variant } : {})}
                {...(why?.[card.id]?.reason ? { reason: why[card.id]?.reason } : {})}
                {...(why?.[card.id]?.progress !== undefined ? { progress: why[card.id]?.progress } : {})}
                eager={eager && i < EAGER_CARDS}
              />
            </li>
          ))}
        </ol>
        {edges && !edges.end ? (
          <button
            type="button"
            className="shelf-arrow next"
            aria-label={`Scroll ${title} forward`}
            onClick={() => page(1)}
          >
            <span aria-hidden="true">›</span>
          </button>
        ) : null}
      </div>
    </section>
  );
}
