import { Link } from "@remix-run/react";
import type { TitleCard } from "../context";
import { formatPrice } from "../lib/format";

export interface PosterCardProps {
  card: TitleCard;
  /** Which shelf and slot the card sits in, and the model that put it there (for events). */
  row: string;
  position: number;
  modelVersion: string;
  /** The experiment variant that ranked it (for events). */
  variant?: string;
  /** Why it is here ("Because you watched Heat"), and how far the viewer got (0–1). */
  reason?: string;
  progress?: number;
  /** The first cards of the first shelf are above the fold: load them eagerly. */
  eager?: boolean;
}

export function PosterCard({
  card,
  row,
  position,
  modelVersion,
  variant,
  reason,
  progress,
  eager = false,
}: PosterCardProps) {
  const price = card.from_price_minor === null ? null : formatPrice(card.from_price_minor, card.currency);
  return (
    <Link
      to={`/titles/${encodeURIComponent(card.id)}`}
      prefetch="intent"
      className="card"
      data-mq-item={card.id}
      data-mq-row={row}
      data-mq-pos={position}
      data-mq-model={modelVersion}
      {...(variant ? { "data-mq-variant": variant } : {})}
    >
      <span className="card-poster">
        <img
          src={card.poster_url}
          alt=""
          width={400}
          height={600}
          loading={eager ? "eager" : "lazy"}
          decoding="async"
          {...(eager ? { fetchpriority: "high" } : {})}
        />
        {progress !== undefined ? (
          <span className="card-progress" role="img" aria-label={`${Math.round(progress * 100)}% watched`}>
            <span style={{ width: `${Math.round(progress * 100)}%` }} />
          </span>
        ) : null}
        <span className="card-rating">
          <span className="visually-hidden">Rated </span>
          {card.age_rating}
        </span>
      </span>
      <span className="card-meta">
        <span className="card-title">{card.title}</span>
        {reason ? <span className="card-reason">{reason}</span> : null}
        <span className="card-sub">
          <span>{card.year}</span>
          {price ? (
            <span className="card-price">from {price}</span>
          ) : (
            <span className="card-price muted">Not on sale</span>
          )}
        </span>
      </span>
    </Link>
  );
}
