#!/usr/bin/env bash
# A throw-away single-node Kafka (KRaft: broker and controller in one JVM) for
# local runs and tests of the distributed shape.
#
#   scripts/kafka.sh start      install Kafka if needed (scripts/toolchain.sh kafka),
#                               format the storage once, start, wait until it answers
#                               (does nothing if it runs)
#   scripts/kafka.sh stop       stop it (SIGTERM, then SIGKILL); the data stays
#   scripts/kafka.sh status     say whether it runs (exit code 3 when it does not)
#   scripts/kafka.sh bootstrap  print its bootstrap servers, 127.0.0.1:PORT
#   scripts/kafka.sh topics [--partitions N] TOPIC...
#                               create the topics that do not exist yet, with N
#                               partitions (3); the broker must run
#   scripts/kafka.sh clean      stop it and delete its data and logs
#
# It listens on 127.0.0.1 only: the broker on ${TASKSTREAM_KAFKA_PORT:-19092}, the
# controller on the port after it. Data, logs and the pid file live in
# ${TMPDIR:-/tmp}/taskstream-kafka-$UID. Topics are created on first use with 3
# partitions; every replication factor is 1.
#
# Environment: TASKSTREAM_KAFKA_PORT (19092), TASKSTREAM_KAFKA_TIMEOUT (seconds to
# wait for the broker, 60), TASKSTREAM_KAFKA_HEAP (JVM -Xmx, 512m).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_PORT="${TASKSTREAM_KAFKA_PORT:-19092}"
KAFKA_TIMEOUT="${TASKSTREAM_KAFKA_TIMEOUT:-60}"
KAFKA_HEAP="${TASKSTREAM_KAFKA_HEAP:-512m}"
[[ "$KAFKA_PORT" =~ ^[0-9]+$ ]] || die "TASKSTREAM_KAFKA_PORT must be a port number, not '$KAFKA_PORT'"
[[ "$KAFKA_TIMEOUT" =~ ^[0-9]+$ ]] || die "TASKSTREAM_KAFKA_TIMEOUT must be a number of seconds"
CONTROLLER_PORT=$((KAFKA_PORT + 1))
BOOTSTRAP="127.0.0.1:$KAFKA_PORT"

KAFKA_BASE="${TMPDIR:-/tmp}"
KAFKA_BASE="${KAFKA_BASE%/}/taskstream-kafka-$UID"
KAFKA_DATA="$KAFKA_BASE/data"
KAFKA_LOGS="$KAFKA_BASE/logs"
KAFKA_CONFIG="$KAFKA_BASE/server.properties"
KAFKA_PIDFILE="$KAFKA_BASE/kafka.pid"
KAFKA_OUT="$KAFKA_LOGS/kafka.out"

# Sets KAFKA_LIBS to the cached jars, installing them the first time.
find_kafka() {
    KAFKA_LIBS="$(bash "$TASKSTREAM_ROOT/scripts/toolchain.sh" kafka | sed -n 's/^KAFKA_LIBS=//p')"
    [[ -d "$KAFKA_LIBS" ]] || die "scripts/toolchain.sh kafka did not install Kafka"
}

# Runs a Kafka main class with the cached jars and a quiet log4j setup.
kafka_java() {
    java -Xmx256m -XX:TieredStopAtLevel=1 -cp "$KAFKA_LIBS/*" \
        "-Dlog4j.configuration=file:$KAFKA_BASE/tools-log4j.properties" "$@"
}

# The pid in the pid file, if that process is still our broker.
running_pid() { pid_alive "$KAFKA_PIDFILE" "$KAFKA_CONFIG"; }

port_open() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {
    mkdir -p -- "$KAFKA_DATA" "$KAFKA_LOGS"
    cat >"$KAFKA_CONFIG" <<EOF
# Written by scripts/kafka.sh on every start: a throw-away single-node cluster.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
    cat >"$KAFKA_BASE/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$KAFKA_LOGS/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
EOF
    cat >"$KAFKA_BASE/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

format_storage() {
    [[ -f "$KAFKA_DATA/meta.properties" ]] && return 0
    local cluster_id
    cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid)"
    log "formatting Kafka storage in $KAFKA_DATA (cluster id $cluster_id)"
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_CONFIG" >&2
}

show_log() {
    err "$1; the broker log says:"
    tail -n 40 "$KAFKA_LOGS/server.log" >&2 2>/dev/null || true
    tail -n 20 "$KAFKA_OUT" >&2 2>/dev/null || true
}

