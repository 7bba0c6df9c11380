import { type ContentArtifact, coldNeighbours, type TitleMeta, withColdTitles } from "@marquee/runtime";
import type { ItemToItemSnapshot } from "./models.ts";
import type { CatalogTitle } from "./titles.ts";

/**
 * Titles published after the last training, placed by the content model (its forward pass is
 * runtime's `withColdTitles` / `coldNeighbours`, plain JavaScript; training fits it and
 * evaluates cold titles with the very same functions).
 *
 * `withNewTitles(snapshot, content, catalogue)` returns the neighbour snapshot (personal or
 * item-to-item) with every published title it lacks added: the new title gets a row of its
 * strongest predicted neighbours ("More like this", "Because you watched <new title>") and is
 * written into those neighbours' rows in up to 10 extra places per row, so it reaches Top picks
 * and "Because you watched" of everyone who watched titles like it, without displacing any
 * title's own neighbours. Ranking it takes no change: `rankTopPicks` and the similar-titles
 * lookup read the returned snapshot as they read the stored one.
 *
 * It costs a pass over the content weights per new title plus a copy of the snapshot's arrays,
 * so results are memoised per (snapshot, content model, catalogue array): call it per request
 * with the current objects and it recomputes only when one of them was swapped. Without a
 * content model, or with nothing new, the snapshot itself comes back.
 */
const memo = new WeakMap<
  ItemToItemSnapshot,
  WeakMap<ContentArtifact, WeakMap<readonly TitleMeta[], ItemToItemSnapshot>>
>();

export function withNewTitles(
  snapshot: ItemToItemSnapshot,
  content: ContentArtifact | null,
  catalogue: readonly CatalogTitle[],
): ItemToItemSnapshot {
  if (!content) return snapshot;
  let byContent = memo.get(snapshot);
  if (!byContent) {
    byContent = new WeakMap();
    memo.set(snapshot, byContent);
  }
  let byCatalogue = byContent.get(content);
  if (!byCatalogue) {
    byCatalogue = new WeakMap();
    byContent.set(content, byCatalogue);
  }
  const hit = byCatalogue.get(catalogue);
  if (hit) return hit;
  const extended = withColdTitles(snapshot, content, catalogue, (t) => ({
    id: t.id,
    title: t.title ?? "",
    genres: [...(t.genres ?? [])],
    year: t.year ?? 0,
  }));
  byCatalogue.set(catalogue, extended);
  return extended;
}

/** "More like this" for one title no model knows yet: its content neighbours, best first. */
export function similarToNewTitle(
  content: ContentArtifact,
  title: CatalogTitle,
  limit: number,
  skip: (id: string) => boolean = () => false,
): { id: string; score: number }[] {
  return coldNeighbours(content, title, limit, skip).map((n) => ({
    id: n.id,
    score: Math.round(n.weight * 1e5) / 1e5,
  }));
}
