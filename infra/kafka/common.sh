# Shared by start.sh and stop.sh: where the broker's jars, data and logs live.
# Sourced, not executed. Every message goes to stderr so start.sh's stdout ends with the URL.

SERVICE=kafka
# shellcheck source=infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
KAFKA_INFRA="$REPO_ROOT/infra/kafka"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"

KAFKA_DIR="$(abs_path "${KAFKA_DIR:-${DATA_DIR:-.data}/kafka}")"
KAFKA_LIBS="$(abs_path "${KAFKA_LIBS:-infra/kafka/target/libs}")"
KAFKA_LOG_DIR="$KAFKA_DIR/logs"       # the topic partitions (Kafka calls them "logs")
KAFKA_SERVER_LOG="$KAFKA_DIR/server.log"
KAFKA_PID_FILE="$KAFKA_DIR/kafka.pid"
KAFKA_PROPERTIES="$KAFKA_DIR/server.properties"

kafka_pid() { pid_from_file "$KAFKA_PID_FILE"; }
