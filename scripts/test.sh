#!/usr/bin/env bash
# Checks taskstream the way CI does, against a throw-away PostgreSQL:
#
#   scripts/test.sh [PYTEST ARGS...]
#
# Makes sure Kafka, Dapr and the Kubernetes tools are built (cached), then runs ruff
# check, ruff format --check, mypy src, the web app's checks and build (scripts/web.sh
# check), pytest (unit, integration, e2e, chart), the unit tests again under
# TZ=Asia/Tokyo and the browser tests (scripts/web.sh browser), in this order, and stops
# at the first failure. Tests reach the server through TASKSTREAM_TEST_POSTGRES_URL. The
# cluster is stopped at the end, unless it was already running before or
# TASKSTREAM_KEEP_PG=1.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

cd -- "$TASKSTREAM_ROOT"
total_start="$(_ts_now)"

step_start="$(_ts_now)"
ensure_uv
ensure_env
log "environment ready ($(elapsed_since "$step_start"))"

postgres() { bash "$TASKSTREAM_ROOT/scripts/postgres.sh" "$@"; }

stop_postgres() {
    postgres stop || warn "could not stop the test PostgreSQL cluster"
}

if [[ "${TASKSTREAM_KEEP_PG:-0}" == 1 ]]; then
    log "TASKSTREAM_KEEP_PG=1: PostgreSQL keeps running afterwards"
elif postgres status >/dev/null 2>&1; then
    # Someone else (`make pg-start`, another test run) started it: leave it.
    log "PostgreSQL was already running; it keeps running afterwards"
else
    trap stop_postgres EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
fi

run_step "start PostgreSQL" postgres start
TASKSTREAM_TEST_POSTGRES_URL="$(postgres url)"
export TASKSTREAM_TEST_POSTGRES_URL

# The end-to-end tests (tests/e2e) start their own distributed instance; the first
# run on a machine builds daprd and the scheduler (about 12 minutes), later runs
# reuse the cache.
run_step "Kafka and Dapr (cached after the first build)" bash "$TASKSTREAM_ROOT/scripts/toolchain.sh" all
# The chart tests (tests/chart) use helm, kubeconform, actionlint, the schemas and a real
# kube-apiserver with etcd, built from the Go module proxy the first time (about 25
# minutes on 2 busy cores), cached afterwards.
run_step "Kubernetes tools (cached after the first build)" bash "$TASKSTREAM_ROOT/scripts/k8s-toolchain.sh" all

run_step "ruff check" .venv/bin/ruff check .
run_step "ruff format --check" .venv/bin/ruff format --check .
run_step "mypy src" .venv/bin/mypy src
# The web app: its generated API client is current, it type-checks, lints and builds.
run_step "web app checks and build" bash "$TASKSTREAM_ROOT/scripts/web.sh" check

pytest_rc=0
run_step "pytest" .venv/bin/pytest "$@" || pytest_rc=$?
if ((pytest_rc == 5)); then
    die "pytest collected no tests (exit code 5), which counts as a failure: check the arguments (${*:-none}) and that tests/ holds tests"
elif ((pytest_rc != 0)); then
    exit "$pytest_rc"
fi

# The unit tests again in a zone far from UTC (fast): code that reads the machine's zone
# where it should read the task's or the user's passes in UTC and fails here.
tz_rc=0
run_step "unit tests in TZ=Asia/Tokyo" env TZ=Asia/Tokyo .venv/bin/pytest tests/unit -q || tz_rc=$?
if ((tz_rc == 5)); then
    die "pytest collected no unit tests in TZ=Asia/Tokyo (exit code 5), which counts as a failure"
elif ((tz_rc != 0)); then
    exit "$tz_rc"
fi

# The web app in Debian's Chromium, against an embedded server the tests start.
run_step "browser tests" bash "$TASKSTREAM_ROOT/scripts/web.sh" browser

log "all checks passed ($(elapsed_since "$total_start") in all)"
