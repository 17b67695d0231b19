#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests, separate from any system cluster.
#
#   scripts/postgres.sh start    install the server if needed, create and start the
#                                cluster, create the database (does nothing if running)
#   scripts/postgres.sh stop     stop it (the data stays for the next start)
#   scripts/postgres.sh status   say whether it runs
#   scripts/postgres.sh url      print its SQLAlchemy URL
#   scripts/postgres.sh recreate drop the database (ending its sessions) and create it
#                                again, empty (starts the cluster if needed)
#
# The cluster lives in ${TMPDIR:-/tmp}/taskstream-pg-$UID, listens on 127.0.0.1
# only, on port ${TASKSTREAM_PG_PORT:-15432}, trusts every local connection and
# runs with fsync off: never put data you want to keep in it. Run as root, the
# server runs as the `postgres` user (initdb refuses root).
#
# Environment: TASKSTREAM_PG_PORT (15432), TASKSTREAM_PG_DATABASE (the database that
# start creates and url names, taskstream_test), TASKSTREAM_PG_TIMEOUT (seconds to wait
# for the server, 30), TASKSTREAM_PG_BINDIR (the server's bin directory; default:
# the newest /usr/lib/postgresql/*/bin, installed with apt-get when there is none).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

PG_PORT="${TASKSTREAM_PG_PORT:-15432}"
PG_TIMEOUT="${TASKSTREAM_PG_TIMEOUT:-30}"
PG_DATABASE="${TASKSTREAM_PG_DATABASE:-taskstream_test}"
PG_SUPERUSER="postgres"
PG_BASE="${TMPDIR:-/tmp}"
PG_BASE="${PG_BASE%/}/taskstream-pg-$UID"
PG_DATA="$PG_BASE/data"
PG_LOG="$PG_BASE/postgres.log"

[[ "$PG_PORT" =~ ^[0-9]+$ ]] || die "TASKSTREAM_PG_PORT must be a port number, not '$PG_PORT'"
[[ "$PG_TIMEOUT" =~ ^[0-9]+$ ]] || die "TASKSTREAM_PG_TIMEOUT must be a number of seconds"
# A plain identifier: it goes into SQL and URLs as it is.
[[ "$PG_DATABASE" =~ ^[a-z_][a-z0-9_]*$ ]] ||
    die "TASKSTREAM_PG_DATABASE must be a lower-case SQL identifier, not '$PG_DATABASE'"

# The newest server under /usr/lib/postgresql (the Debian layout), or nothing.
find_bindir() {
    local dir best=""
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/postgres" ]] || continue
        if [[ -z "$best" ]] || [[ "$(printf '%s\n%s\n' "$best" "$dir" | sort -V | tail -n1)" == "$dir" ]]; then
            best="$dir"
        fi
    done
    printf '%s' "$best"
}

# Sets PG_BIN to the server's bin directory: $TASKSTREAM_PG_BINDIR, or the newest
# under /usr/lib/postgresql. Fails when there is none.
find_server() {
    PG_BIN="${TASKSTREAM_PG_BINDIR:-$(find_bindir)}"
    [[ -n "$PG_BIN" ]]
}

ensure_server_installed() {
    if ! find_server; then
        apt_install postgresql
        find_server || die "installed postgresql but found no /usr/lib/postgresql/*/bin/postgres"
    fi
    local tool
    for tool in postgres initdb pg_ctl pg_isready psql; do
        [[ -x "$PG_BIN/$tool" ]] || die "$PG_BIN/$tool is missing"
    done
}

# Runs a server command as the user who owns the cluster: `postgres` when we are
# root, ourselves otherwise. From /, because that user may not be able to read
# the current directory. Without fd 9 (the lock), which the server must not
# inherit and hold for its whole life.
as_owner() {
    if ((EUID == 0)); then
        (cd / && runuser -u "$PG_SUPERUSER" -- "$@" 9>&-)
    else
        (cd / && "$@" 9>&-)
    fi
}

owner_name() {
    if ((EUID == 0)); then printf '%s' "$PG_SUPERUSER"; else id -un; fi
}

prepare_base_dir() {
    local owner
    owner="$(owner_name)"
    if ((EUID == 0)); then
        id -u "$PG_SUPERUSER" >/dev/null 2>&1 ||
            die "user '$PG_SUPERUSER' does not exist (the postgresql package creates it)"
    fi
    if [[ -L "$PG_BASE" ]]; then
        die "$PG_BASE is a symbolic link; remove it"
    fi
    if [[ ! -d "$PG_BASE" ]]; then
        mkdir -p -- "$PG_BASE"
        if ((EUID == 0)); then
            chown "$PG_SUPERUSER:" "$PG_BASE"
        fi
    fi
    [[ "$(stat -c %U "$PG_BASE")" == "$owner" ]] ||
        die "$PG_BASE belongs to $(stat -c %U "$PG_BASE"), not $owner; remove it"
    chmod 700 "$PG_BASE"
    as_owner test -w "$PG_BASE" ||
        die "$owner cannot write to $PG_BASE (is ${TMPDIR:-/tmp} readable by $owner?)"
}

is_running() {
    [[ -f "$PG_DATA/PG_VERSION" ]] && as_owner "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1
}

