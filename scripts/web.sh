#!/usr/bin/env bash
# The web app in frontend/ (Next.js, static export), with npm and the committed lock file:
#
#   scripts/web.sh build      install, then build frontend/out if it is missing or stale
#   scripts/web.sh check      install, check the generated API client, type-check, lint, build
#   scripts/web.sh generate   regenerate the typed API client from the live OpenAPI document
#   scripts/web.sh browser [PLAYWRIGHT ARGS...]
#                             browser tests in Debian's Chromium against an embedded server
#   scripts/web.sh size       first-load JavaScript of the main page, gzipped (after a build)
#
# npm keeps its downloads in its own cache (~/.npm), so a second install is fast;
# node_modules is reinstalled only when package-lock.json changes.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

WEB="$TASKSTREAM_ROOT/frontend"
export NEXT_TELEMETRY_DISABLED=1

ensure_node() {
    have node && have npm || die "the web app needs Node.js 20.9 or newer with npm (Debian: the nodejs package from a current release)"
    local major minor
    IFS=. read -r major minor _ < <(node --version | tr -d v)
    ((major > 20 || (major == 20 && minor >= 9))) || die "Node.js $(node --version) is too old for the web app: 20.9 or newer"
}

ensure_modules() {
    ensure_node
    local stamp="$WEB/node_modules/.taskstream-lock"
    if [[ -f "$stamp" ]] && cmp -s "$stamp" "$WEB/package-lock.json"; then
        return 0
    fi
    log "installing the web app's packages (npm ci)"
    (cd -- "$WEB" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
    cp -- "$WEB/package-lock.json" "$stamp"
}

# The Python side (the OpenAPI document, the server of the browser tests), in step
# with uv.lock.
ensure_python() {
    ensure_uv
    ensure_env
}

# A digest of everything the build reads; out/ is rebuilt when it changes.
source_digest() {
    (
        cd -- "$WEB"
        local inputs=() one
        for one in src public next.config.ts postcss.config.mjs tsconfig.json package-lock.json; do
            [[ -e "$one" ]] && inputs+=("$one")
        done
        find "${inputs[@]}" -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1
    )
}

build() {
    local digest
    digest="$(source_digest)"
    if [[ -f "$WEB/out/index.html" && "$(cat "$WEB/out/.source-digest" 2>/dev/null)" == "$digest" ]]; then
        log "the web app in frontend/out is up to date"
        return 0
    fi
    ensure_modules
    log "building the web app (next build)"
    (cd -- "$WEB" && npx --no-install next build)
    printf '%s\n' "$digest" >"$WEB/out/.source-digest"
}

ensure_chromium() {
    [[ -x /usr/bin/chromium ]] && return 0
    apt_install chromium fonts-dejavu-core fonts-liberation
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

command="${1:-build}"
shift || true
case "$command" in
    build)
        build
        ;;
    check)
        ensure_modules
        ensure_python
        run_step "web: generated API client is current" bash -c "cd '$WEB' && node scripts/generate-client.mjs --check"
        run_step "web: tsc" bash -c "cd '$WEB' && npx --no-install tsc --noEmit"
        run_step "web: eslint" bash -c "cd '$WEB' && npx --no-install eslint --max-warnings=0 ."
        run_step "web: next build" build
        ;;
    generate)
        ensure_modules
        ensure_python
        (cd -- "$WEB" && node scripts/generate-client.mjs)
        ;;
    browser)
        ensure_modules
        ensure_python
        ensure_chromium
        build
        export TASKSTREAM_WEB_TEST_PORT="${TASKSTREAM_WEB_TEST_PORT:-$(free_port)}"
        (cd -- "$WEB" && npx --no-install playwright test "$@")
        ;;
    size)
        ensure_modules
        build
        (cd -- "$WEB" && node scripts/bundle-size.mjs)
        ;;
    *)
        die "unknown command '$command': build, check, generate, browser or size"
        ;;
esac
