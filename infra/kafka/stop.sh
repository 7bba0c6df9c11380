#!/usr/bin/env bash
# Stop the broker started by start.sh (same KAFKA_DIR / DATA_DIR), waiting for a clean
# shutdown (SIGTERM; SIGKILL after 30 s). With --purge, also delete its data folder.
# Safe to run when nothing is running.
set -euo pipefail
# shellcheck source=infra/kafka/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

purge=false
for arg in "$@"; do
  case "$arg" in
    --purge) purge=true ;;
    *) die "unknown argument: $arg (usage: stop.sh [--purge])" ;;
  esac
done

if pid="$(kafka_pid)"; then
  log "stopping (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still running after 30 s: SIGKILL"
    kill -KILL "$pid" || true
  fi
  rm -f "$KAFKA_PID_FILE"
else
  log "not running ($KAFKA_DIR)"
fi

if $purge && [ -d "$KAFKA_DIR" ]; then
  log "deleting $KAFKA_DIR"
  rm -rf "$KAFKA_DIR"
fi
