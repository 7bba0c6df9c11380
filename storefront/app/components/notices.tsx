import type { PlaybackGrant } from "@marquee/commerce";
import { formatDateTime } from "../lib/format";

/** The honest purchase notice (California AB 2426): a licence to watch, not ownership. */
export function LicenceNotice() {
  return (
    <p className="licence-notice">
      <strong>You're buying a licence to watch this film, not ownership of it.</strong> You can stream it from your
      Marquee library on your devices; it can't be downloaded to keep, and it may become unavailable if the rights
      holder or Marquee stops offering it.
    </p>
  );
}

export function GrantNotice({ grant }: { grant: PlaybackGrant }) {
  return (
    <div className="grant" role="status">
      <p>
        <strong>Playback authorised</strong> in {grant.quality}
        {grant.expires_at ? `, until ${formatDateTime(grant.expires_at)}` : ""}.
      </p>
      <p className="muted">
        The player arrives with Marquee's media step; this grant (valid until {formatDateTime(grant.token_expires_at)})
        is what it will use to stream.
      </p>
    </div>
  );
}
