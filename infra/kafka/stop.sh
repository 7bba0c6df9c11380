#!/usr/bin/env bash
# Stop the broker started by start.sh (same KAFKA_DIR / DATA_DIR), waiting for a clean
# shutdown (SIGTERM; SIGKILL after 30 s). With --purge, also delete its data folder.
# Safe to run when nothing is running.
set -euo pipefail
# shellcheck source=infra/kafka/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

parse_stop_args "$@"
stop_pid_file "$KAFKA_PID_FILE" 30 || log "not running ($KAFKA_DIR)"
purge_if_asked "$KAFKA_DIR"
