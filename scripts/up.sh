#!/usr/bin/env bash
# Runs taskstream in its embedded shape: one process on http://127.0.0.1:8000,
# SQLite, nothing else to install, with the web app at / (built with npm). The first run installs uv and the
# dependencies. Arguments go to `taskstream up`.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

cd -- "$TASKSTREAM_ROOT"
ensure_uv
ensure_env
# The web app at /: built on the first run and whenever its sources change.
if ! bash "$TASKSTREAM_ROOT/scripts/web.sh" build; then
    warn "the web app could not be built: the API runs without it (see above)"
fi
exec .venv/bin/taskstream up "$@"
