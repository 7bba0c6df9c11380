#!/usr/bin/env bash
# Stop the stripe-mock started by start.sh (same STRIPE_MOCK_DIR / DATA_DIR). stripe-mock keeps
# no state, so there is nothing to purge. Safe to run when nothing is running.
set -euo pipefail
# shellcheck source=infra/stripe-mock/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

stop_pid_file "$STRIPE_MOCK_PID_FILE" 10 || log "not running ($STRIPE_MOCK_DIR)"
