#!/usr/bin/env bash
# Stop the server started by start.sh (same PG_DIR / DATA_DIR / PGPORT). With --purge, also
# delete its data folder. Safe to run when nothing is running.
set -euo pipefail
# shellcheck source=infra/postgres/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

purge=false
for arg in "$@"; do
  case "$arg" in
    --purge) purge=true ;;
    *) die "unknown argument: $arg (usage: stop.sh [--purge])" ;;
  esac
done

if find_pg_bin && pg_running; then
  log "stopping ($PGDATA_DIR)"
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop >&2
else
  log "not running ($PGDATA_DIR)"
fi

if $purge && [ -d "$PG_DIR" ]; then
  log "deleting $PG_DIR"
  rm -rf "$PG_DIR"
fi
