#!/usr/bin/env bash
# Stop the server started by start.sh (same REDIS_DIR / DATA_DIR / REDIS_PORT). With --purge,
# also delete its data folder. Safe to run when nothing is running.
set -euo pipefail
# shellcheck source=infra/redis/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

parse_stop_args "$@"
stop_pid_file "$REDIS_PID_FILE" 10 || log "not running ($REDIS_DIR)"
purge_if_asked "$REDIS_DIR"
