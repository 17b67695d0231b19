#!/usr/bin/env bash
# The Dapr scheduler and daprd sidecars as local processes (no Kubernetes, no mTLS),
# all on 127.0.0.1. Binaries come from scripts/toolchain.sh dapr (built once).
#
#   scripts/dapr.sh start-scheduler   start the scheduler (embedded etcd), wait until healthy
#   scripts/dapr.sh stop-scheduler    stop it (its etcd data stays), and the sidecars first
#   scripts/dapr.sh status            say what runs (exit code 3 when the scheduler does not)
#   scripts/dapr.sh start-sidecar APP_ID HTTP_PORT GRPC_PORT RESOURCES_DIR [APP_PORT] [-- DAPRD_ARG...]
#                                     start a daprd for APP_ID with the components in
#                                     RESOURCES_DIR (templates, see render), wait until healthy
#                                     (/v1.0/healthz, or /v1.0/healthz/outbound with an APP_PORT:
#                                     the app may come up after its sidecar); arguments after
#                                     `--` go to daprd as they are (e.g. app health checks)
#   scripts/dapr.sh stop-sidecar APP_ID
#   scripts/dapr.sh render SRC DEST   copy the YAML files of SRC (a file or folder) to the
#                                     folder DEST, filling in {{KAFKA_BROKERS}},
#                                     {{TASKSTREAM_DAPR_DIR}} and {{TASKSTREAM_DIST_DIR}}
#   scripts/dapr.sh probe             end-to-end check: Kafka, scheduler, a daprd with no app
#                                     publishing through deploy/local/components-probe to
#                                     Kafka, read back with Kafka's console consumer, and
#                                     a job scheduled through the Jobs API
#
# Every sidecar uses deploy/local/dapr-config.yaml, or the Configuration template
# TASKSTREAM_DAPR_CONFIG names (SQLite name resolution in the run directory
# ${TMPDIR:-/tmp}/taskstream-dapr-$UID, which also holds pid files, logs and the
# scheduler's etcd data).
#
# Environment: TASKSTREAM_SCHEDULER_PORT (16006), TASKSTREAM_SCHEDULER_HEALTHZ_PORT
# (16086), TASKSTREAM_SCHEDULER_ETCD_PORT (16379; its peer port is the next one),
# TASKSTREAM_DAPR_TIMEOUT (seconds to wait for a process to be healthy, 60),
# TASKSTREAM_DAPR_CONFIG (see above), TASKSTREAM_KAFKA_PORT (see scripts/kafka.sh),
# TASKSTREAM_DIST_DIR (what {{TASKSTREAM_DIST_DIR}} becomes; the run directory of
# scripts/distributed.sh, ${TMPDIR:-/tmp}/taskstream-dist-$UID).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SCHEDULER_PORT="${TASKSTREAM_SCHEDULER_PORT:-16006}"
SCHEDULER_HEALTHZ_PORT="${TASKSTREAM_SCHEDULER_HEALTHZ_PORT:-16086}"
SCHEDULER_ETCD_PORT="${TASKSTREAM_SCHEDULER_ETCD_PORT:-16379}"
DAPR_TIMEOUT="${TASKSTREAM_DAPR_TIMEOUT:-60}"
for _value in "$SCHEDULER_PORT" "$SCHEDULER_HEALTHZ_PORT" "$SCHEDULER_ETCD_PORT" "$DAPR_TIMEOUT"; do
    [[ "$_value" =~ ^[0-9]+$ ]] || die "TASKSTREAM_SCHEDULER_*_PORT and TASKSTREAM_DAPR_TIMEOUT must be numbers"
done
DAPR_BASE="${TMPDIR:-/tmp}"
DAPR_BASE="${DAPR_BASE%/}/taskstream-dapr-$UID"
DAPR_CONFIG_TEMPLATE="${TASKSTREAM_DAPR_CONFIG:-$TASKSTREAM_ROOT/deploy/local/dapr-config.yaml}"
DIST_BASE="${TMPDIR:-/tmp}"
DIST_BASE="${TASKSTREAM_DIST_DIR:-${DIST_BASE%/}/taskstream-dist-$UID}"

