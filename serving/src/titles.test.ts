import { createLogger } from "@marquee/runtime";
import { describe, expect, it } from "vitest";
import { type CatalogTitle, TitleIndex } from "./titles.ts";

const logger = createLogger({ service: "test", level: "silent" });
const title = (id: string): CatalogTitle => ({ id, title: id, genres: ["Drama"], year: 2000, age_rating: "PG" });

describe("TitleIndex.changed", () => {
  it("reads again after a read that started before the change, sharing one read among changes meanwhile", async () => {
    let catalogue = [title("a")];
    let reads = 0;
    let release: (() => void) | null = null;
    const index = new TitleIndex(async () => {
      reads++;
      const seen = catalogue;
      if (reads === 1) await new Promise<void>((r) => (release = r));
      return seen;
    }, logger);
    const first = index.refresh();
    // The catalogue changes while the first read (which saw the old one) is still under way.
    catalogue = [title("a"), title("b")];
    const after = [index.changed(), index.changed()];
    (release as unknown as () => void)();
    await first;
    await Promise.all(after);
    expect(reads).toBe(2);
    expect(index.get("b")).toBeDefined();
  });
});
