#!/usr/bin/env bash
# Stop the edge started by start.sh (same EDGE_DIR / DATA_DIR). With --purge, also delete its
# folder (config, cache, logs). Safe to run when nothing is running.
set -euo pipefail
# shellcheck source=infra/edge/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

parse_stop_args "$@"
stop_pid_file "$EDGE_PID_FILE" 10 || log "not running ($EDGE_DIR)"
purge_if_asked "$EDGE_DIR"
# start.sh's fallback for a checkout its workers cannot reach.
purge_if_asked "/var/tmp/marquee-edge-$EDGE_PORT"
