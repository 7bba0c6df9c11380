#!/usr/bin/env bash
# Stop the server started by start.sh (same PG_DIR / DATA_DIR / PGPORT). With --purge, also
# delete its data folder. Safe to run when nothing is running.
set -euo pipefail
# shellcheck source=infra/postgres/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

parse_stop_args "$@"

if find_pg_bin && pg_running; then
  log "stopping ($PGDATA_DIR)"
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop >&2
else
  log "not running ($PGDATA_DIR)"
fi

purge_if_asked "$PG_DIR"
