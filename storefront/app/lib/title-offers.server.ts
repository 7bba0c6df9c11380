import type { LibraryItem } from "@marquee/commerce";
import type { Offer, Quality } from "@marquee/contracts";
import type { StorefrontServices, Viewer } from "../context";
import { holdingOf, QUALITY_RANK as RANK } from "./holding";

/** What one offer means for this viewer: buyable as is, already theirs, or cheaper by a credit. */
export interface OfferState {
  kind: Offer["kind"];
  quality: Quality;
  /** `owned`: a purchase at this quality or better; `renting`: a running rental covers it; `own-instead`: a rental is pointless once owned. */
  status: "available" | "owned" | "renting" | "own-instead";
  /** A rent-to-own or upgrade credit the checkout would apply, and what is left to pay. */
  credit: { reason: "rent-to-own" | "upgrade"; credit_minor: number; pay_minor: number; from_quality?: string } | null;
}

/**
 * Each offer's state for the viewer. Credits come from `checkout.quote`, so the page shows
 * exactly what the checkout will charge (rent-to-own within its window, upgrades for the
 * difference); a quote that fails leaves the offer at its plain price.
 */
export async function offerStates(
  commerce: StorefrontServices["commerce"],
  viewer: Viewer,
  titleId: string,
  offers: Offer[],
  items: LibraryItem[],
): Promise<OfferState[]> {
  const holding = holdingOf(items);
  const ownedRank = holding.owned ? (RANK[holding.owned.quality] ?? 0) : -1;
  const rentedBefore = items.some((i) => i.kind === "rent" && i.status === "active");
  return Promise.all(
    offers.map(async (o): Promise<OfferState> => {
      const rank = RANK[o.quality] ?? 0;
      const base = { kind: o.kind, quality: o.quality, credit: null };
      if (o.kind === "rent") {
        if (holding.owned) return { ...base, status: "own-instead" };
        if (holding.renting && (RANK[holding.renting.quality] ?? 0) >= rank) return { ...base, status: "renting" };
        return { ...base, status: "available" };
      }
      if (ownedRank >= rank) return { ...base, status: "owned" };
      if (!holding.owned && !rentedBefore) return { ...base, status: "available" };
      try {
        const quote = await commerce.checkout.quote(viewer, {
          items: [{ title_id: titleId, kind: "buy", quality: o.quality }],
        });
        const line = quote.lines[0];
        if (!line || line.credit_minor <= 0) return { ...base, status: "available" };
        return {
          ...base,
          status: "available",
          credit: {
            reason: holding.owned ? "upgrade" : "rent-to-own",
            credit_minor: line.credit_minor,
            pay_minor: quote.total_minor,
            ...(holding.owned ? { from_quality: holding.owned.quality } : {}),
          },
        };
      } catch {
        return { ...base, status: "available" };
      }
    }),
  );
}
