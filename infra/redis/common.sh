# Shared by start.sh and stop.sh: where the Redis server's data and logs live.
# Sourced, not executed. Every message goes to stderr so start.sh's stdout ends with the URL.

SERVICE=redis
# shellcheck source=infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
REDIS_PORT="${REDIS_PORT:-6379}"

REDIS_DIR="$(abs_path "${REDIS_DIR:-${DATA_DIR:-.data}/redis}")"
REDIS_PID_FILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"
REDIS_URL_OUT="redis://127.0.0.1:$REDIS_PORT"

redis_ping() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }
redis_pid() { pid_from_file "$REDIS_PID_FILE"; }
