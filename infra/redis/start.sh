#!/usr/bin/env bash
# Start a local Redis server from Debian's `redis-server` package (installing it if missing),
# listening on 127.0.0.1:${REDIS_PORT:-6379} only, data (append-only file) in $REDIS_DIR
# (default $DATA_DIR/redis). Idempotent: when it already runs, nothing changes. Progress goes
# to stderr; the last line on stdout is the REDIS_URL, so `URL=$(infra/redis/start.sh | tail -n 1)`.
set -euo pipefail
# shellcheck source=infra/redis/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

command -v redis-server >/dev/null 2>&1 || apt_install redis-server

mkdir -p "$REDIS_DIR"
if redis_pid >/dev/null && redis_ping; then
  log "already running on 127.0.0.1:$REDIS_PORT ($REDIS_DIR)"
  printf '%s\n' "$REDIS_URL_OUT"
  exit 0
fi
if redis_ping; then
  die "port $REDIS_PORT already answers but not from $REDIS_DIR: stop that server or set REDIS_PORT"
fi

log "starting on 127.0.0.1:$REDIS_PORT (log: $REDIS_LOG)"
# Loopback only, no default config file (Debian's would bind and log elsewhere), AOF for
# durability of online features across restarts, bounded memory with LRU eviction: the online
# store is a cache of recent history that the loader refills.
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
  --daemonize yes --pidfile "$REDIS_PID_FILE" --logfile "$REDIS_LOG" --dir "$REDIS_DIR" \
  --appendonly yes --appendfsync everysec --save "" \
  --maxmemory "${REDIS_MAXMEMORY:-512mb}" --maxmemory-policy allkeys-lru >&2

if wait_until 15 redis_ping; then
  log "ready"
  printf '%s\n' "$REDIS_URL_OUT"
  exit 0
fi
tail -n 20 "$REDIS_LOG" >&2 || true
die "server did not answer on 127.0.0.1:$REDIS_PORT"
