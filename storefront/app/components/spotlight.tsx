import { Link } from "@remix-run/react";
import type { TitleCard } from "../context";
import { formatPrice, formatRuntime } from "../lib/format";

export interface SpotlightProps {
  card: TitleCard;
  /** The shelf slot it repeats, so its impression and click count as that slot's. */
  row: string;
  modelVersion: string;
  label: string;
}

/** The big banner at the top of home: the first title of the first row. */
export function Spotlight({ card, row, modelVersion, label }: SpotlightProps) {
  const price = card.from_price_minor === null ? null : formatPrice(card.from_price_minor, card.currency);
  const href = `/titles/${encodeURIComponent(card.id)}`;
  return (
    <section className="spotlight" aria-labelledby="spotlight-title">
      <img className="spotlight-backdrop" src={card.poster_url} alt="" aria-hidden="true" />
      <div className="spotlight-inner">
        <div>
          <p className="eyebrow">{label}</p>
          <h2 id="spotlight-title" className="spotlight-title">
            {card.title}
          </h2>
          <p className="spotlight-facts">
            <span>{card.year}</span>
            <span>{formatRuntime(card.runtime_min)}</span>
            <span className="badge">{card.age_rating}</span>
            {card.genres.length > 0 ? <span>{card.genres.slice(0, 3).join(" · ")}</span> : null}
          </p>
          <div className="spotlight-actions">
            <Link
              to={href}
              prefetch="intent"
              className="button primary"
              data-mq-item={card.id}
              data-mq-row={row}
              data-mq-pos={0}
              data-mq-model={modelVersion}
            >
              {price ? `Buy or rent from ${price}` : "See details"}
            </Link>
          </div>
        </div>
        <img
          className="spotlight-poster"
          src={card.poster_url}
          alt=""
          width={400}
          height={600}
          {...{ fetchpriority: "high" }}
        />
      </div>
    </section>
  );
}
