import type { Row } from "@marquee/contracts";
import type { Audience, StorefrontServices, TitleCard } from "../context";

/** Cards per shelf at most (serving may be asked for longer rows when a profile filters many out). */
const SHELF_MAX = 20;

/** A row as the page shows it: serving's ranking joined with catalog cards, in serving's order. */
export interface Shelf {
  id: string;
  title: string;
  reason: string;
  model_version: string;
  /** The experiment variant the viewer is in ("control" outside any), for events. */
  variant: string;
  /** Per card (by title id): why serving put it there, and how far the viewer got (Continue watching). */
  why: Record<string, { reason?: string; progress?: number }>;
  cards: TitleCard[];
}

/**
 * Joins rows with their cards in ONE catalog call; rows left with no known titles are dropped.
 * The catalogue filters by `audience`, so a kids' profile never gets a card above its limit
 * whatever serving ranked.
 */
export async function toShelves(
  catalog: StorefrontServices["catalog"],
  rows: Row[],
  audience: Audience = {},
): Promise<Shelf[]> {
  const ids = [...new Set(rows.flatMap((r) => r.items.map((i) => i.id)))];
  const cards = ids.length > 0 ? await catalog.cards(ids, audience) : [];
  const byId = new Map(cards.map((c) => [c.id, c]));
  return rows
    .map((r) => ({
      id: r.id,
      title: r.title,
      reason: r.reason,
      model_version: r.model_version,
      variant: r.variant,
      why: Object.fromEntries(
        r.items.map((i) => [
          i.id,
          { ...(i.reason ? { reason: i.reason } : {}), ...(i.progress !== undefined ? { progress: i.progress } : {}) },
        ]),
      ),
      // A title shows once per shelf (its first, best-ranked slot).
      cards: [...new Set(r.items.map((i) => i.id))].flatMap((id) => byId.get(id) ?? []).slice(0, SHELF_MAX),
    }))
    .filter((s) => s.cards.length > 0);
}
