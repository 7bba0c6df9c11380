import { describe, expect, it } from "vitest";
import { safeNext } from "./session.server";

const STORE = "https://store.example";

/** Where a browser goes with `Location: <value>` on a page of the store (Node's URL is WHATWG's, as browsers'). */
const landsOn = (location: string) => new URL(location, `${STORE}/signin`).origin;

describe("safeNext: where sign-in sends the browser afterwards", () => {
  it("never leaves the store, however the address is spelled", () => {
    const attacks = [
      "/\t/evil.example", // ?next=/%09/evil.example, decoded: browsers drop the tab → //evil.example
      "/\n/evil.example",
      "/\r\n/evil.example",
      "/\\evil.example",
      "/\\/evil.example",
      "//evil.example",
      "///evil.example",
      " //evil.example",
      "https://evil.example/",
      "javascript:alert(1)",
      "/%2F/evil.example",
      "\t//evil.example",
      "/\u0000/evil.example",
    ];
    for (const next of attacks) {
      const location = safeNext(next);
      expect(landsOn(location), JSON.stringify(next)).toBe(STORE);
      expect(location.startsWith("/")).toBe(true);
    }
    expect(safeNext("/\t/evil.example")).toBe("/");
  });

  it("keeps ordinary paths, queries and fragments", () => {
    expect(safeNext("/library")).toBe("/library");
    expect(safeNext("/titles/t_1?play=1#top")).toBe("/titles/t_1?play=1#top");
    expect(safeNext("/search?q=caf%C3%A9")).toBe("/search?q=caf%C3%A9");
    expect(safeNext(null)).toBe("/");
    expect(safeNext("/x".repeat(300))).toBe("/");
  });

  it("gives a value a Location header can carry: CR/LF and non-Latin-1 never reach it raw", () => {
    for (const next of ["/a\r\nSet-Cookie: x=1", "/films/東京", "/café", "/\u2028", "/emoji/😀"]) {
      const location = safeNext(next);
      expect(() => new Headers({ location }), JSON.stringify(next)).not.toThrow();
      expect(location).toMatch(/^[\x21-\x7e]*$/);
      expect(landsOn(location)).toBe(STORE);
    }
    expect(safeNext("/films/東京")).toBe("/films/%E6%9D%B1%E4%BA%AC");
  });
});