# The port of the running server, from the fourth line of postmaster.pid.
running_port() {
    sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null || true
}

init_cluster() {
    local server_major
    # "postgres (PostgreSQL) 15.18 (Debian ...)" -> 15
    server_major="$("$PG_BIN/postgres" --version | sed -nE 's/^[^0-9]*([0-9]+).*/\1/p')"
    if [[ -f "$PG_DATA/PG_VERSION" ]]; then
        [[ "$(cat "$PG_DATA/PG_VERSION")" == "$server_major" ]] && return 0
        log "the cluster in $PG_DATA is from another PostgreSQL version; recreating it"
    fi
    rm -rf -- "$PG_DATA"
    log "creating a throw-away PostgreSQL $server_major cluster in $PG_DATA"
    as_owner "$PG_BIN/initdb" --pgdata="$PG_DATA" --username="$PG_SUPERUSER" \
        --auth=trust --encoding=UTF8 --locale=C --no-sync >"$PG_BASE/initdb.log" 2>&1 || {
        cat "$PG_BASE/initdb.log" >&2
        die "initdb failed"
    }
    # Settings that must hold on every start live in their own file, rewritten
    # by each start (so a new TASKSTREAM_PG_PORT takes effect).
    printf "\ninclude_if_exists = 'taskstream.conf'\n" |
        as_owner tee -a "$PG_DATA/postgresql.conf" >/dev/null
}

write_settings() {
    as_owner tee "$PG_DATA/taskstream.conf" >/dev/null <<EOF
# Written by scripts/postgres.sh on every start: a throw-away test cluster.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_BASE'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

show_log() {
    err "$1; the server log ($PG_LOG) says:"
    tail -n 40 "$PG_LOG" >&2 2>/dev/null || true
}

wait_until_ready() {
    local deadline=$((SECONDS + PG_TIMEOUT))
    until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres -t 1; do
        if ! is_running; then
            show_log "PostgreSQL stopped while starting"
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            show_log "PostgreSQL does not accept connections after ${PG_TIMEOUT}s"
            as_owner "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m immediate >/dev/null 2>&1 || true
            exit 1
        fi
        sleep 0.2
    done
}

psql_admin() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_SUPERUSER" \
        -d postgres "$@"
}

ensure_database() {
    if [[ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" != 1 ]]; then
        log "creating database $PG_DATABASE"
        psql_admin -c "CREATE DATABASE $PG_DATABASE"
    fi
}

# Serialises start and stop, so that two callers don't both initdb.
take_lock() {
    have flock || return 0
    exec 9>"$PG_BASE/.lock"
    flock -w "$PG_TIMEOUT" 9 || die "another scripts/postgres.sh holds $PG_BASE/.lock"
}

cmd_start() {
    ensure_server_installed
    prepare_base_dir
    take_lock
    if is_running; then
        local port
        port="$(running_port)"
        if [[ -n "$port" && "$port" != "$PG_PORT" ]]; then
            die "the cluster in $PG_DATA already runs on port $port, not $PG_PORT; run 'scripts/postgres.sh stop' first"
        fi
        wait_until_ready
        ensure_database
        log "PostgreSQL already runs on 127.0.0.1:$PG_PORT"
        return 0
    fi
    init_cluster
    write_settings
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT (log: $PG_LOG)"
    rm -f -- "$PG_LOG"
    # pg_ctl --wait notices a server that exits early; pg_isready then checks
    # that it takes TCP connections where the tests will connect.
    if ! as_owner "$PG_BIN/pg_ctl" start --wait --timeout="$PG_TIMEOUT" \
        -D "$PG_DATA" -l "$PG_LOG" >/dev/null; then
        show_log "PostgreSQL did not start"
        as_owner "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m immediate >/dev/null 2>&1 || true
        exit 1
    fi
    wait_until_ready
    ensure_database
    log "PostgreSQL is ready: $(cmd_url)"
}

cmd_recreate() {
    cmd_start
    log "dropping and recreating database $PG_DATABASE"
    # WITH (FORCE) ends the sessions still connected to it (PostgreSQL 13 and newer).
    psql_admin -c "DROP DATABASE IF EXISTS $PG_DATABASE WITH (FORCE)"
    psql_admin -c "CREATE DATABASE $PG_DATABASE"
}

cmd_stop() {
    if [[ ! -f "$PG_DATA/PG_VERSION" ]] || ! find_server; then
        log "no cluster in $PG_DATA; nothing to stop"
        return 0
    fi
    take_lock
    if ! is_running; then
        log "PostgreSQL is not running"
        return 0
    fi
    log "stopping PostgreSQL"
    as_owner "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -t "$PG_TIMEOUT" >/dev/null
}

cmd_status() {
    if find_server && is_running; then
        log "PostgreSQL runs on 127.0.0.1:$(running_port) (data: $PG_DATA)"
    else
        log "PostgreSQL is not running"
        return 3
    fi
}

cmd_url() {
    printf 'postgresql+asyncpg://%s@127.0.0.1:%s/%s\n' "$PG_SUPERUSER" "$PG_PORT" "$PG_DATABASE"
}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    url) cmd_url ;;
    recreate) cmd_recreate ;;
    -h | --help | help)
        usage
        ;;
    *)
        usage
        exit 2
        ;;
esac
