#!/usr/bin/env bash
# Stop the stripe-mock started by start.sh (same STRIPE_MOCK_DIR / DATA_DIR). stripe-mock keeps
# no state, so there is nothing to purge. Safe to run when nothing is running.
set -euo pipefail
# shellcheck source=infra/stripe-mock/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if pid="$(stripe_mock_pid)"; then
  log "stopping (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  rm -f "$STRIPE_MOCK_PID_FILE"
else
  log "not running ($STRIPE_MOCK_DIR)"
fi
