import { describe, expect, it } from "vitest";
import { assetRoot, MediaSigner } from "./signing.ts";

const SECRET = "signing-unit-test-secret-0123456789abcdef";
const claims = {
  root: "titles/t1/film/a1",
  uid: "u1",
  pid: "p1",
  tid: "t1",
  aid: "a1",
  ent: "e1",
  sid: "s1",
  rent: false,
  exp: 2_000_000_000,
};

describe("signed playback links", () => {
  const now = new Date(1_900_000_000_000);
  const signer = new MediaSigner(SECRET, () => now);

  it("round-trips, in a URL-path-safe form", () => {
    const token = signer.sign(claims);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(signer.verify(token)).toEqual({ ok: true, claims: { v: 1, ...claims } });
  });

  it("refuses tampering, another secret, a root that does not match its ids, and expiry", () => {
    const token = signer.sign(claims);
    const [body, mac] = token.split(".") as [string, string];
    const swapped = Buffer.from(JSON.stringify({ v: 1, ...claims, root: "titles/t2/film/a2" })).toString("base64url");
    expect(signer.verify(`${swapped}.${mac}`)).toEqual({ ok: false, problem: "bad_signature" });
    expect(signer.verify(`${body}.${mac.slice(1)}A`)).toEqual({ ok: false, problem: "bad_signature" });
    expect(signer.verify(`${body}.${mac}.x`)).toEqual({ ok: false, problem: "malformed" });
    expect(new MediaSigner(`${SECRET}-other`, () => now).verify(token).ok).toBe(false);
    // A root is one asset's folder, nothing else, even when signed.
    for (const root of [
      "titles/t1/film/a1/..",
      "titles/t1/film",
      "titles/../film/a1",
      "etc/passwd",
      "titles/t1/source/a1",
    ])
      expect(signer.verify(signer.sign({ ...claims, root })), root).toEqual({ ok: false, problem: "malformed" });
    // A shared rendition (a demo title playing a pool clip) is pinned like any other.
    expect(signer.verify(signer.sign({ ...claims, root: "titles/pool/film/clip3" })).ok).toBe(true);
    expect(signer.verify(signer.sign({ ...claims, exp: now.getTime() / 1000 }))).toEqual({
      ok: false,
      problem: "expired",
    });
  });

  it("remembers a verified link, and still refuses it once it expires", () => {
    let t = 1_900_000_000_000;
    const clock = new MediaSigner(SECRET, () => new Date(t));
    const token = clock.sign({ ...claims, exp: t / 1000 + 60 });
    expect(clock.verify(token).ok).toBe(true);
    expect(clock.verify(token).ok).toBe(true);
    t += 61_000;
    expect(clock.verify(token)).toEqual({ ok: false, problem: "expired" });
    expect(clock.verify(token)).toEqual({ ok: false, problem: "expired" });
    // A link is remembered by its exact text: one byte off is checked, and refused.
    expect(clock.verify(`${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`).ok).toBe(false);
  });

  it("refuses short secrets and ids that could leave their folder", () => {
    expect(() => new MediaSigner("short")).toThrow(/32 characters/);
    expect(() => assetRoot("../t1", "film", "a1")).toThrow();
    expect(assetRoot("t1", "trailer", "a-1_b")).toBe("titles/t1/trailer/a-1_b");
  });
});
