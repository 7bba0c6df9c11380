import { describe, expect, it } from "vitest";
import { TokenRewriter, tokenPrefix } from "./playback-token";

describe("signed playback URLs across token renewals", () => {
  const base = "http://store.test/watch/t_1";

  it("takes the master playlist's folder as the token's prefix", () => {
    expect(tokenPrefix("/media/s/AAA/master.m3u8", base)).toBe("http://store.test/media/s/AAA/");
    expect(tokenPrefix("https://edge.example/media/s/AAA/master.m3u8?x=1", base)).toBe(
      "https://edge.example/media/s/AAA/",
    );
  });

  it("rewrites requests built from any older token to the newest, and leaves others alone", () => {
    const t = new TokenRewriter("/media/s/AAA/master.m3u8", base);
    // Nothing renewed yet: requests go out as built.
    expect(t.rewrite("http://store.test/media/s/AAA/v0/seg001.ts")).toBe("http://store.test/media/s/AAA/v0/seg001.ts");
    t.renew("/media/s/BBB/master.m3u8");
    expect(t.rewrite("http://store.test/media/s/AAA/v0/seg001.ts")).toBe("http://store.test/media/s/BBB/v0/seg001.ts");
    expect(t.rewrite("/media/s/AAA/key.bin")).toBe("http://store.test/media/s/BBB/key.bin");
    t.renew("/media/s/CCC/master.m3u8");
    // The player resolves against the master it started with, or one renewal late: both land on the newest.
    expect(t.rewrite("http://store.test/media/s/AAA/v1/index.m3u8")).toBe(
      "http://store.test/media/s/CCC/v1/index.m3u8",
    );
    expect(t.rewrite("http://store.test/media/s/BBB/v1/seg009.ts")).toBe("http://store.test/media/s/CCC/v1/seg009.ts");
    expect(t.rewrite("http://store.test/media/s/CCC/v1/seg010.ts")).toBe("http://store.test/media/s/CCC/v1/seg010.ts");
    // Another title's or another origin's URL is not ours to touch, nor a prefix that only looks alike.
    expect(t.rewrite("http://store.test/media/s/AAAB/v0/seg001.ts")).toBe(
      "http://store.test/media/s/AAAB/v0/seg001.ts",
    );
    expect(t.rewrite("https://cdn.example/media/s/AAA/v0/seg001.ts")).toBe(
      "https://cdn.example/media/s/AAA/v0/seg001.ts",
    );
  });
});
