#!/usr/bin/env bash
# Start a single-node Apache Kafka broker (KRaft: broker and controller in one JVM, no
# ZooKeeper, no Docker) on 127.0.0.1:${KAFKA_PORT:-9092} only. The broker jars come from Maven
# Central through infra/kafka/pom.xml (downloaded once into ~/.m2, copied to target/libs).
# Storage is formatted on first start, in $KAFKA_DIR (default $DATA_DIR/kafka, i.e. .data/kafka).
# Idempotent: when it already runs, nothing changes. Progress goes to stderr; the last line on
# stdout is KAFKA_BROKERS=127.0.0.1:<port>, so `eval "$(infra/kafka/start.sh | tail -n 1)"` works.
set -euo pipefail
# shellcheck source=infra/kafka/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

command -v java >/dev/null 2>&1 || die "java not found: install a JDK 17 (apt-get install openjdk-17-jre-headless)"

mkdir -p "$KAFKA_DIR"
CLASSPATH_LIBS="$KAFKA_LIBS/*"

if pid="$(kafka_pid)"; then
  if port_open "$KAFKA_PORT"; then
    log "already running (pid $pid) on 127.0.0.1:$KAFKA_PORT ($KAFKA_DIR)"
    printf 'KAFKA_BROKERS=127.0.0.1:%s\n' "$KAFKA_PORT"
    exit 0
  fi
else
  # Someone else on our port would make every later step talk to the wrong broker.
  if port_open "$KAFKA_PORT"; then
    die "port $KAFKA_PORT already answers but not from $KAFKA_DIR: stop that broker or set KAFKA_PORT"
  fi
fi

# The version is the pom's (one place to change). Checked after the running-broker test, so a
# version bump never deletes the jars under a broker that still runs from them.
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_INFRA/pom.xml")"
[ -n "$KAFKA_VERSION" ] || die "no <kafka.version> in $KAFKA_INFRA/pom.xml"
if [ ! -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]; then
  command -v mvn >/dev/null 2>&1 || die "mvn not found: install Maven (apt-get install maven) or set KAFKA_LIBS"
  log "fetching the Kafka $KAFKA_VERSION broker jars from Maven Central into $KAFKA_LIBS (cached in ~/.m2)"
  rm -rf "$KAFKA_LIBS"
  mvn -q -B -f "$KAFKA_INFRA/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime >&2 || die "maven could not fetch the broker jars"
fi

# Written on every start, so KAFKA_PORT can change between runs.
# One broker: internal topics need one replica, or consumer groups never find their
# coordinator (kafkajs issue #1752) and transactions never start.
cat >"$KAFKA_PROPERTIES" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_LOG_DIR
num.partitions=${KAFKA_PARTITIONS:-6}
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
log.retention.hours=${KAFKA_RETENTION_HOURS:-168}
log.segment.bytes=134217728
num.network.threads=2
num.io.threads=4
PROPS

if [ ! -f "$KAFKA_LOG_DIR/meta.properties" ]; then
  cluster_id="$(java -cp "$CLASSPATH_LIBS" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
  log "formatting storage in $KAFKA_LOG_DIR (cluster $cluster_id)"
  java -cp "$CLASSPATH_LIBS" kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_PROPERTIES" \
    >"$KAFKA_DIR/format.log" 2>&1 || { cat "$KAFKA_DIR/format.log" >&2; die "storage format failed"; }
fi

log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (log: $KAFKA_SERVER_LOG)"
# A small heap: this is one node on a developer machine or a CI box.
# shellcheck disable=SC2086
nohup java ${KAFKA_HEAP_OPTS:--Xms1g -Xmx1g} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
  -Djava.awt.headless=true \
  -Dlog4j2.configurationFile="$KAFKA_INFRA/log4j2.properties" -Dkafka.logs.dir="$KAFKA_DIR" \
  -cp "$CLASSPATH_LIBS" kafka.Kafka "$KAFKA_PROPERTIES" >>"$KAFKA_SERVER_LOG" 2>&1 </dev/null &
echo $! >"$KAFKA_PID_FILE"

# Ready means the broker process logged that it started, and its client port answers.
kafka_ready() { port_open "$KAFKA_PORT" && grep -q "Kafka Server started" "$KAFKA_SERVER_LOG"; }
rc=0
wait_until --while-pid "$(cat "$KAFKA_PID_FILE")" 60 kafka_ready || rc=$?
if [ "$rc" -eq 0 ]; then
  log "ready (pid $(cat "$KAFKA_PID_FILE"))"
  printf 'KAFKA_BROKERS=127.0.0.1:%s\n' "$KAFKA_PORT"
  exit 0
fi
tail -n 40 "$KAFKA_SERVER_LOG" >&2
[ "$rc" -eq 2 ] && die "broker exited during start"
die "broker did not answer on 127.0.0.1:$KAFKA_PORT within 60 s"
