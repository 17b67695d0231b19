#!/usr/bin/env bash
# The distributed shape as local processes: six services (`taskstream serve SERVICE`),
# each with its own daprd sidecar, behind an nginx gateway on http://127.0.0.1:8000,
# on PostgreSQL, Kafka and the Dapr scheduler. Everything listens on 127.0.0.1.
#
#   scripts/distributed.sh up          start whatever does not run yet, in order: PostgreSQL
#                                      (and the database), Kafka (and its topics), the
#                                      scheduler, the migrations, each service's sidecar and
#                                      app, the gateway; then print the endpoints
#   scripts/distributed.sh down        stop the apps, sidecars, gateway, scheduler and Kafka,
#                                      in that order; PostgreSQL only when `up` started it
#                                      (`make test` may share it)
#   scripts/distributed.sh status      say what runs (exit code 3 when something does not)
#   scripts/distributed.sh env         print KEY=VALUE lines for tests: GATEWAY_URL,
#                                      <SERVICE>_APP_URL, <SERVICE>_DAPR_HTTP_PORT, ...,
#                                      DATABASE_URL, KAFKA_BOOTSTRAP, the tokens, RUN_DIR
#   scripts/distributed.sh logs [SERVICE]
#                                      the last lines of every log (apps, sidecars, gateway,
#                                      scheduler, Kafka), or of one service's app and sidecar
#   scripts/distributed.sh start SERVICE         start its sidecar (if it does not run) and
#                                                its app, wait until both are healthy
#   scripts/distributed.sh stop SERVICE          stop its app (SIGTERM); the sidecar stays and
#                                                retries its deliveries until the app is back
#   scripts/distributed.sh kill SERVICE          SIGKILL its app
#   scripts/distributed.sh start-sidecar SERVICE start its sidecar, wait until it sees the app
#   scripts/distributed.sh stop-sidecar SERVICE  stop its sidecar (SIGTERM)
#   scripts/distributed.sh kill-sidecar SERVICE  SIGKILL its sidecar
#   scripts/distributed.sh start-scheduler       start the Dapr scheduler
#   scripts/distributed.sh kill-scheduler        SIGKILL the Dapr scheduler
#
# SERVICE is api, recurring, reminders, notifier, audit or sync. Service i (1..6, in
# that order) listens on APP_PORT_BASE+i, its sidecar on DAPR_HTTP_BASE+i (HTTP) and
# DAPR_GRPC_BASE+i (gRPC). The gateway routes /api/v1/webhooks and /api/v1/notifications
# to notifier, /api/v1/activity to audit, /api/v1/ws to sync and everything else (the web
# app at / too) to api.
#
# Pid files, logs, the gateway's config and the secrets file (the Dapr secret store:
# jwt-secret, database-url, state-connection-string, mode 600) live in the run
# directory ${TMPDIR:-/tmp}/taskstream-dist-$UID. Sidecars and the scheduler keep
# theirs in scripts/dapr.sh's, Kafka in scripts/kafka.sh's. The apps run in the run
# directory, so a .env in the work tree does not reach them; TASKSTREAM_* variables
# of the caller do (e.g. TASKSTREAM_SMTP_HOST), except the database URL and JWT
# secret, which come from the secret store. One instance per user and TMPDIR (a test
# run sets a TMPDIR and ports of its own): while it runs, every command uses the
# settings it was started with, and `up` with other settings refuses.
#
# Environment: TASKSTREAM_DIST_PORT (the gateway, 8000), TASKSTREAM_DIST_APP_PORT_BASE
# (8100), TASKSTREAM_DIST_DAPR_HTTP_BASE (3500), TASKSTREAM_DIST_DAPR_GRPC_BASE (3600),
# TASKSTREAM_DIST_DATABASE (taskstream), TASKSTREAM_DIST_FRESH=1 (before `up`: stop
# what runs, drop and recreate the database, delete Kafka's data and the scheduler's,
# new secrets: a clean slate), TASKSTREAM_DIST_TIMEOUT (seconds to wait for each
# process to be healthy, 120), TASKSTREAM_DIST_LOG_LINES (lines per log for `logs`,
# 40), TASKSTREAM_DIST_DIR (the run directory), and those of scripts/postgres.sh
# (TASKSTREAM_PG_PORT), scripts/kafka.sh (TASKSTREAM_KAFKA_PORT) and scripts/dapr.sh
# (TASKSTREAM_SCHEDULER_*).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SERVICES=(api recurring reminders notifier audit sync)
# The services that talk to PostgreSQL themselves (and need the migrations first).
SQL_SERVICES=(api notifier audit)
TOPICS=(task-events reminders task-updates)

