#!/usr/bin/env bash
# Installs the pinned uv (once, under ~/.cache/taskstream/tools) and creates or
# updates .venv from uv.lock. `make install` runs it; up.sh and test.sh do the same.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

ensure_uv
ensure_env
