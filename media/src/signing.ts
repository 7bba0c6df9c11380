import { createHmac, timingSafeEqual } from "node:crypto";
import { AppError } from "@marquee/runtime";

/**
 * Signed, expiring playback links. The token sits in the URL path
 * (`/media/s/<token>/master.m3u8`), so the relative URIs inside the playlists
 * (`v720/index.m3u8`, `seg_001.m4s`, `../key`) resolve under the same token without rewriting.
 *
 * Format: `base64url(JSON payload) "." base64url(HMAC-SHA256(secret, <the first part as sent>))`,
 * simple enough that the nginx edge checks it in njs (infra/edge/edge.js) with the same secret.
 * The payload pins the asset root: every file a token reaches is `<root>/<path>`, so a token for
 * one title's film can never name another's files, and changing the root breaks the MAC.
 */
export interface MediaTokenClaims {
  /** Format version; the edge refuses any other. */
  v: 1;
  /**
   * The asset root in storage: `titles/<titleId>/film/<assetId>`, or the root of the rendition
   * the asset shares (demo titles play a pool clip's files).
   */
  root: string;
  /** The viewer: account and profile. */
  uid: string;
  pid: string;
  /** The title and its asset. */
  tid: string;
  aid: string;
  /** The commerce entitlement the key request checks. */
  ent: string;
  /** The stream (one per Play), for the concurrent-stream limit. */
  sid: string;
  /** A rental (plays on one device at a time). */
  rent: boolean;
  /** Expiry, Unix seconds. */
  exp: number;
}

/** Storage ids as the pipeline makes them: no slashes, no dots, nothing to escape. */
const ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The storage folder of one asset (`titles/<title>/<kind>/<asset>`), ids checked. */
export function assetRoot(titleId: string, kind: "film" | "trailer", assetId: string): string {
  if (!ID.test(titleId) || !ID.test(assetId)) throw new AppError("not_found", "no such title");
  return `titles/${titleId}/${kind}/${assetId}`;
}

export type TokenProblem = "malformed" | "bad_signature" | "expired";

export type VerifiedToken = { ok: true; claims: MediaTokenClaims } | { ok: false; problem: TokenProblem };

/** What a signed link may pin: one asset's folder, nothing above or beside it. */
export const ASSET_ROOT = /^titles\/[A-Za-z0-9_-]{1,128}\/(?:film|trailer)\/[A-Za-z0-9_-]{1,128}$/;

const VERIFIED_MAX = 10_000;

export class MediaSigner {
  /**
   * Links already verified, by their exact text (the MAC covers every byte of it): a player
   * sends the same link with every segment and playlist, so the HMAC runs once per link.
   */
  private readonly verified = new Map<string, MediaTokenClaims>();

  constructor(
    private readonly secret: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    // A short secret makes every link forgeable offline.
    if (secret.length < 32) throw new Error("the media signing secret must be at least 32 characters");
  }

  sign(claims: Omit<MediaTokenClaims, "v">): string {
    const body = Buffer.from(JSON.stringify({ v: 1, ...claims })).toString("base64url");
    return `${body}.${this.mac(body)}`;
  }

  /**
   * Checks the MAC (constant time, over the text as sent: base64 decoding skips stray characters,
   * so decoded bytes could match for a token that was tampered with), then the payload's shape,
   * then the expiry.
   */
  verify(token: string): VerifiedToken {
    const known = this.verified.get(token);
    if (known) {
      if (known.exp * 1000 <= this.now().getTime()) {
        this.verified.delete(token);
        return { ok: false, problem: "expired" };
      }
      return { ok: true, claims: known };
    }
    const checked = this.check(token);
    if (checked.ok) {
      this.verified.set(token, checked.claims);
      // Oldest first (Map order): a bounded memory of the links being played right now.
      if (this.verified.size > VERIFIED_MAX) this.verified.delete(this.verified.keys().next().value as string);
    }
    return checked;
  }

  private check(token: string): VerifiedToken {
    const parts = token.split(".");
    if (parts.length !== 2 || !parts[0] || !parts[1] || token.length > 2048) return { ok: false, problem: "malformed" };
    const [body, mac] = parts as [string, string];
    const given = Buffer.from(mac, "utf8");
    const expected = Buffer.from(this.mac(body), "utf8");
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return { ok: false, problem: "bad_signature" };
    let claims: MediaTokenClaims;
    try {
      claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    } catch {
      return { ok: false, problem: "malformed" };
    }
    const strings = [claims?.root, claims?.uid, claims?.pid, claims?.tid, claims?.aid, claims?.ent, claims?.sid];
    if (
      claims?.v !== 1 ||
      strings.some((s) => typeof s !== "string" || s === "") ||
      typeof claims.exp !== "number" ||
      typeof claims.rent !== "boolean" ||
      !ASSET_ROOT.test(claims.root)
    )
      return { ok: false, problem: "malformed" };
    if (claims.exp * 1000 <= this.now().getTime()) return { ok: false, problem: "expired" };
    return { ok: true, claims };
  }

  private mac(body: string): string {
    return createHmac("sha256", this.secret).update(body).digest("base64url");
  }
}

/** What a refused link is told (the edge answers the same words). */
export const TOKEN_REFUSALS: Record<TokenProblem, string> = {
  malformed: "this playback link is not valid",
  bad_signature: "this playback link is not valid",
  expired: "this playback link has expired: press Play again",
};
