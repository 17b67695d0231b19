"""Every benchmark runs to its end, in a few seconds of load each.

The figures of such short runs mean nothing and nothing here reads them; what these tests
guard is that `make bench` works from a fresh clone: the servers start, seeding succeeds,
every phase runs and the report is printed (exit status 0). The distributed bench starts
an instance of the distributed shape of its own (Kafka, daprd, PostgreSQL), so it is part
of the e2e tier (`-m "not e2e"` leaves it out).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parents[2]
BENCH: Final = ROOT / "bench"
TIMEOUT_S: Final = 900.0
"""Start-up, sign-up (argon2id) and the phases, on a loaded two-core machine."""


def run_bench(script: str, *args: str) -> str:
    """Run bench/`script` with `args`; its output, which must end in its targets table."""
    done = subprocess.run(  # noqa: S603 -- our own benchmark, literal arguments
        [sys.executable, str(BENCH / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    report = f"exit status {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, report
    assert "Targets" in done.stdout, report
    return done.stdout


def test_api_bench_runs() -> None:
    out = run_bench(
        "api.py",
        *("--duration", "1", "--warmup", "0.5", "--rate", "20", "--clients", "4"),
        *("--ceiling-duration", "1", "--ceiling-warmup", "0.3", "--ceiling-procs", "1"),
        *("--users", "3", "--heavy-tasks", "30", "--tasks-per-user", "3", "--idle", "0"),
    )
    assert "Closed loop" in out


def test_events_bench_runs() -> None:
    out = run_bench(
        "events.py",
        *("--users", "3", "--per-user", "2", "--rate", "10", "--duration", "1"),
        *("--warmup", "0.5", "--reminders", "5", "--reminder-window", "2", "--idle", "0"),
    )
    assert "lateness" in out.lower()


@pytest.mark.e2e
def test_distributed_bench_runs() -> None:
    out = run_bench(
        "distributed.py",
        *("--users", "3", "--per-user", "1", "--rate", "10", "--duration", "1"),
        *("--warmup", "0.5", "--outbox-events", "50", "--reminders", "5"),
        *("--reminder-window", "2"),
    )
    assert "lateness" in out.lower()


def test_chat_bench_runs() -> None:
    out = run_bench("chat.py", "--rounds", "1")
    assert "exact plans" in out


@pytest.mark.postgres
def test_scale_bench_runs() -> None:
    out = run_bench(
        "scale.py",
        *("--tasks", "300", "--small-tasks", "200", "--requests", "5", "--concurrency", "2"),
    )
    # Both databases print their plans (on so few rows PostgreSQL may rightly scan).
    assert out.count("Query plans on 300 tasks") == 2
    assert "SEARCH tasks USING INDEX ix_tasks_owner" in out


def test_cpu_per_request_stays_within_budget() -> None:
    """The regression guard: bench/budget.py fails above twice its committed budget."""
    run_bench("budget.py", "--requests", "100")
