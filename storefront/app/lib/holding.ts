import type { LibraryItem } from "@marquee/commerce";

export const QUALITY_RANK: Record<string, number> = { SD: 0, HD: 1, "4K": 2 };
const RANK = QUALITY_RANK;

export interface Holding {
  /** The best purchase, if any. */
  owned: LibraryItem | null;
  /** A rental that can play (or start) now. */
  renting: LibraryItem | null;
  /** Can press Play now. */
  playable: boolean;
}

/** What the viewer holds of one title, from their library. */
export function holdingOf(items: LibraryItem[]): Holding {
  const active = items.filter((i) => i.status === "active");
  const owned =
    active.filter((i) => i.kind === "own").sort((a, b) => (RANK[b.quality] ?? 0) - (RANK[a.quality] ?? 0))[0] ?? null;
  const renting = active.find((i) => i.kind === "rent" && i.playable) ?? null;
  return { owned, renting, playable: active.some((i) => i.playable) };
}
