import { useEffect, useRef, useState } from "react";
import type { MountedPlayer, PlayerSetup } from "../lib/player.client";

/**
 * video.js in React, browser-only: the server renders an empty stage (with the poster), and an
 * effect loads video.js (its own chunk, so pages without a player never download it) and mounts
 * it into a node React does not manage. Pages that show it link video.js's stylesheet
 * (`videoJsStylesheet` in their `links`).
 */
export function VideoPlayer(
  props: Omit<PlayerSetup, "onStopped"> & {
    autoPlay?: boolean;
    onStopped?: PlayerSetup["onStopped"];
    className?: string;
  },
) {
  const stage = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState(false);
  const onStopped = useRef(props.onStopped);
  onStopped.current = props.onStopped;
  const { autoPlay, className, ...setup } = props;
  // Remount only when what plays changes (a renewed token is the player's own business).
  const key = `${setup.mode}|${setup.titleId}|${setup.hlsUrl}`;

  // biome-ignore lint/correctness/useExhaustiveDependencies: keyed on what plays, see `key`.
  useEffect(() => {
    let mounted: MountedPlayer | null = null;
    let cancelled = false;
    (window as unknown as { VIDEOJS_NO_DYNAMIC_STYLE: boolean }).VIDEOJS_NO_DYNAMIC_STYLE = true;
    import("../lib/player.client")
      .then(({ mountPlayer }) => {
        if (cancelled || !stage.current) return;
        mounted = mountPlayer(stage.current, { ...setup, onStopped: (s) => onStopped.current?.(s) });
        if (autoPlay) {
          // Browsers may refuse to start with sound before a gesture: the big play button stays.
          void mounted.player.play()?.catch(() => {});
        }
        mounted.player.focus();
      })
      .catch(() => {
        if (!cancelled) setFailed(true);
      });
    return () => {
      cancelled = true;
      mounted?.dispose();
    };
  }, [key]);

  return (
    <div className={`player-stage${className ? ` ${className}` : ""}`} data-player={setup.mode}>
      <div ref={stage} className="player-mount" />
      {failed ? (
        <p className="player-failed" role="alert">
          The player could not load. Check your connection and reload the page.
        </p>
      ) : null}
    </div>
  );
}
