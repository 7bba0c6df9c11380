#!/usr/bin/env bash
# Start the media CDN edge: Debian's nginx with its njs module (libnginx-mod-http-js), both
# installed if missing, on 127.0.0.1:${EDGE_PORT:-8088} only, in front of the media origin at
# $EDGE_ORIGIN (default 127.0.0.1:3000). It checks every signed playback link itself (njs, HMAC
# with MEDIA_SIGNING_SECRET, the same secret the origin signs with), so an expired or tampered
# link is refused here and never reaches the origin; it caches segments for days and playlists
# for seconds, shared between viewers (the cache key is the asset's file, not the link), and
# never caches keys. Idempotent: when it already runs, nothing changes (stop it to change its
# origin or secret). Progress goes to stderr; the last line on stdout is its URL:
#   MEDIA_BASE_URL=$(MEDIA_SIGNING_SECRET=… infra/edge/start.sh | tail -n 1)
set -euo pipefail
# shellcheck source=infra/edge/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[ -n "${MEDIA_SIGNING_SECRET:-}" ] || die "set MEDIA_SIGNING_SECRET (the origin's signing secret, 32+ characters)"
[ "${#MEDIA_SIGNING_SECRET}" -ge 32 ] || die "MEDIA_SIGNING_SECRET must be at least 32 characters"
command -v nginx >/dev/null 2>&1 || apt_install nginx
[ -f "$EDGE_JS_MODULE" ] || apt_install libnginx-mod-http-js
[ -f "$EDGE_JS_MODULE" ] || die "no njs module at $EDGE_JS_MODULE (set EDGE_JS_MODULE)"

mkdir -p "$EDGE_DIR/cache" "$EDGE_DIR/tmp"
if edge_pid >/dev/null && edge_ping; then
  log "already running at $EDGE_URL ($EDGE_DIR)"
  printf '%s\n' "$EDGE_URL"
  exit 0
fi
if port_open "$EDGE_PORT"; then
  die "port $EDGE_PORT is already taken, not by the edge of $EDGE_DIR: stop that or set EDGE_PORT"
fi

# As root, the workers run as nobody (nginx's default), so they must be able to write the cache
# and temporary files. A checkout nobody can reach (under /root, or a 0700 temporary folder)
# keeps those two in /var/tmp instead, as infra/postgres does for its cluster.
user_line=""
EDGE_WORK="$EDGE_DIR"
if [ "$(id -u)" -eq 0 ]; then
  user_line="user nobody nogroup;"
  chown -R nobody:nogroup "$EDGE_DIR/cache" "$EDGE_DIR/tmp"
  if command -v runuser >/dev/null 2>&1 && ! runuser -u nobody -- test -w "$EDGE_DIR/cache"; then
    EDGE_WORK="/var/tmp/marquee-edge-$EDGE_PORT"
    log "nobody cannot reach $EDGE_DIR: cache and temporary files in $EDGE_WORK"
    mkdir -p "$EDGE_WORK/cache" "$EDGE_WORK/tmp"
    chown -R nobody:nogroup "$EDGE_WORK"
  fi
fi
sed -e "s|@USER_LINE@|$user_line|" \
  -e "s|@EDGE_DIR@|$EDGE_DIR|g" \
  -e "s|@EDGE_WORK@|$EDGE_WORK|g" \
  -e "s|@EDGE_SRC_DIR@|$EDGE_SRC_DIR|g" \
  -e "s|@EDGE_PORT@|$EDGE_PORT|g" \
  -e "s|@EDGE_ORIGIN@|$EDGE_ORIGIN|g" \
  -e "s|@EDGE_CACHE_SIZE@|$EDGE_CACHE_SIZE|g" \
  -e "s|@EDGE_JS_MODULE@|$EDGE_JS_MODULE|g" \
  "$EDGE_SRC_DIR/nginx.conf.template" >"$EDGE_CONF"

# The secret reaches njs through the environment (nginx.conf's `env` directive), never the config file.
nginx -q -t -p "$EDGE_DIR" -c "$EDGE_CONF" >&2 || die "the generated $EDGE_CONF does not load"
log "starting at $EDGE_URL → origin $EDGE_ORIGIN (log: $EDGE_LOG)"
MEDIA_SIGNING_SECRET="$MEDIA_SIGNING_SECRET" nginx -p "$EDGE_DIR" -c "$EDGE_CONF" >&2

if wait_until 15 edge_ping; then
  log "ready (pid $(cat "$EDGE_PID_FILE"))"
  printf '%s\n' "$EDGE_URL"
  exit 0
fi
tail -n 20 "$EDGE_LOG" >&2 || true
die "nginx did not answer at $EDGE_URL"
