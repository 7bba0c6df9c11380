#!/usr/bin/env bash
# Start stripe-mock (Stripe's API, answered from its OpenAPI spec and fixtures) on
# 127.0.0.1:${STRIPE_MOCK_PORT:-12111}, building it first with `go install` when missing
# (Go modules come from the Go proxy). Idempotent: when it already runs, nothing changes.
# Progress goes to stderr; the last line on stdout is its URL:
#   STRIPE_API_URL=$(infra/stripe-mock/start.sh | tail -n 1)
set -euo pipefail
# shellcheck source=infra/stripe-mock/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [ ! -x "$STRIPE_MOCK_BIN" ]; then
  command -v go >/dev/null 2>&1 || die "go not found: stripe-mock is built with 'go install'"
  log "building github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION into $STRIPE_MOCK_BIN_DIR"
  mkdir -p "$STRIPE_MOCK_BIN_DIR"
  GOBIN="$STRIPE_MOCK_BIN_DIR" GOFLAGS=-mod=mod go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION" >&2
fi

mkdir -p "$STRIPE_MOCK_DIR"
if stripe_mock_pid >/dev/null && stripe_mock_ping; then
  log "already running at $STRIPE_MOCK_URL"
  printf '%s\n' "$STRIPE_MOCK_URL"
  exit 0
fi
# Anything listening on the port, stripe-mock or not.
if port_open "$STRIPE_MOCK_PORT"; then
  die "port $STRIPE_MOCK_PORT is already taken, not by the stripe-mock of $STRIPE_MOCK_DIR: stop that or set STRIPE_MOCK_PORT"
fi

log "starting at $STRIPE_MOCK_URL (log: $STRIPE_MOCK_LOG)"
# Loopback only: -http-addr instead of -http-port (which binds every interface), and its HTTPS
# listener, which it opens on *:12112 unless told otherwise, on a loopback port of the
# system's choosing (nothing here uses it).
nohup "$STRIPE_MOCK_BIN" -http-addr "127.0.0.1:$STRIPE_MOCK_PORT" -https-addr "127.0.0.1:0" \
  >"$STRIPE_MOCK_LOG" 2>&1 &
echo $! >"$STRIPE_MOCK_PID_FILE"

if wait_until --while-pid "$(cat "$STRIPE_MOCK_PID_FILE")" 20 stripe_mock_ping; then
  log "ready"
  printf '%s\n' "$STRIPE_MOCK_URL"
  exit 0
fi
tail -n 20 "$STRIPE_MOCK_LOG" >&2 || true
die "stripe-mock did not answer at $STRIPE_MOCK_URL"
