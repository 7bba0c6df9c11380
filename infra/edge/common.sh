# Shared by start.sh and stop.sh: where the nginx edge's config, cache, pid and logs live.
# Sourced, not executed. Every message goes to stderr so start.sh's stdout ends with the URL.

SERVICE=edge
# shellcheck source=infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
EDGE_PORT="${EDGE_PORT:-8088}"
# The media origin nginx forwards to: the store (npm start) or a media origin process.
EDGE_ORIGIN="${EDGE_ORIGIN:-127.0.0.1:3000}"
EDGE_CACHE_SIZE="${EDGE_CACHE_SIZE:-2g}"

EDGE_SRC_DIR="$REPO_ROOT/infra/edge"
EDGE_DIR="$(abs_path "${EDGE_DIR:-${DATA_DIR:-.data}/edge}")"
EDGE_CONF="$EDGE_DIR/nginx.conf"
EDGE_PID_FILE="$EDGE_DIR/nginx.pid"
EDGE_LOG="$EDGE_DIR/error.log"
EDGE_URL="http://127.0.0.1:$EDGE_PORT"
# Debian's libnginx-mod-http-js puts the module here.
EDGE_JS_MODULE="${EDGE_JS_MODULE:-/usr/lib/nginx/modules/ngx_http_js_module.so}"

edge_ping() { curl -s -o /dev/null -w '%{http_code}' "$EDGE_URL/edge/health" 2>/dev/null | grep -q '^200$'; }
edge_pid() { pid_from_file "$EDGE_PID_FILE"; }