# Sets DAPRD and DAPR_SCHEDULER, building them the first time.
find_dapr() {
    local paths
    paths="$(bash "$TASKSTREAM_ROOT/scripts/toolchain.sh" dapr)"
    DAPRD="$(sed -n 's/^DAPRD=//p' <<<"$paths")"
    DAPR_SCHEDULER="$(sed -n 's/^DAPR_SCHEDULER=//p' <<<"$paths")"
    [[ -x "$DAPRD" && -x "$DAPR_SCHEDULER" ]] || die "scripts/toolchain.sh dapr did not install Dapr"
}

# --- processes: NAME is the pid file $DAPR_BASE/NAME.pid and the log $DAPR_BASE/NAME.log

# The pid of NAME, if it still runs the binary it was started from.
running_pid() {
    local pid
    pid="$(cat -- "$DAPR_BASE/$1.pid" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
        [[ "$(readlink -- "/proc/$pid/exe" 2>/dev/null)" == */dapr-*/"$2" ]] &&
        printf '%s' "$pid"
}

# start_process NAME COMMAND...: runs COMMAND in the background, in its own session.
start_process() {
    local name="$1"
    shift
    mkdir -p -- "$DAPR_BASE"
    (cd -- "$DAPR_BASE" && exec nohup setsid "$@" </dev/null >"$DAPR_BASE/$name.log" 2>&1) &
    printf '%s\n' "$!" >"$DAPR_BASE/$name.pid"
}

# stop_process NAME BINARY: SIGTERM, up to 20 s, then SIGKILL.
stop_process() {
    local pid i
    if ! pid="$(running_pid "$1" "$2")"; then
        rm -f -- "$DAPR_BASE/$1.pid"
        log "$1 is not running"
        return 0
    fi
    log "stopping $1 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
        ! exited "$pid" || break
        sleep 0.1
    done
    if ! exited "$pid"; then
        warn "$1 did not stop within 20s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f -- "$DAPR_BASE/$1.pid"
}

# wait_healthy NAME BINARY URL: until URL answers 2xx, while the process lives.
wait_healthy() {
    local deadline=$((SECONDS + DAPR_TIMEOUT))
    local pid
    pid="$(cat -- "$DAPR_BASE/$1.pid" 2>/dev/null)" || pid=""
    until curl -fsS -o /dev/null --max-time 2 "$3" 2>/dev/null; do
        # By pid, not by binary: right after the launch it is still a copy of this shell.
        if [[ ! "$pid" =~ ^[0-9]+$ ]] || exited "$pid"; then
            err "$1 stopped while starting; $DAPR_BASE/$1.log says:"
            tail -n 30 "$DAPR_BASE/$1.log" >&2 || true
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            err "$1 is not healthy at $3 after ${DAPR_TIMEOUT}s; $DAPR_BASE/$1.log says:"
            tail -n 30 "$DAPR_BASE/$1.log" >&2 || true
            stop_process "$1" "$2"
            exit 1
        fi
        sleep 0.3
    done
}

port_open() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- scheduler ---------------------------------------------------------------------

cmd_start_scheduler() {
    find_dapr
    if running_pid scheduler scheduler >/dev/null; then
        log "the Dapr scheduler already runs on 127.0.0.1:$SCHEDULER_PORT"
        return 0
    fi
    local port
    for port in "$SCHEDULER_PORT" "$SCHEDULER_HEALTHZ_PORT" "$SCHEDULER_ETCD_PORT" $((SCHEDULER_ETCD_PORT + 1)); do
        ! port_open "$port" || die "port $port is taken by another process"
    done
    log "starting the Dapr scheduler on 127.0.0.1:$SCHEDULER_PORT (log: $DAPR_BASE/scheduler.log)"
    # Its healthz server listens on every interface: 1.16 accepts
    # --healthz-listen-address but does not use it. etcd and gRPC stay on loopback.
    start_process scheduler "$DAPR_SCHEDULER" --mode standalone \
        --listen-address 127.0.0.1 --port "$SCHEDULER_PORT" \
        --override-broadcast-host-port "127.0.0.1:$SCHEDULER_PORT" \
        --healthz-port "$SCHEDULER_HEALTHZ_PORT" \
        --enable-metrics=false \
        --etcd-data-dir "$DAPR_BASE/scheduler-etcd" \
        --etcd-client-listen-address 127.0.0.1 --etcd-client-port "$SCHEDULER_ETCD_PORT" \
        --etcd-initial-cluster "dapr-scheduler-server-0=http://127.0.0.1:$((SCHEDULER_ETCD_PORT + 1))"
    wait_healthy scheduler scheduler "http://127.0.0.1:$SCHEDULER_HEALTHZ_PORT/healthz"
    log "the Dapr scheduler is ready on 127.0.0.1:$SCHEDULER_PORT"
}

