#!/usr/bin/env bash
# Runs taskstream in its embedded shape: one process on http://127.0.0.1:8000,
# SQLite, nothing else to install. The first run installs uv and the
# dependencies. Arguments go to `taskstream up`.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

cd -- "$TASKSTREAM_ROOT"
ensure_uv
ensure_env
exec .venv/bin/taskstream up "$@"
