# Shared by start.sh and stop.sh: where the Redis server's data and logs live.
# Sourced, not executed. Every message goes to stderr so start.sh's stdout ends with the URL.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
REDIS_PORT="${REDIS_PORT:-6379}"

log() { printf 'redis: %s\n' "$*" >&2; }
die() { printf 'redis: error: %s\n' "$*" >&2; exit 1; }

abs_path() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$REPO_ROOT" "$1" ;; esac; }

REDIS_DIR="$(abs_path "${REDIS_DIR:-${DATA_DIR:-.data}/redis}")"
REDIS_PID_FILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"
REDIS_URL_OUT="redis://127.0.0.1:$REDIS_PORT"

redis_ping() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }
redis_pid() {
  [ -f "$REDIS_PID_FILE" ] || return 1
  local pid
  pid="$(cat "$REDIS_PID_FILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}