# --- sidecars ----------------------------------------------------------------------

# render SRC DEST: fills in the placeholders of the YAML files of SRC into DEST.
cmd_render() {
    local src="$1" dest="$2" file kafka
    [[ -e "$src" ]] || die "$src does not exist"
    kafka="127.0.0.1:${TASKSTREAM_KAFKA_PORT:-19092}"
    mkdir -p -- "$dest"
    for file in "$src" "$src"/*.yaml "$src"/*.yml; do
        [[ -f "$file" ]] || continue
        sed -e "s|{{KAFKA_BROKERS}}|$kafka|g" -e "s|{{TASKSTREAM_DAPR_DIR}}|$DAPR_BASE|g" \
            -e "s|{{TASKSTREAM_DIST_DIR}}|$DIST_BASE|g" \
            "$file" >"$dest/$(basename -- "$file")"
    done
}

cmd_start_sidecar() {
    local positional=() extra=()
    while (($# > 0)); do
        if [[ "$1" == -- ]]; then
            shift
            extra=("$@")
            break
        fi
        positional+=("$1")
        shift
    done
    ((${#positional[@]} == 4 || ${#positional[@]} == 5)) ||
        die "usage: $0 start-sidecar APP_ID HTTP_PORT GRPC_PORT RESOURCES_DIR [APP_PORT] [-- DAPRD_ARG...]"
    local app_id="${positional[0]}" http_port="${positional[1]}" grpc_port="${positional[2]}"
    local resources="${positional[3]}" app_port="${positional[4]:-}"
    [[ "$app_id" =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "bad app id '$app_id'"
    find_dapr
    if running_pid "daprd-$app_id" daprd >/dev/null; then
        log "daprd for $app_id already runs"
        return 0
    fi
    ! port_open "$http_port" || die "port $http_port is taken by another process"
    ! port_open "$grpc_port" || die "port $grpc_port is taken by another process"
    local run="$DAPR_BASE/sidecars/$app_id"
    rm -rf -- "$run"
    cmd_render "$resources" "$run/resources"
    cmd_render "$DAPR_CONFIG_TEMPLATE" "$run"
    local args=(--mode standalone --app-id "$app_id"
        --dapr-listen-addresses 127.0.0.1 --dapr-http-port "$http_port" --dapr-grpc-port "$grpc_port"
        --dapr-internal-grpc-listen-address 127.0.0.1
        --enable-metrics=false --resources-path "$run/resources"
        --config "$run/$(basename -- "$DAPR_CONFIG_TEMPLATE")"
        --scheduler-host-address "127.0.0.1:$SCHEDULER_PORT" --log-level info)
    [[ -z "$app_port" ]] || args+=(--app-port "$app_port" --app-channel-address 127.0.0.1)
    args+=("${extra[@]}")
    log "starting daprd for $app_id on 127.0.0.1:$http_port (log: $DAPR_BASE/daprd-$app_id.log)"
    DAPR_HOST_IP=127.0.0.1 start_process "daprd-$app_id" "$DAPRD" "${args[@]}"
    # The new process runs bash, nohup and setsid before daprd: until then
    # wait_healthy would take it for a daprd that died (a matter of milliseconds,
    # which a busy machine starting several sidecars at once may stretch).
    local pid i
    pid="$(cat -- "$DAPR_BASE/daprd-$app_id.pid")"
    for ((i = 0; i < 100; i++)); do
        running_pid "daprd-$app_id" daprd >/dev/null && break
        readlink -- "/proc/$pid/exe" >/dev/null 2>&1 || break # gone: wait_healthy says so
        sleep 0.05
    done
    # /v1.0/healthz/outbound answers as soon as the components are loaded;
    # /v1.0/healthz a moment later, and only once the app (if any) is healthy.
    wait_healthy "daprd-$app_id" daprd "http://127.0.0.1:$http_port/v1.0/healthz/outbound"
    [[ -n "$app_port" ]] || wait_healthy "daprd-$app_id" daprd "http://127.0.0.1:$http_port/v1.0/healthz"
    log "daprd for $app_id is ready"
}

# --- probe -------------------------------------------------------------------------

cmd_probe() {
    local http=3500 grpc=3600 topic="taskstream-probe" marker start
    marker="probe-$(date +%s)-$RANDOM"
    start="$(_ts_now)"
    bash "$TASKSTREAM_ROOT/scripts/kafka.sh" start
    cmd_start_scheduler
    trap 'stop_process daprd-probe daprd' EXIT
    cmd_start_sidecar probe "$http" "$grpc" "$TASKSTREAM_ROOT/deploy/local/components-probe"
    [[ "$(curl -fsS "http://127.0.0.1:$http/v1.0/metadata")" == *'"type":"pubsub.kafka"'* ]] ||
        die "daprd did not load the pubsub.kafka component"

    log "publishing $marker to $topic through daprd"
    curl -fsS -X POST -H 'Content-Type: application/json' -d "{\"marker\":\"$marker\"}" \
        "http://127.0.0.1:$http/v1.0/publish/pubsub/$topic" || die "publishing through daprd failed"
    log "reading $topic from the beginning with Kafka's console consumer"
    local libs
    libs="$(bash "$TASKSTREAM_ROOT/scripts/toolchain.sh" kafka | sed -n 's/^KAFKA_LIBS=//p')"
    # It exits (with an error status) after 10 s without a new message.
    java -Xmx256m -cp "$libs/*" org.apache.kafka.tools.consumer.ConsoleConsumer \
        --bootstrap-server "$(bash "$TASKSTREAM_ROOT/scripts/kafka.sh" bootstrap)" \
        --topic "$topic" --from-beginning --timeout-ms 10000 \
        >"$DAPR_BASE/probe-topic.txt" 2>"$DAPR_BASE/probe-consumer.log" || true
    grep -F "$marker" "$DAPR_BASE/probe-topic.txt" >&2 ||
        die "the message did not reach Kafka (see $DAPR_BASE/probe-topic.txt and probe-consumer.log)"

    log "scheduling a job through the Jobs API (Dapr scheduler)"
    curl -fsS -X POST -H 'Content-Type: application/json' -d '{"schedule":"@every 1h","data":"probe"}' \
        "http://127.0.0.1:$http/v1.0-alpha1/jobs/$marker" || die "scheduling a job failed"
    curl -fsS "http://127.0.0.1:$http/v1.0-alpha1/jobs/$marker" >&2 || die "reading the job back failed"
    printf '\n' >&2
    curl -fsS -X DELETE "http://127.0.0.1:$http/v1.0-alpha1/jobs/$marker" || die "deleting the job failed"

    trap - EXIT
    stop_process daprd-probe daprd
    log "probe ok ($(elapsed_since "$start")); Kafka and the scheduler keep running"
}

# The app ids of the sidecars that run.
running_sidecars() {
    local file app
    for file in "$DAPR_BASE"/daprd-*.pid; do
        [[ -f "$file" ]] || continue
        app="$(basename -- "$file" .pid)"
        running_pid "$app" daprd >/dev/null && printf '%s\n' "${app#daprd-}"
    done
    return 0
}

stop_sidecars() {
    local app
    for app in $(running_sidecars); do
        stop_process "daprd-$app" daprd
    done
}

cmd_status() {
    local pid rc=0 app
    if pid="$(running_pid scheduler scheduler)"; then
        log "the Dapr scheduler runs on 127.0.0.1:$SCHEDULER_PORT (pid $pid)"
    else
        log "the Dapr scheduler is not running"
        rc=3
    fi
    for app in $(running_sidecars); do
        log "daprd for $app runs (pid $(running_pid "daprd-$app" daprd))"
    done
    return "$rc"
}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
}

command="${1:-}"
(($# == 0)) || shift
case "$command" in
    start-scheduler) cmd_start_scheduler ;;
    stop-scheduler)
        # A scheduler waits for its connected sidecars without a time limit (1.16),
        # and they exit when it goes: stop them first.
        stop_sidecars
        stop_process scheduler scheduler
        ;;
    start-sidecar) cmd_start_sidecar "$@" ;;
    stop-sidecar)
        (($# == 1)) || die "usage: $0 stop-sidecar APP_ID"
        stop_process "daprd-$1" daprd
        ;;
    render)
        (($# == 2)) || die "usage: $0 render SRC DEST"
        cmd_render "$@"
        ;;
    probe) cmd_probe ;;
    status) cmd_status ;;
    -h | --help | help) usage ;;
    *)
        usage
        exit 2
        ;;
esac
