#!/usr/bin/env bash
# Stop the server started by start.sh (same REDIS_DIR / DATA_DIR / REDIS_PORT). With --purge,
# also delete its data folder. Safe to run when nothing is running.
set -euo pipefail
# shellcheck source=infra/redis/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

purge=false
for arg in "$@"; do
  case "$arg" in
    --purge) purge=true ;;
    *) die "unknown argument: $arg (usage: stop.sh [--purge])" ;;
  esac
done

if pid="$(redis_pid)"; then
  log "stopping (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  rm -f "$REDIS_PID_FILE"
else
  log "not running ($REDIS_DIR)"
fi

if $purge && [ -d "$REDIS_DIR" ]; then
  log "deleting $REDIS_DIR"
  rm -rf "$REDIS_DIR"
fi
