# shellcheck shell=bash
# Shared helpers for the scripts in this folder. Source it, don't run it:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Callers set `set -euo pipefail` themselves. Every log line goes to stderr, so
# that stdout stays clean for values (`scripts/postgres.sh url`).
#
# Tools live under ${XDG_CACHE_HOME:-$HOME/.cache}/taskstream/, never in the work tree.

TASKSTREAM_ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
TASKSTREAM_CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/taskstream"
# The uv that wrote uv.lock. Bump it together with the lock file.
TASKSTREAM_UV_VERSION="0.13.9"

# --- logging ---------------------------------------------------------------

if [[ -t 2 && -z "${NO_COLOR:-}" ]]; then
    _ts_bold=$'\033[1m' _ts_red=$'\033[31m' _ts_yellow=$'\033[33m' _ts_reset=$'\033[0m'
else
    _ts_bold="" _ts_red="" _ts_yellow="" _ts_reset=""
fi

log() { printf '%s==>%s %s\n' "$_ts_bold" "$_ts_reset" "$*" >&2; }
warn() { printf '%swarning:%s %s\n' "$_ts_yellow" "$_ts_reset" "$*" >&2; }
err() { printf '%serror:%s %s\n' "$_ts_red" "$_ts_reset" "$*" >&2; }
die() {
    err "$*"
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

# Seconds since the epoch, with a fractional part where the shell has one.
_ts_now() {
    if [[ -n "${EPOCHREALTIME:-}" ]]; then
        printf '%s' "${EPOCHREALTIME/,/.}"
    else
        date +%s
    fi
}

# Prints how long ago (in seconds) the time stamp $1, taken with _ts_now, was.
elapsed_since() {
    awk -v start="$1" -v end="$(_ts_now)" 'BEGIN { printf "%.1fs", end - start }'
}

# run_step NAME COMMAND [ARG...]: runs COMMAND, logging NAME, the outcome and the
# time it took. Returns the command's exit code (so `set -e` stops the caller).
run_step() {
    local name="$1" start rc=0
    shift
    log "$name"
    start="$(_ts_now)"
    "$@" || rc=$?
    if ((rc == 0)); then
        log "$name: ok ($(elapsed_since "$start"))"
    else
        err "$name: failed with exit code $rc ($(elapsed_since "$start"))"
    fi
    return "$rc"
}

# --- privileges and system packages -----------------------------------------

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if ((EUID == 0)); then
        "$@"
    elif have sudo; then
        sudo "$@"
    else
        die "need root to run '$*' and sudo is not installed"
    fi
}

# apt_install PACKAGE...: installs Debian packages non-interactively.
apt_install() {
    have apt-get || die "cannot install $* automatically: apt-get not found; install it by hand"
    log "installing $* with apt-get"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@"
}

# --- uv and the project environment ------------------------------------------

_uv_has_pinned_version() {
    local name version
    [[ -x "$1" ]] || return 1
    read -r name version _ < <("$1" --version 2>/dev/null) || return 1
    [[ "$name" == uv && "$version" == "$TASKSTREAM_UV_VERSION" ]]
}

# Creates a virtual environment with pip in it at $1 from python3 (or
# $TASKSTREAM_PYTHON). Debian's own python3 needs the python3-venv package.
_make_tool_venv() {
    local venv="$1" python="${TASKSTREAM_PYTHON:-python3}"
    have "$python" || die "$python not found: install Python 3.11 or newer"
    if "$python" -m venv "$venv"; then
        return 0
    fi
    rm -rf -- "$venv"
    if [[ "$("$python" -c 'import sys; print(sys.base_prefix)')" == /usr ]] && have apt-get; then
        apt_install python3-venv
        "$python" -m venv "$venv" && return 0
        rm -rf -- "$venv"
    fi
    die "'$python -m venv' failed; install the venv module of your Python (Debian: python3-venv)"
}

# ensure_uv: makes the pinned uv available on PATH (and as $UV), installing it
# with pip into a cached virtual environment the first time.
ensure_uv() {
    local tools="$TASKSTREAM_CACHE_DIR/tools"
    local venv="$tools/uv-$TASKSTREAM_UV_VERSION"
    if ! _uv_has_pinned_version "$venv/bin/uv"; then
        mkdir -p -- "$tools"
        (
            # Two scripts starting at once must not install into the same place.
            if have flock; then
                exec 9>"$tools/.uv.lock"
                flock 9
            fi
            _uv_has_pinned_version "$venv/bin/uv" && exit 0
            log "installing uv $TASKSTREAM_UV_VERSION into $venv (once)"
            rm -rf -- "$venv"
            _make_tool_venv "$venv"
            "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
                "uv==$TASKSTREAM_UV_VERSION"
            _uv_has_pinned_version "$venv/bin/uv" ||
                die "installed uv $TASKSTREAM_UV_VERSION but $venv/bin/uv does not run"
        )
    fi
    # Put only uv and uvx on PATH, not the python and pip of the tool venv.
    mkdir -p -- "$venv/path"
    ln -sfn ../bin/uv "$venv/path/uv"
    ln -sfn ../bin/uvx "$venv/path/uvx"
    case ":$PATH:" in
        *":$venv/path:"*) ;;
        *) PATH="$venv/path:$PATH" ;;
    esac
    export PATH
    UV="$venv/bin/uv"
    export UV
}

# ensure_env: creates or updates .venv in the repository root from uv.lock,
# exactly (the lock file is never rewritten).
ensure_env() {
    [[ -n "${UV:-}" ]] || ensure_uv
    log "syncing .venv with uv.lock"
    (
        cd -- "$TASKSTREAM_ROOT" || exit
        UV_PROJECT_ENVIRONMENT="$TASKSTREAM_ROOT/.venv" "$UV" sync --frozen
    )
}

# with_lock DIR NAME COMMAND...: runs COMMAND holding DIR/.NAME.lock (on fd 9), so that two
# scripts never install the same tool at once.
with_lock() {
    local dir="$1" name="$2"
    shift 2
    mkdir -p -- "$dir"
    (
        if have flock; then
            exec 9>"$dir/.$name.lock"
            flock 9
        fi
        "$@"
    )
}

# pid_alive PIDFILE PATTERN: prints the pid in PIDFILE if that process lives and its
# command line contains PATTERN (a recycled pid is not ours). The command line is read
# whole, then matched: piped into `grep -q`, under pipefail, it could fail when grep
# exits before the last of a long command line is written.
pid_alive() {
    local pid
    pid="$(cat -- "$1" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
        [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *"$2"* ]] &&
        printf '%s' "$pid"
}

# Whether PID has exited. A zombie has: its parent (often init, once this script
# has exited) may take its time to reap it, or never do so in some containers. But
# a zombie leader whose other threads are still being torn down has not: they hold
# its files, listening sockets included.
exited() {
    local state threads
    state="$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)"
    threads="$(sed -n 's/^Threads:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)"
    [[ -z "$state" ]] || [[ "$state" == Z && "${threads:-1}" -le 1 ]]
}