RUN_DIR="${TMPDIR:-/tmp}"
RUN_DIR="${TASKSTREAM_DIST_DIR:-${RUN_DIR%/}/taskstream-dist-$UID}"
# Where scripts/dapr.sh and scripts/kafka.sh keep pid files, logs and data.
DAPR_BASE="${TMPDIR:-/tmp}"
DAPR_BASE="${DAPR_BASE%/}/taskstream-dapr-$UID"
KAFKA_BASE="${TMPDIR:-/tmp}"
KAFKA_BASE="${KAFKA_BASE%/}/taskstream-kafka-$UID"
SETTINGS_FILE="$RUN_DIR/settings.env"
GENERATED_FILE="$RUN_DIR/generated.env"
SECRETS_FILE="$RUN_DIR/secrets.json"
# Present when `up` started PostgreSQL, so that `down` stops it again.
PG_MARKER="$RUN_DIR/postgres-started-here"
TASKSTREAM_BIN="$TASKSTREAM_ROOT/.venv/bin/taskstream"
# Six Python services starting at once on two busy cores take 45 s; a process that
# dies is noticed at once, so a generous limit only costs time on a hang.
DIST_TIMEOUT="${TASKSTREAM_DIST_TIMEOUT:-120}"
LOG_LINES="${TASKSTREAM_DIST_LOG_LINES:-40}"
[[ "$DIST_TIMEOUT" =~ ^[0-9]+$ ]] || die "TASKSTREAM_DIST_TIMEOUT must be a number of seconds"
[[ "$LOG_LINES" =~ ^[0-9]+$ ]] || die "TASKSTREAM_DIST_LOG_LINES must be a number"

# --- settings ----------------------------------------------------------------------

# The settings of this invocation, from the environment.
settings_from_env() {
    printf 'GATEWAY_PORT=%s\n' "${TASKSTREAM_DIST_PORT:-8000}"
    printf 'APP_PORT_BASE=%s\n' "${TASKSTREAM_DIST_APP_PORT_BASE:-8100}"
    printf 'DAPR_HTTP_BASE=%s\n' "${TASKSTREAM_DIST_DAPR_HTTP_BASE:-3500}"
    printf 'DAPR_GRPC_BASE=%s\n' "${TASKSTREAM_DIST_DAPR_GRPC_BASE:-3600}"
    printf 'DATABASE=%s\n' "${TASKSTREAM_DIST_DATABASE:-taskstream}"
    printf 'PG_PORT=%s\n' "${TASKSTREAM_PG_PORT:-15432}"
    printf 'KAFKA_PORT=%s\n' "${TASKSTREAM_KAFKA_PORT:-19092}"
    printf 'SCHEDULER_PORT=%s\n' "${TASKSTREAM_SCHEDULER_PORT:-16006}"
    printf 'SCHEDULER_HEALTHZ_PORT=%s\n' "${TASKSTREAM_SCHEDULER_HEALTHZ_PORT:-16086}"
    printf 'SCHEDULER_ETCD_PORT=%s\n' "${TASKSTREAM_SCHEDULER_ETCD_PORT:-16379}"
}

# Sets the globals of the settings (GATEWAY_PORT, ...) from KEY=VALUE lines on stdin.
apply_settings() {
    local key value
    while IFS='=' read -r key value; do
        case "$key" in
            GATEWAY_PORT | APP_PORT_BASE | DAPR_HTTP_BASE | DAPR_GRPC_BASE | PG_PORT | KAFKA_PORT | \
                SCHEDULER_PORT | SCHEDULER_HEALTHZ_PORT | SCHEDULER_ETCD_PORT)
                [[ "$value" =~ ^[0-9]+$ ]] || die "$key must be a number, not '$value'"
                printf -v "$key" '%s' "$value"
                ;;
            DATABASE)
                [[ "$value" =~ ^[a-z_][a-z0-9_]*$ ]] ||
                    die "TASKSTREAM_DIST_DATABASE must be a lower-case SQL identifier, not '$value'"
                DATABASE="$value"
                ;;
            *) ;;
        esac
    done
    # The scripts this one calls read these.
    export TASKSTREAM_PG_PORT="$PG_PORT" TASKSTREAM_PG_DATABASE="$DATABASE"
    export TASKSTREAM_KAFKA_PORT="$KAFKA_PORT" TASKSTREAM_SCHEDULER_PORT="$SCHEDULER_PORT"
    export TASKSTREAM_SCHEDULER_HEALTHZ_PORT="$SCHEDULER_HEALTHZ_PORT"
    export TASKSTREAM_SCHEDULER_ETCD_PORT="$SCHEDULER_ETCD_PORT"
    export TASKSTREAM_DIST_DIR="$RUN_DIR"
}

# The settings the running instance was started with win over the environment (which
# fills in any a settings file of an older version of this script lacks).
load_settings() {
    if [[ -f "$SETTINGS_FILE" ]]; then
        apply_settings < <(settings_from_env; cat -- "$SETTINGS_FILE")
    else
        apply_settings < <(settings_from_env)
    fi
}

service_index() {
    local i
    for i in "${!SERVICES[@]}"; do
        if [[ "${SERVICES[$i]}" == "$1" ]]; then
            printf '%s' $((i + 1))
            return 0
        fi
    done
    die "unknown service '$1' (one of: ${SERVICES[*]})"
}

app_port() { printf '%s' $((APP_PORT_BASE + $(service_index "$1"))); }
dapr_http_port() { printf '%s' $((DAPR_HTTP_BASE + $(service_index "$1"))); }
dapr_grpc_port() { printf '%s' $((DAPR_GRPC_BASE + $(service_index "$1"))); }
database_url() { printf 'postgresql+asyncpg://postgres@127.0.0.1:%s/%s' "$PG_PORT" "$DATABASE"; }

