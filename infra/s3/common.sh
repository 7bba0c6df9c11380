# Shared by start.sh and stop.sh: where the S3 server (SeaweedFS, Apache-2.0) lives.
# Sourced, not executed. Every message goes to stderr so start.sh's stdout ends with the URL.

SERVICE=s3
# shellcheck source=infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
S3_PORT="${S3_PORT:-8333}"
# SeaweedFS's own master, volume and filer servers, on loopback ports next to the S3 one.
S3_MASTER_PORT="${S3_MASTER_PORT:-$((S3_PORT + 1000))}"
S3_VOLUME_PORT="${S3_VOLUME_PORT:-$((S3_PORT + 1001))}"
S3_FILER_PORT="${S3_FILER_PORT:-$((S3_PORT + 1002))}"
# Pinned: the Go module proxy's pseudo-version of github.com/seaweedfs/seaweedfs.
SEAWEEDFS_VERSION="${SEAWEEDFS_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}"
S3_ACCESS_KEY="${S3_ACCESS_KEY:-marquee}"
S3_SECRET_KEY="${S3_SECRET_KEY:-marquee-secret}"

S3_DIR="$(abs_path "${S3_DIR:-${DATA_DIR:-.data}/s3}")"
# The binary is built once per version (minutes) into the user's cache, outside the data folder
# and the checkout, so a purge or a fresh clone keeps it.
S3_BIN_DIR="$(abs_path "${S3_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/marquee/seaweedfs/$SEAWEEDFS_VERSION}")"
S3_BIN="$S3_BIN_DIR/weed"
S3_PID_FILE="$S3_DIR/weed.pid"
S3_LOG="$S3_DIR/weed.log"
S3_URL="http://127.0.0.1:$S3_PORT"

# Any HTTP answer from the S3 gateway will do (an unsigned request gets 403).
s3_ping() { curl -s -o /dev/null -w '%{http_code}' "$S3_URL/" 2>/dev/null | grep -qE '^(200|403)$'; }
s3_pid() { pid_from_file "$S3_PID_FILE"; }
