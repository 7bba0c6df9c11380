#!/usr/bin/env bash
# Stop the server started by start.sh (same S3_DIR / DATA_DIR). With --purge, also delete its
# data folder. Safe to run when nothing is running.
set -euo pipefail
# shellcheck source=infra/s3/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

parse_stop_args "$@"
stop_pid_file "$S3_PID_FILE" 15 || log "not running ($S3_DIR)"
purge_if_asked "$S3_DIR"