# generated VALUE_NAME: a value of generated.env (random secrets made once).
generated() { sed -n "s/^$1=//p" "$GENERATED_FILE" 2>/dev/null; }

random_token() { head -c "$1" /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='; }

prepare_run_dir() {
    [[ ! -L "$RUN_DIR" ]] || die "$RUN_DIR is a symbolic link; remove it"
    mkdir -p -- "$RUN_DIR"
    [[ -O "$RUN_DIR" ]] || die "$RUN_DIR belongs to someone else; remove it"
    chmod 700 "$RUN_DIR"
}

# Makes the random secrets once (again with TASKSTREAM_DIST_FRESH=1), and writes the
# secret store's file from them and the settings.
write_secrets() {
    if [[ ! -s "$GENERATED_FILE" ]]; then
        (
            umask 077
            printf 'JWT_SECRET=%s\nDAPR_API_TOKEN=%s\nAPP_API_TOKEN=%s\n' \
                "$(random_token 48)" "$(random_token 32)" "$(random_token 32)" >"$GENERATED_FILE"
        )
    fi
    (
        umask 077
        cat >"$SECRETS_FILE.new" <<EOF
{
  "jwt-secret": "$(generated JWT_SECRET)",
  "database-url": "$(database_url)",
  "state-connection-string": "host=127.0.0.1 port=$PG_PORT user=postgres dbname=$DATABASE sslmode=disable"
}
EOF
    )
    mv -f -- "$SECRETS_FILE.new" "$SECRETS_FILE"
}

# --- processes ---------------------------------------------------------------------

app_pid() { pid_alive "$RUN_DIR/app-$1.pid" "serve $1 --host 127.0.0.1 --port $(app_port "$1")"; }
sidecar_pid() { pid_alive "$DAPR_BASE/daprd-$1.pid" "--app-id $1 "; }
gateway_pid() { pid_alive "$RUN_DIR/gateway.pid" "$RUN_DIR/gateway"; }
scheduler_pid() { pid_alive "$DAPR_BASE/scheduler.pid" "--port $SCHEDULER_PORT "; }

# launch NAME DIR COMMAND...: runs COMMAND in DIR in the background, in a session of
# its own (a Ctrl-C in the caller's terminal does not reach it, and the whole group
# can be killed), logging to $RUN_DIR/NAME.log. Without fd 9, the lock of this script.
launch() {
    local name="$1" dir="$2"
    shift 2
    mkdir -p -- "$dir"
    (cd -- "$dir" && exec nohup setsid "$@" </dev/null >"$RUN_DIR/$name.log" 2>&1 9>&-) &
    printf '%s\n' "$!" >"$RUN_DIR/$name.pid"
}

# still_starting NAME: whether the process launch NAME started has not exited. The
# checks by command line would not do here: until the exec, the process is a copy
# of this script.
still_starting() {
    local pid
    pid="$(cat -- "$RUN_DIR/$1.pid" 2>/dev/null)" && [[ "$pid" =~ ^[0-9]+$ ]] && ! exited "$pid"
}

# terminate NAME PID [SECONDS]: SIGTERM to the process group, then SIGKILL after
# SECONDS (10).
terminate() {
    local name="$1" pid="$2" i
    log "stopping $name (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < ${3:-10} * 10; i++)); do
        exited "$pid" && return 0
        sleep 0.1
    done
    warn "$name did not stop within ${3:-10}s; killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

# sigkill NAME PID: the crash the tests simulate.
sigkill() {
    log "killing $1 (pid $2) with SIGKILL"
    kill -KILL -- "-$2" 2>/dev/null || kill -KILL "$2" 2>/dev/null || true
    local i
    for ((i = 0; i < 50; i++)); do
        exited "$2" && return 0
        sleep 0.1
    done
}

show_log() {
    err "$1; $2 says:"
    tail -n 30 -- "$2" >&2 2>/dev/null || true
}

# wait_http NAME URL LOG ALIVE_COMMAND...: until URL answers 2xx. Fails (showing the
# tail of LOG) when ALIVE_COMMAND fails, i.e. the process died, or after the timeout.
wait_http() {
    local name="$1" url="$2" logfile="$3" deadline=$((SECONDS + DIST_TIMEOUT))
    shift 3
    until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
        if ! "$@" >/dev/null; then
            show_log "$name stopped while starting" "$logfile"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            show_log "$name is not healthy at $url after ${DIST_TIMEOUT}s" "$logfile"
            return 1
        fi
        sleep 0.2
    done
}

# The other scripts, without fd 9 (they start long-lived processes).
postgres() { bash "$TASKSTREAM_ROOT/scripts/postgres.sh" "$@" 9>&-; }
kafka() { bash "$TASKSTREAM_ROOT/scripts/kafka.sh" "$@" 9>&-; }
dapr() { TASKSTREAM_DAPR_TIMEOUT="$DIST_TIMEOUT" bash "$TASKSTREAM_ROOT/scripts/dapr.sh" "$@" 9>&-; }

# Serialises the commands that start or stop things.
take_lock() {
    have flock || return 0
    exec 9>"$RUN_DIR/.lock"
    if ! flock -n 9; then
        log "waiting for another scripts/distributed.sh to finish"
        flock 9
    fi
}

start_scheduler() {
    wait_bindable "the Dapr scheduler" "$SCHEDULER_PORT" "$SCHEDULER_HEALTHZ_PORT" \
        "$SCHEDULER_ETCD_PORT" $((SCHEDULER_ETCD_PORT + 1))
    dapr start-scheduler
}

# --- one service ---------------------------------------------------------------------

# bindable PORT: whether a listener (with SO_REUSEADDR, as daprd's) could bind
# 127.0.0.1:PORT now.
bindable() {
    local python="$TASKSTREAM_ROOT/.venv/bin/python"
    [[ -x "$python" ]] || python=python3
    "$python" - "$1" <<'EOF'
import socket
import sys

with socket.socket() as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        sys.exit(1)
EOF
}

# wait_bindable NAME PORT...: until every PORT is free to listen on. Most default
# ports here (Kafka's, the scheduler's, daprd's gRPC ports, PostgreSQL's) lie in
# Linux's range of ephemeral ports (32768-60999): a client connection that uses one
# as its local port blocks it while it lasts and for a minute after it closes
# (TIME_WAIT), and the server would exit with "address already in use". A port
# another server listens on is left to the script that starts the process to report.
wait_bindable() {
    local name="$1" port limit=$((DIST_TIMEOUT > 75 ? DIST_TIMEOUT : 75)) said=""
    local deadline=$((SECONDS + limit))
    shift
    for port in "$@"; do
        port_open "$port" && continue
        until bindable "$port"; do
            if ((SECONDS >= deadline)); then
                err "port $port of $name is still in use after ${limit}s:"
                ss -tan "( sport = :$port )" >&2 2>/dev/null || true
                return 1
            fi
            [[ -n "$said" ]] || log "port $port of $name is in use for now (a closed connection's TIME_WAIT?); waiting"
            said=1
            sleep 1
        done
    done
}

start_sidecar() {
    local svc="$1"
    if sidecar_pid "$svc" >/dev/null; then
        return 0
    fi
    wait_bindable "daprd for $svc" "$(dapr_http_port "$svc")" "$(dapr_grpc_port "$svc")"
    # No app health checks: with them, daprd 1.16 pauses the app's subscriptions while
    # it is down and may never deliver again after it returns (a consumer stalled for
    # minutes in our fault tests). Without them a delivery to an app that is down is
    # retried per the resiliency policy (pubsubInbound) until the app is back.
    DAPR_API_TOKEN="$(generated DAPR_API_TOKEN)" APP_API_TOKEN="$(generated APP_API_TOKEN)" \
        TASKSTREAM_DAPR_CONFIG="$TASKSTREAM_ROOT/deploy/dapr/config.yaml" \
        dapr start-sidecar "$svc" "$(dapr_http_port "$svc")" "$(dapr_grpc_port "$svc")" \
        "$TASKSTREAM_ROOT/deploy/dapr/components" "$(app_port "$svc")"
}

start_app() {
    local svc="$1" port
    if app_pid "$svc" >/dev/null; then
        return 0
    fi
    port="$(app_port "$svc")"
    ! port_open "$port" || die "port $port (app $svc) is taken by another process"
    log "starting app $svc on 127.0.0.1:$port (log: $RUN_DIR/app-$svc.log)"
    # The database URL and JWT secret come from the secret store only.
    launch "app-$svc" "$RUN_DIR/apps/$svc" env -u TASKSTREAM_DATABASE_URL -u TASKSTREAM_JWT_SECRET \
        TASKSTREAM_DAPR_HTTP_PORT="$(dapr_http_port "$svc")" \
        TASKSTREAM_DAPR_API_TOKEN="$(generated DAPR_API_TOKEN)" \
        TASKSTREAM_APP_API_TOKEN="$(generated APP_API_TOKEN)" \
        TASKSTREAM_DATA_DIR="$RUN_DIR/apps/$svc" \
        TASKSTREAM_WEB_DIR="$TASKSTREAM_ROOT/frontend/out" \
        TASKSTREAM_PUBLIC_URL="${TASKSTREAM_PUBLIC_URL:-http://127.0.0.1:$GATEWAY_PORT}" \
        "$TASKSTREAM_BIN" serve "$svc" --host 127.0.0.1 --port "$port"
    if ! wait_http "app $svc" "http://127.0.0.1:$port/healthz" "$RUN_DIR/app-$svc.log" \
        still_starting "app-$svc"; then
        stop_app "$svc"
        return 1
    fi
}

# Whether the sidecar has found its app and taken its subscriptions: every service
# has at least one (api takes the dead-letter topics). daprd asks the app for them
# once, when the app's port first answers.
sidecar_sees_app() {
    curl -fsS --max-time 2 -H "dapr-api-token: $(generated DAPR_API_TOKEN)" \
        "http://127.0.0.1:$(dapr_http_port "$1")/v1.0/metadata" 2>/dev/null |
        grep -q '"subscriptions":\[{'
}

# Until the sidecar has found its app and subscribed for it.
wait_sidecar_ready() {
    local svc="$1" deadline=$((SECONDS + DIST_TIMEOUT)) url
    url="http://127.0.0.1:$(dapr_http_port "$1")/v1.0/healthz"
    until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null && sidecar_sees_app "$svc"; do
        if ! sidecar_pid "$svc" >/dev/null; then
            show_log "daprd for $svc stopped" "$DAPR_BASE/daprd-$svc.log"
            return 1
        fi
        if ! app_pid "$svc" >/dev/null; then
            show_log "app $svc stopped" "$RUN_DIR/app-$svc.log"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            show_log "daprd for $svc has not subscribed for its app after ${DIST_TIMEOUT}s" \
                "$DAPR_BASE/daprd-$svc.log"
            return 1
        fi
        sleep 0.2
    done
}

# first_sidecar SERVICE: starts its sidecar and waits until it has loaded its
# components (daprd opens its HTTP port only then).
first_sidecar() {
    local svc="$1" deadline=$((SECONDS + DIST_TIMEOUT))
    start_sidecar "$svc"
    until curl -fsS -o /dev/null --max-time 2 \
        "http://127.0.0.1:$(dapr_http_port "$svc")/v1.0/healthz/outbound" 2>/dev/null; do
        if ! sidecar_pid "$svc" >/dev/null; then
            show_log "daprd for $svc stopped" "$DAPR_BASE/daprd-$svc.log"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            show_log "daprd for $svc has not loaded its components after ${DIST_TIMEOUT}s" \
                "$DAPR_BASE/daprd-$svc.log"
            return 1
        fi
        sleep 0.2
    done
}

start_service() {
    local svc="$1" start
    start="$(_ts_now)"
    start_sidecar "$svc"
    start_app "$svc"
    wait_sidecar_ready "$svc"
    log "$svc is ready ($(elapsed_since "$start"))"
}

stop_app() {
    local pid
    if pid="$(app_pid "$1")"; then
        terminate "app $1" "$pid"
    fi
    rm -f -- "$RUN_DIR/app-$1.pid"
}

# --- gateway -------------------------------------------------------------------------

find_nginx() {
    NGINX="$(command -v nginx || true)"
    [[ -n "$NGINX" ]] || [[ ! -x /usr/sbin/nginx ]] || NGINX=/usr/sbin/nginx
    if [[ -z "$NGINX" ]]; then
        # Only the binary is used: it runs as a plain process with its own config.
        apt_install nginx
        NGINX=/usr/sbin/nginx
    fi
    [[ -x "$NGINX" ]] || die "nginx not found (Debian: apt-get install nginx)"
}

write_gateway_config() {
    local dir="$RUN_DIR/gateway" svc user=""
    mkdir -p -- "$dir/temp"
    # As root, the workers would run as nobody and could not use the temp folder.
    ((EUID != 0)) || user="user root;"
    {
        cat <<EOF
# Written by scripts/distributed.sh on every start of the gateway.
$user
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    # Paths without their query: WebSocket clients pass their access token there.
    log_format gateway '\$remote_addr [\$time_local] "\$request_method \$uri \$server_protocol" '
                       '\$status \$body_bytes_sent \$request_time "\$http_user_agent"';
    access_log $dir/access.log gateway;
    client_body_temp_path $dir/temp/body;
    proxy_temp_path $dir/temp/proxy;
    fastcgi_temp_path $dir/temp/fastcgi;
    uwsgi_temp_path $dir/temp/uwsgi;
    scgi_temp_path $dir/temp/scgi;
    # The apps enforce their own body limit (TASKSTREAM_MAX_BODY_BYTES) with their
    # own error; this one only stops the absurd.
    client_max_body_size 16m;
    server_tokens off;
    proxy_http_version 1.1;
    proxy_set_header Host \$http_host;
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto \$scheme;
    proxy_set_header Connection "";
    map \$http_upgrade \$connection_upgrade { default upgrade; "" close; }
EOF
        for svc in "${SERVICES[@]}"; do
            printf '    upstream %s { server 127.0.0.1:%s; keepalive 16; }\n' "$svc" "$(app_port "$svc")"
        done
        cat <<EOF
    server {
        listen 127.0.0.1:$GATEWAY_PORT;
        location / { proxy_pass http://api; }
        location = /api/v1/webhooks { proxy_pass http://notifier; }
        location /api/v1/webhooks/ { proxy_pass http://notifier; }
        location = /api/v1/notifications { proxy_pass http://notifier; }
        location /api/v1/notifications/ { proxy_pass http://notifier; }
        location = /api/v1/activity { proxy_pass http://audit; }
        location /api/v1/activity/ { proxy_pass http://audit; }
        location = /api/v1/ws {
            proxy_pass http://sync;
            # Setting any header here drops those of the http block: all of them again.
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            # A live-updates socket may stay quiet for long.
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
        }
        # What daprd calls on the apps, and their metrics, are not for the outside.
        location ~ ^/((dapr|events|job|internal)/|metrics$) {
            default_type application/problem+json;
            return 404 '{"type":"about:blank","title":"Not Found","status":404,"detail":"There is nothing here.","code":"not_found"}';
        }
        # A request line nginx itself refuses (a NUL, %00, or a broken escape in the path)
        # is a problem in JSON too; a NUL is the apps' 422, whichever part holds it.
        error_page 400 = /.gateway/bad-request;
        location = /.gateway/bad-request {
            internal;
            default_type application/problem+json;
            if (\$request ~ "%00|\\x00") {
                return 422 '{"type":"about:blank","title":"Unprocessable Entity","status":422,"detail":"The URL contains a NUL character (%00), which no value may hold.","code":"nul_character"}';
            }
            return 400 '{"type":"about:blank","title":"Bad Request","status":400,"detail":"The request cannot be read.","code":"bad_request"}';
        }
        # A service that is down answers like the apps do, with a problem in JSON.
        error_page 502 504 = @unavailable;
        location @unavailable {
            default_type application/problem+json;
            add_header Retry-After 1 always;
            return 503 '{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"The service for this path does not answer; try again shortly.","code":"service_unavailable"}';
        }
    }
}
EOF
    } >"$dir/nginx.conf"
}

start_gateway() {
    if gateway_pid >/dev/null; then
        return 0
    fi
    find_nginx
    ! port_open "$GATEWAY_PORT" || die "port $GATEWAY_PORT (the gateway) is taken by another process"
    write_gateway_config
    "$NGINX" -t -q -p "$RUN_DIR/gateway" -e "$RUN_DIR/gateway/error.log" \
        -c "$RUN_DIR/gateway/nginx.conf" 9>&- || die "nginx rejects $RUN_DIR/gateway/nginx.conf"
    log "starting the gateway on http://127.0.0.1:$GATEWAY_PORT (log: $RUN_DIR/gateway/error.log)"
    launch gateway "$RUN_DIR/gateway" "$NGINX" -p "$RUN_DIR/gateway" -e "$RUN_DIR/gateway/error.log" \
        -c "$RUN_DIR/gateway/nginx.conf" -g "daemon off;"
    if ! wait_http gateway "http://127.0.0.1:$GATEWAY_PORT/healthz" "$RUN_DIR/gateway/error.log" \
        still_starting gateway; then
        stop_gateway
        return 1
    fi
}

stop_gateway() {
    local pid
    if pid="$(gateway_pid)"; then
        terminate gateway "$pid"
    fi
    rm -f -- "$RUN_DIR/gateway.pid"
}

# --- whole shape ---------------------------------------------------------------------

port_open() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port_closed PORT: until nothing listens on PORT (5 s at most).
wait_port_closed() {
    local i
    for ((i = 0; i < 50; i++)); do
        port_open "$1" || return 0
        sleep 0.1
    done
    return 1
}

# From the run directory: a .env in the work tree must not choose the database.
migrate() {
    (cd -- "$RUN_DIR" && TASKSTREAM_DATABASE_URL="$(database_url)" "$TASKSTREAM_BIN" migrate >&2 9>&-)
}

# needs_sql SERVICE...: whether one of them uses PostgreSQL.
needs_sql() {
    local svc sql
    for svc in "$@"; do
        for sql in "${SQL_SERVICES[@]}"; do
            [[ "$svc" != "$sql" ]] || return 0
        done
    done
    return 1
}

# Whether any app, sidecar or the gateway of this shape runs.
anything_runs() {
    local svc
    gateway_pid >/dev/null && return 0
    for svc in "${SERVICES[@]}"; do
        app_pid "$svc" >/dev/null && return 0
        sidecar_pid "$svc" >/dev/null && return 0
    done
    return 1
}

# Kills what a lost pid file would leave behind: apps and nginx processes running in
# the run directory, and daprd processes of these services.
sweep() {
    local pid cwd svc
    for pid in $(pgrep -f -- '^nginx|/taskstream serve [a-z]+ --host 127\.0\.0\.1 ' || true); do
        cwd="$(readlink -- "/proc/$pid/cwd" 2>/dev/null)" || continue
        if [[ "$cwd" == "$RUN_DIR"/* ]]; then
            warn "killing a leftover process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null))"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    for svc in "${SERVICES[@]}"; do
        for pid in $(pgrep -f -- "daprd .* --resources-path $DAPR_BASE/sidecars/$svc/resources " || true); do
            warn "killing a leftover daprd $pid for $svc"
            kill -KILL "$pid" 2>/dev/null || true
        done
    done
}

# Stops the apps, sidecars and gateway, each kind side by side. A step that fails
# does not keep the others from running: the sweep catches what is left.
stop_shape() {
    local svc pid pids=()
    # Apps first: nothing new reaches Kafka or the database after this.
    for svc in "${SERVICES[@]}"; do
        stop_app "$svc" &
        pids+=("$!")
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || true
    done
    pids=()
    for svc in "${SERVICES[@]}"; do
        if sidecar_pid "$svc" >/dev/null; then
            dapr stop-sidecar "$svc" &
            pids+=("$!")
        fi
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || true
    done
    stop_gateway || true
    sweep
}

cmd_up() {
    local start
    start="$(_ts_now)"
    prepare_run_dir
    take_lock
    if [[ -f "$SETTINGS_FILE" ]] && anything_runs; then
        apply_settings <"$SETTINGS_FILE"
        [[ "$(cat "$SETTINGS_FILE")" == "$(settings_from_env)" ]] ||
            die "the distributed shape already runs with other settings ($SETTINGS_FILE); run '$0 down' first"
    else
        apply_settings < <(settings_from_env)
        settings_from_env >"$SETTINGS_FILE"
    fi
    if [[ "${TASKSTREAM_DIST_FRESH:-0}" == 1 ]]; then
        fresh_slate
    fi
    if [[ ! -x "$TASKSTREAM_BIN" ]]; then
        ensure_uv
        ensure_env
    fi
    # The web app, served at / by the api service.
    bash "$TASKSTREAM_ROOT/scripts/web.sh" build 9>&- ||
        warn "the web app could not be built: the gateway serves the API without it"
    local svc missing=()
    for svc in "${SERVICES[@]}"; do
        app_pid "$svc" >/dev/null && sidecar_pid "$svc" >/dev/null || missing+=("$svc")
    done
    # What the services need: started when it does not run, checked when some
    # service is about to start.
    if ! postgres status >/dev/null 2>&1; then
        touch "$PG_MARKER"
        wait_bindable PostgreSQL "$PG_PORT"
        run_step "PostgreSQL (database $DATABASE)" postgres start
    elif ((${#missing[@]} > 0)); then
        postgres start # creates the database if it is missing
    fi
    if ! kafka status >/dev/null 2>&1; then
        wait_bindable Kafka "$KAFKA_PORT" $((KAFKA_PORT + 1))
        run_step "Kafka" kafka start
        run_step "Kafka topics" kafka topics "${TOPICS[@]}"
    elif ((${#missing[@]} > 0)); then
        run_step "Kafka topics" kafka topics "${TOPICS[@]}"
    fi
    scheduler_pid >/dev/null || run_step "Dapr scheduler" start_scheduler
    if ((${#missing[@]} > 0)); then
        write_secrets
        if needs_sql "${missing[@]}"; then
            run_step "migrations" migrate
        fi
        # Every sidecar loads the state store, and on a new database each would create
        # its tables: side by side, PostgreSQL refuses all but one ("type
        # dapr_state_metadata already exists") and those daprd exit. One sidecar
        # creates them first; the services then start side by side, each in its order.
        if ((${#missing[@]} > 1)); then
            run_step "the state store's tables" first_sidecar "${missing[0]}"
        fi
        local pids=() failed=()
        for svc in "${missing[@]}"; do
            start_service "$svc" &
            pids+=("$!")
        done
        local i
        for i in "${!pids[@]}"; do
            wait "${pids[$i]}" || failed+=("${missing[$i]}")
        done
        ((${#failed[@]} == 0)) ||
            die "could not start: ${failed[*]} (see '$0 logs SERVICE'; '$0 down' stops the rest)"
    fi
    start_gateway
    log "the distributed shape is up ($(elapsed_since "$start"))"
    print_endpoints
}

# TASKSTREAM_DIST_FRESH=1: nothing of the last run survives but the PostgreSQL server.
fresh_slate() {
    log "TASKSTREAM_DIST_FRESH=1: stopping everything and deleting the data of the last run"
    stop_shape
    dapr stop-scheduler
    rm -rf -- "$DAPR_BASE/scheduler-etcd"
    kafka clean
    rm -rf -- "$GENERATED_FILE" "$RUN_DIR/apps" "$RUN_DIR/gateway" "$RUN_DIR"/app-*.log
    if ! postgres status >/dev/null 2>&1; then
        touch "$PG_MARKER"
    fi
    postgres recreate
}

cmd_down() {
    prepare_run_dir
    take_lock
    load_settings
    stop_shape
    dapr stop-scheduler || warn "could not stop the Dapr scheduler"
    kafka stop || warn "could not stop Kafka"
    if [[ -f "$PG_MARKER" ]]; then
        postgres stop || warn "could not stop PostgreSQL"
        rm -f -- "$PG_MARKER"
    else
        log "PostgreSQL keeps running: the distributed shape did not start it"
    fi
    if anything_runs || scheduler_pid >/dev/null || kafka status >/dev/null 2>&1; then
        die "something still runs: see '$0 status'"
    fi
    rm -f -- "$SETTINGS_FILE"
    log "the distributed shape is down"
}

print_endpoints() {
    local svc
    printf 'gateway     http://127.0.0.1:%s  (API docs: /api/v1/docs)\n' "$GATEWAY_PORT"
    for svc in "${SERVICES[@]}"; do
        printf '%-11s http://127.0.0.1:%s  daprd http://127.0.0.1:%s grpc %s\n' \
            "$svc" "$(app_port "$svc")" "$(dapr_http_port "$svc")" "$(dapr_grpc_port "$svc")"
    done
    printf 'postgres    %s\n' "$(database_url)"
    printf 'kafka       127.0.0.1:%s\n' "$KAFKA_PORT"
    printf 'scheduler   127.0.0.1:%s\n' "$SCHEDULER_PORT"
    printf 'run dir     %s\n' "$RUN_DIR"
}

cmd_status() {
    local svc pid rc=0 app sidecar
    load_settings
    # describe NAME PID WHERE: PID is empty for "not running", "-" for "runs".
    describe() {
        if [[ "$2" == - ]]; then
            printf '%-10s runs  %s\n' "$1" "$3"
        elif [[ -n "$2" ]]; then
            printf '%-10s runs (pid %s)  %s\n' "$1" "$2" "$3"
        else
            printf '%-10s is not running  (%s)\n' "$1" "$3"
            rc=3
        fi
    }
    if postgres status >/dev/null 2>&1; then
        describe postgres "-" "$(database_url)"
    else
        describe postgres "" "$(database_url)"
    fi
    pid="$(cat -- "$KAFKA_BASE/kafka.pid" 2>/dev/null || true)"
    if kafka status >/dev/null 2>&1; then describe kafka "$pid" "127.0.0.1:$KAFKA_PORT"; else describe kafka "" "127.0.0.1:$KAFKA_PORT"; fi
    describe scheduler "$(scheduler_pid || true)" "127.0.0.1:$SCHEDULER_PORT"
    describe gateway "$(gateway_pid || true)" "http://127.0.0.1:$GATEWAY_PORT"
    for svc in "${SERVICES[@]}"; do
        app="$(app_pid "$svc" || true)"
        sidecar="$(sidecar_pid "$svc" || true)"
        describe "$svc" "$app" "app http://127.0.0.1:$(app_port "$svc")"
        describe "  daprd" "$sidecar" "http://127.0.0.1:$(dapr_http_port "$svc")"
    done
    return "$rc"
}

cmd_env() {
    local svc upper
    load_settings
    printf 'GATEWAY_URL=http://127.0.0.1:%s\n' "$GATEWAY_PORT"
    for svc in "${SERVICES[@]}"; do
        upper="${svc^^}"
        printf '%s_APP_URL=http://127.0.0.1:%s\n' "$upper" "$(app_port "$svc")"
        printf '%s_DAPR_HTTP_PORT=%s\n' "$upper" "$(dapr_http_port "$svc")"
        printf '%s_DAPR_GRPC_PORT=%s\n' "$upper" "$(dapr_grpc_port "$svc")"
    done
    printf 'DATABASE_URL=%s\n' "$(database_url)"
    printf 'KAFKA_BOOTSTRAP=127.0.0.1:%s\n' "$KAFKA_PORT"
    printf 'SCHEDULER_ADDRESS=127.0.0.1:%s\n' "$SCHEDULER_PORT"
    printf 'DAPR_API_TOKEN=%s\n' "$(generated DAPR_API_TOKEN)"
    printf 'APP_API_TOKEN=%s\n' "$(generated APP_API_TOKEN)"
    printf 'RUN_DIR=%s\n' "$RUN_DIR"
    printf 'DAPR_RUN_DIR=%s\n' "$DAPR_BASE"
}

cmd_logs() {
    local files=() svc
    load_settings
    if (($# > 0)); then
        service_index "$1" >/dev/null
        files=("$RUN_DIR/app-$1.log" "$DAPR_BASE/daprd-$1.log")
    else
        for svc in "${SERVICES[@]}"; do
            files+=("$RUN_DIR/app-$svc.log" "$DAPR_BASE/daprd-$svc.log")
        done
        files+=("$RUN_DIR/gateway/error.log" "$RUN_DIR/gateway.log" "$DAPR_BASE/scheduler.log"
            "$KAFKA_BASE/logs/server.log" "$KAFKA_BASE/logs/kafka.out")
    fi
    local existing=() file
    for file in "${files[@]}"; do
        [[ -s "$file" ]] && existing+=("$file")
    done
    ((${#existing[@]} > 0)) || {
        log "no logs yet in $RUN_DIR"
        return 0
    }
    # -v: a header before each file, also when there is only one.
    tail -v -n "$LOG_LINES" -- "${existing[@]}"
}

# The commands on one service: run by tests that stop, crash and restart parts.
cmd_one() {
    local command="$1" svc="${2:-}" pid
    [[ -n "$svc" ]] || die "usage: $0 $command SERVICE"
    prepare_run_dir
    take_lock
    load_settings
    service_index "$svc" >/dev/null
    case "$command" in
        start)
            [[ -s "$SECRETS_FILE" ]] || die "run '$0 up' first"
            start_service "$svc"
            ;;
        stop) stop_app "$svc" ;;
        kill)
            pid="$(app_pid "$svc")" || die "app $svc is not running"
            sigkill "app $svc" "$pid"
            # The leader turns zombie before its other threads are gone, and they hold
            # the listening socket: done when the port is free.
            wait_port_closed "$(app_port "$svc")" || die "port $(app_port "$svc") stays open after app $svc was killed"
            ;;
        start-sidecar)
            [[ -s "$SECRETS_FILE" ]] || die "run '$0 up' first"
            start_sidecar "$svc"
            # Without its app it cannot subscribe; with it, wait until it has.
            if app_pid "$svc" >/dev/null; then
                wait_sidecar_ready "$svc"
            fi
            ;;
        stop-sidecar) dapr stop-sidecar "$svc" ;;
        kill-sidecar)
            pid="$(sidecar_pid "$svc")" || die "daprd for $svc is not running"
            sigkill "daprd for $svc" "$pid"
            ;;
    esac
}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
}

command="${1:-}"
(($# == 0)) || shift
case "$command" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    logs) cmd_logs "$@" ;;
    start | stop | kill | start-sidecar | stop-sidecar | kill-sidecar) cmd_one "$command" "$@" ;;
    start-scheduler)
        prepare_run_dir
        take_lock
        load_settings
        start_scheduler
        ;;
    kill-scheduler)
        load_settings
        pid="$(scheduler_pid)" || die "the Dapr scheduler is not running"
        sigkill "the Dapr scheduler" "$pid"
        ;;
    -h | --help | help) usage ;;
    *)
        usage
        exit 2
        ;;
esac
