# Shared by start.sh and stop.sh: where the broker's jars, data and logs live.
# Sourced, not executed. Every message goes to stderr so start.sh's stdout ends with the URL.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KAFKA_INFRA="$REPO_ROOT/infra/kafka"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"

log() { printf 'kafka: %s\n' "$*" >&2; }
die() { printf 'kafka: error: %s\n' "$*" >&2; exit 1; }

# A relative DATA_DIR / KAFKA_DIR is taken from the repository root, whatever the caller's cwd.
abs_path() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$REPO_ROOT" "$1" ;; esac; }

KAFKA_DIR="$(abs_path "${KAFKA_DIR:-${DATA_DIR:-.data}/kafka}")"
KAFKA_LIBS="$(abs_path "${KAFKA_LIBS:-infra/kafka/target/libs}")"
KAFKA_LOG_DIR="$KAFKA_DIR/logs"       # the topic partitions (Kafka calls them "logs")
KAFKA_SERVER_LOG="$KAFKA_DIR/server.log"
KAFKA_PID_FILE="$KAFKA_DIR/kafka.pid"
KAFKA_PROPERTIES="$KAFKA_DIR/server.properties"

kafka_pid() {
  [ -f "$KAFKA_PID_FILE" ] || return 1
  local pid
  pid="$(cat "$KAFKA_PID_FILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

# True when something accepts TCP connections on 127.0.0.1:$1 (bash's /dev/tcp, no netcat needed).
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
