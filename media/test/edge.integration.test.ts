import { serviceSuite } from "@marquee/runtime/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { FilmPlayback } from "../src/playback-types.ts";
import { MediaSigner, type MediaTokenClaims } from "../src/signing.ts";
import {
  ADULT,
  ADULT_ASSET,
  FILM,
  firstSegment,
  openPlaybackEnv,
  type PlaybackEnv,
  TRAILER_ONLY,
} from "./playback-env.ts";

/**
 * The nginx edge (infra/edge/start.sh, started by .ci/run) in front of a real origin: it checks
 * signed links itself (njs), so bad ones never reach the origin, and caches what it may.
 * TEST_EDGE_URL is the edge; TEST_EDGE_ORIGIN the host:port it forwards to, where this test
 * runs its origin; TEST_EDGE_SECRET the signing secret both share.
 */
serviceSuite("nginx edge", process.env.TEST_EDGE_URL, (edgeUrl) => {
  let env: PlaybackEnv;
  let f: FilmPlayback;
  let viewerToken: string;
  beforeAll(async () => {
    const origin = process.env.TEST_EDGE_ORIGIN ?? "";
    const secret = process.env.TEST_EDGE_SECRET ?? "";
    if (!origin || !secret)
      throw new Error("TEST_EDGE_ORIGIN and TEST_EDGE_SECRET go with TEST_EDGE_URL (see .ci/run)");
    env = await openPlaybackEnv({ port: Number(origin.split(":").pop()), secret, start: new Date() });
    const { token, viewer } = await env.signUp();
    viewerToken = token;
    await env.acquire(viewer, FILM, "buy");
    const res = await fetch(`${env.base}/media/play/${FILM}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    f = (await res.json()) as FilmPlayback;
  });
  afterAll(() => env?.close());

  const edge = (path: string, init: RequestInit = {}) => fetch(new URL(path, edgeUrl), init);
  const tokenOf = (hls: string) => hls.split("/")[3] ?? "";
  const claimsOf = (hls: string) =>
    JSON.parse(Buffer.from(tokenOf(hls).split(".")[0] ?? "", "base64url").toString()) as MediaTokenClaims;
  const reachedOrigin = (needle: string) => env.access.some((a) => a.url.includes(needle));

  it("refuses tampered, expired and other titles' links itself: 403, and the origin never saw them", async () => {
    const tok = tokenOf(f.hls_url);
    const [body, mac] = tok.split(".") as [string, string];
    const { v: _v, ...claims } = claimsOf(f.hls_url);
    const otherTitle = Buffer.from(
      JSON.stringify({ v: 1, ...claims, root: `titles/${ADULT}/film/${ADULT_ASSET}`, tid: ADULT, aid: ADULT_ASSET }),
    ).toString("base64url");
    const flipped = `${mac.slice(0, -2)}${mac.endsWith("A") ? "B" : "A"}${mac.slice(-1)}`;
    const expired = env.signer.sign({ ...claims, exp: Math.floor(env.clock.now().getTime() / 1000) - 5 });
    const foreign = new MediaSigner("a-secret-the-edge-does-not-know-0123456789", () => new Date()).sign(claims);
    const cases: Array<[string, string, RegExp]> = [
      ["other title", `${otherTitle}.${mac}`, /not valid/],
      ["tampered mac", `${body}.${flipped}`, /not valid/],
      ["foreign secret", foreign, /not valid/],
      ["expired", expired, /expired/],
    ];
    for (const [what, bad, message] of cases) {
      for (const path of ["master.m3u8", "v90/index.m3u8", `v90/${firstSegment(env).name}`, "key"]) {
        const res = await edge(`/media/s/${bad}/${path}`);
        expect(res.status, `${what} ${path}`).toBe(403);
        expect((await res.json()).error.message, what).toMatch(message);
      }
      expect(reachedOrigin(bad.slice(0, 40)), what).toBe(false);
    }
    // The origin refuses the same links when asked directly (and logs them).
    const direct = await fetch(`${env.base}/media/s/${expired}/master.m3u8`);
    expect(direct.status).toBe(403);
    expect(reachedOrigin(expired.slice(0, 40))).toBe(true);
  });

  it("caches segments and playlists by asset, not by link: MISS then HIT, also for another viewer's link", async () => {
    const seg = firstSegment(env);
    const path = `v90/${seg.name}`;
    const first = await edge(f.hls_url.replace("master.m3u8", path));
    expect(first.status).toBe(200);
    expect(first.headers.get("x-cache")).toBe("MISS");
    expect(first.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(Buffer.from(await first.arrayBuffer())).toEqual(seg.bytes);
    const second = await edge(f.hls_url.replace("master.m3u8", path));
    expect(second.headers.get("x-cache")).toBe("HIT");
    expect(Buffer.from(await second.arrayBuffer())).toEqual(seg.bytes);

    // Another viewer's own link to the same asset shares the cached entry.
    const { token, viewer } = await env.signUp();
    await env.acquire(viewer, FILM, "buy");
    const theirs = (await (
      await fetch(`${env.base}/media/play/${FILM}`, { method: "POST", headers: { authorization: `Bearer ${token}` } })
    ).json()) as FilmPlayback;
    const shared = await edge(theirs.hls_url.replace("master.m3u8", path));
    expect(shared.headers.get("x-cache")).toBe("HIT");
    expect(env.access.filter((a) => a.url.endsWith(path))).toHaveLength(1);

    const m1 = await edge(f.hls_url);
    expect(m1.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    expect(m1.headers.get("cache-control")).toBe("private, max-age=10");
    expect(m1.headers.get("x-cache")).toBe("MISS");
    expect((await edge(theirs.hls_url)).headers.get("x-cache")).toBe("HIT");
  });

  it("serves ranges and revalidation from its cache, and never caches the key", async () => {
    const seg = firstSegment(env);
    const url = f.hls_url.replace("master.m3u8", `v90/${seg.name}`);
    const part = await edge(url, { headers: { range: "bytes=10-109" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 10-109/${seg.bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(seg.bytes.subarray(10, 110));
    const past = await edge(url, { headers: { range: `bytes=${seg.bytes.length + 5}-` } });
    expect(past.status).toBe(416);
    const etag = part.headers.get("etag") ?? "";
    expect((await edge(url, { headers: { "if-none-match": etag } })).status).toBe(304);

    const keyUrl = f.hls_url.replace("master.m3u8", "key");
    const before = env.access.filter((a) => a.url.endsWith("/key")).length;
    for (let i = 0; i < 2; i++) {
      const key = await edge(keyUrl);
      expect(key.status).toBe(200);
      expect(key.headers.get("cache-control")).toBe("no-store");
      expect(key.headers.get("x-cache")).toBe("BYPASS");
      expect(Buffer.from(await key.arrayBuffer())).toEqual(env.key);
    }
    expect(env.access.filter((a) => a.url.endsWith("/key")).length - before).toBe(2);

    // The key is still the origin's decision per request: a viewer refused there is refused here.
    const { token, viewer } = await env.signUp();
    await env.acquire(viewer, FILM, "buy");
    const theirs = (await (
      await fetch(`${env.base}/media/play/${FILM}`, { method: "POST", headers: { authorization: `Bearer ${token}` } })
    ).json()) as FilmPlayback;
    const [item] = await env.commerce.library.list(viewer);
    await env.commerce.library.refund(viewer, item?.entitlement_id ?? "");
    const refused = await edge(theirs.hls_url.replace("master.m3u8", "key"));
    expect(refused.status).toBe(403);
    expect((await refused.json()).error.message).toMatch(/refunded/);
    // Another signed-in viewer with this viewer's link (the session reaches the origin through the edge).
    const { token: other } = await env.signUp();
    const stolen = await edge(keyUrl, { headers: { authorization: `Bearer ${other}` } });
    expect(stolen.status).toBe(403);
    expect((await stolen.json()).error.message).toMatch(/another viewer/);
    expect((await edge(keyUrl, { headers: { authorization: `Bearer ${viewerToken}` } })).status).toBe(200);
  });

  it("serves public trailers through its cache", async () => {
    const trailer = (await (await fetch(`${env.base}/media/trailer/${TRAILER_ONLY}`)).json()) as { hls_url: string };
    const a = await edge(trailer.hls_url);
    expect(a.status).toBe(200);
    expect(a.headers.get("x-cache")).toBe("MISS");
    expect((await edge(trailer.hls_url)).headers.get("x-cache")).toBe("HIT");
  });
});