# Waits until the port takes connections and the broker lists topics.
wait_until_ready() {
    local deadline=$((SECONDS + KAFKA_TIMEOUT))
    until port_open "$KAFKA_PORT" &&
        kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
            --list >/dev/null 2>&1; do
        if ! running_pid >/dev/null; then
            show_log "Kafka stopped while starting"
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            show_log "Kafka does not answer on $BOOTSTRAP after ${KAFKA_TIMEOUT}s"
            cmd_stop
            exit 1
        fi
        sleep 0.5
    done
}

cmd_start() {
    have java || die "java not found: install a JDK 17 (Debian: openjdk-17-jdk-headless)"
    find_kafka
    mkdir -p -- "$KAFKA_BASE"
    if running_pid >/dev/null; then
        grep -qF "PLAINTEXT://127.0.0.1:$KAFKA_PORT," "$KAFKA_CONFIG" ||
            die "Kafka already runs with another port; run 'scripts/kafka.sh stop' first"
        wait_until_ready
        log "Kafka already runs on $BOOTSTRAP"
        return 0
    fi
    ! port_open "$KAFKA_PORT" || die "port $KAFKA_PORT is taken by another process"
    ! port_open "$CONTROLLER_PORT" || die "port $CONTROLLER_PORT is taken by another process"
    write_config
    format_storage
    log "starting Kafka on $BOOTSTRAP (logs: $KAFKA_LOGS)"
    # setsid: a Ctrl-C in the caller's terminal must not reach the broker.
    KAFKA_OPTS="" nohup setsid java "-Xmx$KAFKA_HEAP" "-Xms$KAFKA_HEAP" -XX:+UseG1GC \
        -Djava.awt.headless=true "-Dkafka.logs.dir=$KAFKA_LOGS" \
        "-Dlog4j.configuration=file:$KAFKA_BASE/log4j.properties" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONFIG" </dev/null >"$KAFKA_OUT" 2>&1 &
    printf '%s\n' "$!" >"$KAFKA_PIDFILE"
    local start
    start="$(_ts_now)"
    wait_until_ready
    log "Kafka is ready on $BOOTSTRAP ($(elapsed_since "$start"))"
}

cmd_stop() {
    local pid i
    if ! pid="$(running_pid)"; then
        rm -f -- "$KAFKA_PIDFILE"
        log "Kafka is not running"
        return 0
    fi
    log "stopping Kafka (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        ! exited "$pid" || break
        sleep 0.1
    done
    if ! exited "$pid"; then
        warn "Kafka did not stop within 30s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f -- "$KAFKA_PIDFILE"
}

# topics [--partitions N] TOPIC...: one JVM lists the topics, then only the missing
# ones are created (each TopicCommand run costs a JVM start, about 2 s).
cmd_topics() {
    local partitions=3 existing topic missing=()
    if [[ "${1:-}" == --partitions ]]; then
        partitions="${2:-}"
        shift 2 || true
    fi
    [[ "$partitions" =~ ^[1-9][0-9]*$ ]] || die "--partitions takes a positive number"
    (($# > 0)) || die "usage: $0 topics [--partitions N] TOPIC..."
    running_pid >/dev/null || die "Kafka is not running: scripts/kafka.sh start"
    find_kafka
    existing="$(kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --list)" ||
        die "could not list the topics on $BOOTSTRAP"
    for topic in "$@"; do
        [[ "$topic" =~ ^[A-Za-z0-9._-]+$ ]] || die "bad topic name '$topic'"
        grep -qxF -- "$topic" <<<"$existing" || missing+=("$topic")
    done
    for topic in "${missing[@]}"; do
        log "creating topic $topic ($partitions partitions)"
        # --if-not-exists: another caller may have created it in the meantime.
        kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --create \
            --if-not-exists --topic "$topic" --partitions "$partitions" --replication-factor 1 >&2
    done
}

cmd_status() {
    local pid
    if pid="$(running_pid)"; then
        log "Kafka runs on $BOOTSTRAP (pid $pid, data: $KAFKA_DATA)"
    else
        log "Kafka is not running"
        return 3
    fi
}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    bootstrap) printf '%s\n' "$BOOTSTRAP" ;;
    topics)
        shift
        cmd_topics "$@"
        ;;
    clean)
        cmd_stop
        rm -rf -- "$KAFKA_BASE"
        ;;
    -h | --help | help) usage ;;
    *)
        usage
        exit 2
        ;;
esac
