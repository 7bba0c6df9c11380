# Shared by start.sh and stop.sh: where stripe-mock's binary, pid and log live.
# Sourced, not executed. Every message goes to stderr so start.sh's stdout ends with the URL.

SERVICE=stripe-mock
# shellcheck source=infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
STRIPE_MOCK_PORT="${STRIPE_MOCK_PORT:-12111}"
# Pinned: stripe-mock's fixtures follow Stripe's API version; the stripe SDK in package.json is tested against this.
STRIPE_MOCK_VERSION="${STRIPE_MOCK_VERSION:-v0.203.0}"

STRIPE_MOCK_DIR="$(abs_path "${STRIPE_MOCK_DIR:-${DATA_DIR:-.data}/stripe-mock}")"
# The binary is built once per version and kept outside the data folder (a purge keeps it).
STRIPE_MOCK_BIN_DIR="$(abs_path "${STRIPE_MOCK_BIN_DIR:-infra/stripe-mock/bin/$STRIPE_MOCK_VERSION}")"
STRIPE_MOCK_BIN="$STRIPE_MOCK_BIN_DIR/stripe-mock"
STRIPE_MOCK_PID_FILE="$STRIPE_MOCK_DIR/stripe-mock.pid"
STRIPE_MOCK_LOG="$STRIPE_MOCK_DIR/stripe-mock.log"
STRIPE_MOCK_URL="http://127.0.0.1:$STRIPE_MOCK_PORT"

stripe_mock_ping() {
  # Any HTTP answer will do; stripe-mock wants a key, so an unauthenticated call gets 401.
  curl -s -o /dev/null -w '%{http_code}' "$STRIPE_MOCK_URL/v1/charges" 2>/dev/null | grep -qE '^(200|401)$'
}
stripe_mock_pid() { pid_from_file "$STRIPE_MOCK_PID_FILE"; }
