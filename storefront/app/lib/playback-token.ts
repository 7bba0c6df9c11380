/**
 * Signed playback URLs carry their token as a path segment (`/media/s/<token>/…`): the master
 * playlist's folder is the prefix every playlist, key and segment under it shares. When the
 * heartbeat renews the token, requests still built from an older prefix (the player resolves
 * everything against the master it started with) are rewritten to the newest one, so a film
 * longer than one token's life keeps playing.
 */

/** The folder of a playlist URL, absolute, with its trailing slash. */
export function tokenPrefix(hlsUrl: string, base: string): string {
  const url = new URL(hlsUrl, base);
  url.search = "";
  url.hash = "";
  return url.href.slice(0, url.href.lastIndexOf("/") + 1);
}

export class TokenRewriter {
  private readonly old = new Set<string>();
  private current: string;

  constructor(
    hlsUrl: string,
    private readonly base: string,
  ) {
    this.current = tokenPrefix(hlsUrl, base);
  }

  /** Takes a renewed master URL: later requests go under its prefix. */
  renew(hlsUrl: string): void {
    const next = tokenPrefix(hlsUrl, this.base);
    if (next === this.current) return;
    this.old.add(this.current);
    this.old.delete(next);
    this.current = next;
  }

  /** `uri` under the newest token when it was built under an older one; anything else as is. */
  rewrite(uri: string): string {
    let abs: string;
    try {
      abs = new URL(uri, this.base).href;
    } catch {
      return uri;
    }
    for (const prefix of this.old) if (abs.startsWith(prefix)) return this.current + abs.slice(prefix.length);
    return uri;
  }
}
