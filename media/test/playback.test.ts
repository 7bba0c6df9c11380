import { createDecipheriv } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FilmPlayback } from "../src/playback-types.ts";
import { MediaSigner, type MediaTokenClaims } from "../src/signing.ts";
import {
  ADULT,
  ADULT_ASSET,
  FILM,
  FILM_ASSET,
  firstSegment,
  LINKED,
  NO_VIDEO,
  openPlaybackEnv,
  type PlaybackEnv,
  PREPARING,
  TRAILER_ONLY,
} from "./playback-env.ts";

const HOUR = 3_600_000;

/** Protected playback against the real commerce (PGlite) and a real ffmpeg-made, encrypted HLS film. */
describe("protected playback (origin)", () => {
  let env: PlaybackEnv;
  beforeAll(async () => {
    // Links last 3 days here, so a rental's end is commerce's refusal, not the link's.
    env = await openPlaybackEnv({ tokenTtlS: 72 * 3600 });
  });
  afterAll(() => env?.close());

  const get = (url: string, init: RequestInit = {}) => fetch(new URL(url, env.base), init);
  const play = async (token: string, titleId: string, body: object = {}) =>
    get(`/media/play/${titleId}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const film = async (token: string, titleId = FILM): Promise<FilmPlayback> => {
    const res = await play(token, titleId);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as FilmPlayback;
  };
  const tokenOf = (hls: string) => hls.split("/")[3] ?? "";
  const claimsOf = (hls: string) =>
    JSON.parse(Buffer.from(tokenOf(hls).split(".")[0] ?? "", "base64url").toString()) as MediaTokenClaims;
  const release = (f: FilmPlayback) =>
    get(f.heartbeat_url, { method: "POST", headers: { "content-type": "application/json" }, body: '{"ended":true}' });

  it("a buyer plays: signed playlists, the key (which decrypts the segments), and a rental's clock starts at the first key request", async () => {
    const { token, viewer } = await env.signUp();
    await env.acquire(viewer, FILM, "rent");
    const f = await film(token);
    expect(f).toMatchObject({ title_id: FILM, kind: "rent", expires_at: null, duration_s: 4, resume_at_s: 0 });
    expect(f.hls_url).toMatch(/^\/media\/s\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\/master\.m3u8$/);
    expect(f.thumbnails_vtt_url).toBe(f.hls_url.replace("master.m3u8", "thumbs/thumbs.vtt"));
    expect(f.poster_url).toBe(`/media/public/titles/${FILM}/film/${FILM_ASSET}/poster.jpg`);

    const master = await get(f.hls_url);
    expect(master.status).toBe(200);
    expect(master.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    expect(master.headers.get("cache-control")).toBe("private, max-age=10");
    expect(await master.text()).toContain("v90/index.m3u8");
    const mediaUrl = f.hls_url.replace("master.m3u8", "v90/index.m3u8");
    const playlist = await (await get(mediaUrl)).text();
    expect(playlist).toContain('#EXT-X-KEY:METHOD=AES-128,URI="../key"');
    // The playlist's relative URIs resolve under the same token.
    const keyUrl = new URL("../key", new URL(mediaUrl, env.base)).pathname;
    expect(keyUrl).toBe(f.hls_url.replace("master.m3u8", "key"));

    // Not played yet: the rental's 48 h have not started.
    let lib = await env.commerce.library.list(viewer);
    expect(lib.find((l) => l.title_id === FILM)?.first_played_at).toBeNull();
    const key = await get(keyUrl);
    expect(key.status).toBe(200);
    expect(key.headers.get("cache-control")).toBe("no-store");
    const bytes = Buffer.from(await key.arrayBuffer());
    expect(bytes).toEqual(env.key);
    lib = await env.commerce.library.list(viewer);
    const rental = lib.find((l) => l.title_id === FILM);
    expect(rental?.first_played_at).toBe(env.clock.now().toISOString());
    expect(new Date(rental?.expires_at ?? 0).getTime() - env.clock.now().getTime()).toBe(48 * HOUR);

    // The served key really decrypts the served segment: MPEG-TS packets start with 0x47.
    const seg = firstSegment(env);
    const segRes = await get(f.hls_url.replace("master.m3u8", `v90/${seg.name}`));
    expect(segRes.headers.get("content-type")).toBe("video/mp2t");
    expect(segRes.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const enc = Buffer.from(await segRes.arrayBuffer());
    const d = createDecipheriv("aes-128-cbc", bytes, env.iv);
    const plain = Buffer.concat([d.update(enc), d.final()]);
    expect(plain[0]).toBe(0x47);
    expect(plain[188]).toBe(0x47);
    await release(f);
  });

  it("refuses the key without an entitlement: not bought, refunded, or another account's", async () => {
    const { token, viewer } = await env.signUp();
    const refused = await play(token, FILM);
    expect(refused.status).toBe(403);
    expect((await refused.json()).error.message).toMatch(/not bought or rented/);

    await env.acquire(viewer, FILM, "buy");
    const f = await film(token);
    const [item] = await env.commerce.library.list(viewer);
    await env.commerce.library.refund(viewer, item?.entitlement_id ?? "");
    const key = await get(f.hls_url.replace("master.m3u8", "key"));
    expect(key.status).toBe(403);
    expect((await key.json()).error.message).toMatch(/refunded/);

    // A validly signed link naming another account's entitlement (the secret leaked, say).
    const { token: otherToken, viewer: other } = await env.signUp();
    await env.acquire(other, FILM, "buy");
    const theirs = claimsOf((await film(otherToken)).hls_url);
    const { v: _v, ...rest } = theirs;
    const forged = env.signer.sign({ ...rest, uid: viewer.userId, pid: viewer.profile.id });
    const stolen = await get(`/media/s/${forged}/key`);
    expect(stolen.status).toBe(404);
  });

  it("refuses the key once a rental's 48 hours are over, and the heartbeat stops it", async () => {
    const { token, viewer } = await env.signUp();
    await env.acquire(viewer, FILM, "rent");
    const f = await film(token);
    const keyUrl = f.hls_url.replace("master.m3u8", "key");
    expect((await get(keyUrl)).status).toBe(200);
    env.clock.advance(47 * HOUR);
    // Kept alive by heartbeats in between, the stream still holds its slot.
    const beat = await get(f.heartbeat_url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(beat.status).toBe(200);
    expect((await get(keyUrl)).status).toBe(200);
    env.clock.advance(2 * HOUR);
    const late = await get(keyUrl);
    expect(late.status).toBe(403);
    expect((await late.json()).error.message).toMatch(/watch window is over/);
    const hb = await get(f.heartbeat_url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(hb.status).toBe(403);
    expect((await play(token, FILM)).status).toBe(403);
  });

  it("a title playing another's rendition (a demo title's pool clip) plays from that root, with its own entitlement", async () => {
    const { token, viewer } = await env.signUp();
    await env.acquire(viewer, LINKED, "buy");
    const f = await film(token, LINKED);
    expect(claimsOf(f.hls_url)).toMatchObject({ tid: LINKED, root: `titles/${FILM}/film/${FILM_ASSET}` });
    expect(f.poster_url).toBe(`/media/public/titles/${FILM}/film/${FILM_ASSET}/poster.jpg`);
    expect((await get(f.hls_url.replace("master.m3u8", "v90/index.m3u8"))).status).toBe(200);
    const key = await get(f.hls_url.replace("master.m3u8", "key"));
    expect(Buffer.from(await key.arrayBuffer())).toEqual(env.key);
    // Owning the linked title is not owning the pool's.
    expect((await play(token, FILM)).status).toBe(403);
    await release(f);
  });

  it("refuses the key to another signed-in account using someone's link", async () => {
    const { token, viewer } = await env.signUp();
    await env.acquire(viewer, FILM, "buy");
    const f = await film(token);
    const keyUrl = f.hls_url.replace("master.m3u8", "key");
    const { token: other } = await env.signUp();
    const res = await get(keyUrl, { headers: { authorization: `Bearer ${other}` } });
    expect(res.status).toBe(403);
    expect((await res.json()).error.message).toBe("this playback link belongs to another viewer");
    expect((await get(keyUrl, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await release(f);
  });

  it("refuses a kids' profile above its limit: no link for it, and a link for its profile gets no key", async () => {
    const { token, viewer } = await env.signUp();
    await env.acquire(viewer, ADULT, "buy");
    const adult = await film(token, ADULT);
    const kids = await env.commerce.accounts.createProfile(viewer, {
      name: "Kid",
      kind: "kids",
      max_age_rating: "PG",
      pin: "1234",
    });
    await env.commerce.accounts.selectProfile(viewer, kids.id);
    // For the kids' profile the title does not exist.
    expect((await play(token, ADULT)).status).toBe(404);
    // A link made out to the kids' profile (as if signed before its limit applied).
    const { v: _v, ...rest } = claimsOf(adult.hls_url);
    const kidsLink = env.signer.sign({ ...rest, pid: kids.id, sid: "kids-stream" });
    const key = await get(`/media/s/${kidsLink}/key`);
    expect(key.status).toBe(403);
    expect((await key.json()).error.message).toMatch(/age limit/);
    await release(adult);
  });

  it("tampered, expired and other titles' links are 403; paths cannot leave the asset", async () => {
    const { token, viewer } = await env.signUp();
    await env.acquire(viewer, FILM, "buy");
    const f = await film(token);
    const tok = tokenOf(f.hls_url);
    const [body, mac] = tok.split(".") as [string, string];
    const claims = claimsOf(f.hls_url);
    // The payload rewritten to another title's film, the signature kept.
    const otherBody = Buffer.from(
      JSON.stringify({ ...claims, root: `titles/${ADULT}/film/${ADULT_ASSET}`, tid: ADULT, aid: ADULT_ASSET }),
    ).toString("base64url");
    const flipped = `${mac.slice(0, -2)}${mac.endsWith("A") ? "B" : "A"}${mac.slice(-1)}`;
    for (const bad of [`${otherBody}.${mac}`, `${body}.${flipped}`, `${body}x.${mac}`, `${body}`, "nonsense"]) {
      const res = await get(`/media/s/${bad}/master.m3u8`);
      expect(res.status, bad).toBe(403);
      expect((await res.json()).error.message).toBe("this playback link is not valid");
    }
    // Signed by someone else's secret.
    const foreign = new MediaSigner("another-secret-entirely-0123456789abcdef", env.clock.now);
    const { v: _v, ...rest } = claims;
    expect((await get(`/media/s/${foreign.sign(rest)}/master.m3u8`)).status).toBe(403);
    // Expired: the same claims, past their end.
    const expired = env.signer.sign({ ...rest, exp: Math.floor(env.clock.now().getTime() / 1000) - 1 });
    const old = await get(`/media/s/${expired}/master.m3u8`);
    expect(old.status).toBe(403);
    expect((await old.json()).error.message).toMatch(/expired/);
    // Out of the asset's folder, however spelled.
    for (const p of [`..%2F..%2F..%2F${ADULT_ASSET}%2Fmaster.m3u8`, "%2e%2e/key", "v90/..%2Fmaster.m3u8", ".hidden"]) {
      const res = await get(`/media/s/${tok}/${p}`);
      expect([400, 403, 404], p).toContain(res.status);
    }
    expect((await get(`/media/s/${tok}/nothing-here.ts`)).status).toBe(404);
    await release(f);
  });

  it("answers playlists from memory with the same bytes, ranges, HEAD and ETags as from storage", async () => {
    const { token, viewer } = await env.signUp();
    await env.acquire(viewer, FILM, "buy");
    const f = await film(token);
    const url = f.hls_url.replace("master.m3u8", "v90/index.m3u8");
    // Concurrent first requests share one read; later ones come from memory.
    const first = await Promise.all([get(url), get(url), get(url)]);
    const bodies = await Promise.all(first.map((r) => r.text()));
    expect(new Set(bodies).size).toBe(1);
    const body = Buffer.from(bodies[0] ?? "");
    expect(body.toString()).toContain("#EXTM3U");
    const etag = first[0]?.headers.get("etag") ?? "";
    expect(first.map((r) => r.headers.get("etag"))).toEqual([etag, etag, etag]);
    const part = await get(url, { headers: { range: "bytes=0-6" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 0-6/${body.length}`);
    expect(await part.text()).toBe("#EXTM3U");
    const head = await get(url, { method: "HEAD" });
    expect(head.headers.get("content-length")).toBe(String(body.length));
    expect(await head.text()).toBe("");
    expect((await get(url, { headers: { "if-none-match": etag } })).status).toBe(304);
    expect((await get(f.hls_url.replace("master.m3u8", "v90/missing.m3u8"))).status).toBe(404);
    await release(f);
  });

  it("Range (206 with the right bytes, suffix, 416), HEAD, ETag 304 and MIME types", async () => {
    const { token, viewer } = await env.signUp();
    await env.acquire(viewer, FILM, "buy");
    const f = await film(token);
    const seg = firstSegment(env);
    const url = f.hls_url.replace("master.m3u8", `v90/${seg.name}`);
    const size = seg.bytes.length;

    const part = await get(url, { headers: { range: "bytes=100-299" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 100-299/${size}`);
    expect(part.headers.get("content-length")).toBe("200");
    expect(Buffer.from(await part.arrayBuffer())).toEqual(seg.bytes.subarray(100, 300));
    const tail = await get(url, { headers: { range: "bytes=-50" } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(seg.bytes.subarray(size - 50));
    const open = await get(url, { headers: { range: `bytes=${size - 10}-` } });
    expect(Buffer.from(await open.arrayBuffer())).toEqual(seg.bytes.subarray(size - 10));
    const past = await get(url, { headers: { range: `bytes=${size}-${size + 10}` } });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${size}`);

    const head = await get(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(size));
    expect(head.headers.get("accept-ranges")).toBe("bytes");
    const etag = head.headers.get("etag") ?? "";
    expect(etag).toMatch(/^".+"$/);
    const again = await get(url, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(etag);
    expect((await get(url, { headers: { "if-none-match": '"other"' } })).status).toBe(200);

    const types: Record<string, string> = {
      "v90/index.m3u8": "application/vnd.apple.mpegurl",
      "v90/extra_001.m4s": "video/iso.segment",
      "thumbs/thumbs.vtt": "text/vtt; charset=utf-8",
      "thumbs/sprite.jpg": "image/jpeg",
    };
    for (const [p, type] of Object.entries(types)) {
      const res = await get(f.hls_url.replace("master.m3u8", p));
      expect(res.status, p).toBe(200);
      expect(res.headers.get("content-type"), p).toBe(type);
      expect(res.headers.get("cache-control"), p).toBe(
        p.endsWith(".m3u8") ? "private, max-age=10" : "public, max-age=31536000, immutable",
      );
    }
    await release(f);
  });

  it("a fourth stream is refused with a clear message; heartbeats keep streams, silence frees them; a rental plays on one device", async () => {
    const { token, viewer } = await env.signUp();
    await env.acquire(viewer, FILM, "buy");
    const streams = [await film(token), await film(token), await film(token)];
    const fourth = await play(token, FILM);
    expect(fourth.status).toBe(409);
    expect((await fourth.json()).error).toEqual({
      code: "stream_limit",
      message: "Your account is already playing 3 streams: stop one of them to watch here",
      limit: 3,
    });

    // 60 s later the first two heartbeat (position saved, link renewed); the third went quiet.
    env.clock.advance(60_000);
    for (const s of streams.slice(0, 2)) {
      const res = await get(s.heartbeat_url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ position_s: 61, duration_s: 4 }),
      });
      expect(res.status).toBe(200);
      const renewed = (await res.json()) as { hls_url: string; hls_token: string; token_expires_at: string };
      expect(renewed.hls_url).toBe(`/media/s/${renewed.hls_token}/master.m3u8`);
      expect(new Date(renewed.token_expires_at).getTime()).toBeGreaterThan(new Date(s.token_expires_at).getTime());
      expect((await get(renewed.hls_url)).status).toBe(200);
    }
    env.clock.advance(40_000); // the third: 100 s without a heartbeat, over the 90 s
    const fresh = await film(token);
    expect(fresh.resume_at_s).toBe(61);
    // The third comes back: its slot was taken meanwhile.
    const back = await get(streams[2]?.heartbeat_url ?? "", { method: "POST" });
    expect(back.status).toBe(409);
    expect((await back.json()).error.code).toBe("stream_limit");
    // Ending one frees its slot at once (here as a closing tab's sendBeacon sends it: text/plain).
    const ended = await get(fresh.heartbeat_url, {
      method: "POST",
      headers: { "content-type": "text/plain;charset=UTF-8" },
      body: '{"ended":true,"position_s":3}',
    });
    expect(ended.status).toBe(204);
    expect((await play(token, FILM)).status).toBe(200);

    // A rental: one device at a time, whatever the account's limit.
    const { token: rt, viewer: rv } = await env.signUp();
    await env.acquire(rv, FILM, "rent");
    const first = await film(rt);
    const second = await play(rt, FILM);
    expect(second.status).toBe(409);
    expect((await second.json()).error.message).toMatch(/rental is playing on another device/);
    await release(first);
    expect((await play(rt, FILM)).status).toBe(200);
  });

  it("bad heartbeat bodies are 400s with a reason", async () => {
    const { token, viewer } = await env.signUp();
    await env.acquire(viewer, FILM, "buy");
    const f = await film(token);
    for (const body of ['{"position_s":-3}', '{"position_s":"ten"}', "[1]", '{"ended":"yes"}']) {
      const res = await get(f.heartbeat_url, { method: "POST", headers: { "content-type": "application/json" }, body });
      expect(res.status, body).toBe(400);
      expect((await res.json()).error.message).toBeTruthy();
    }
    await release(f);
  });

  it("a film still transcoding says so (409); a title without video is 404; trailers are public", async () => {
    const { token, viewer } = await env.signUp();
    await env.acquire(viewer, PREPARING, "buy");
    await env.acquire(viewer, NO_VIDEO, "buy");
    const prep = await play(token, PREPARING);
    expect(prep.status).toBe(409);
    expect((await prep.json()).error.message).toBe("This film is still being prepared");
    expect((await play(token, NO_VIDEO)).status).toBe(404);
    expect((await play("not-a-session", FILM)).status).toBe(401);

    const trailer = await (await get(`/media/trailer/${TRAILER_ONLY}`)).json();
    expect(trailer).toMatchObject({ title_id: TRAILER_ONLY, status: "ready", duration_s: 4 });
    const master = await get(trailer.hls_url);
    expect(master.status).toBe(200);
    expect(master.headers.get("cache-control")).toBe("public, max-age=30");
    expect((await get(trailer.hls_url.replace("master.m3u8", "v90/index.m3u8"))).status).toBe(200);
    expect((await get(`/media/trailer/${FILM}`)).status).toBe(404);
    // A film is public by its poster only.
    expect((await get(`/media/public/titles/${FILM}/film/${FILM_ASSET}/poster.jpg`)).status).toBe(200);
    expect((await get(`/media/public/titles/${FILM}/film/${FILM_ASSET}/master.m3u8`)).status).toBe(403);
    expect((await get(`/media/public/titles/${FILM}/film/${FILM_ASSET}/key`)).status).toBe(403);
  });
});
