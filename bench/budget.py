"""The regression guard: server CPU per request for a list and a create, against a budget.

    .venv/bin/python bench/budget.py [--requests 200]

Loads 1,000 tasks over 10 users into a fresh SQLite database (as bench/scale.py does),
starts `taskstream up` on it and measures the server's CPU time (user + system, which a
busy machine disturbs far less than latencies) per request over --requests filtered lists
of one user's tasks and as many creates. BUDGET_MS holds the figures of a quiet machine;
a run fails only on a clear regression, above FAIL_AT times the budget.

Exit status 0 within the limit, 1 above it or when the server does not start.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from _load import ServerProcess, ServerStartError, free_port, table
from api import taskstream_executable
from scale import API_PREFIX, Requests, Target, load, login, measure, prepare

BUDGET_MS: Final = {"list": 2.5, "create": 3.5}
"""Server CPU milliseconds per request (filtered list of 50 rows, create)."""
FAIL_AT: Final = 2.0
TASKS: Final = 1000
USERS: Final = 10


async def _measure(server: ServerProcess, requests: int, target: Target) -> dict[str, float]:
    api_url = server.base_url + API_PREFIX
    calls = Requests(api_url, await login(api_url, 0), random.Random(1)).calls()
    figures = {}
    for name in BUDGET_MS:
        measured = await measure(calls[name], requests, 2, server, target)
        if measured.errors:
            raise RuntimeError(f"{measured.errors} of the {name} requests failed")
        figures[name] = measured.server_cpu
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="measured requests per kind")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="taskstream-budget-"))
    try:
        target = prepare("sqlite", workdir, None)
        asyncio.run(load(target.url, USERS, TASKS, seed=1))
        port = free_port()
        server = ServerProcess.start(
            "taskstream server",
            [taskstream_executable(), "up", "--host", "127.0.0.1", "--port", str(port)],
            base_url=f"http://127.0.0.1:{port}",
            log_path=workdir / "server.log",
            env=target.env,
            cwd=workdir,
        )
        try:
            server.wait_ready("/readyz", timeout_s=120.0)
            figures = asyncio.run(_measure(server, args.requests, target))
        finally:
            server.stop()
    except (ServerStartError, RuntimeError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rows = []
    over = []
    for name, budget in BUDGET_MS.items():
        measured = figures[name] * 1000
        ok = measured <= budget * FAIL_AT
        rows.append([name, f"{budget:g}", f"{measured:.2f}", f"{measured / budget:.2f}x"])
        rows[-1].append("PASS" if ok else f"FAIL (> {FAIL_AT:g}x)")
        if not ok:
            over.append(name)
    print(f"Server CPU per request, {args.requests} requests each, {TASKS:,} tasks (SQLite)")
    print(table(["request", "budget ms", "measured ms", "ratio", "verdict"], rows))
    print(f"Targets: each within {FAIL_AT:g}x its budget: {'MISS' if over else 'PASS'}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
