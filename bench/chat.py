"""Benchmark of the offline chat planner: accuracy over the evaluation set, time per message.

    .venv/bin/python bench/chat.py [--rounds 20]

Accuracy is the share of utterances in `tests/chat/cases.py` whose plan is exactly the one
expected (same tool calls with the same arguments, same for-each call, a question or a
reply where one is due); the misses are listed. The time per message is measured for
each utterance over --rounds rounds (after one warm-up round), in this process, with
`perf_counter`; p50 and p95 are over all those measurements, in wall-clock time and in
this thread's CPU time (the two differ when other processes share the machine). The
planner is pure code, so no server is started.

Exit status 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from time import perf_counter, thread_time
from typing import Final

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.chat.cases import CASES

from _load import table
from taskstream.chat.offline import plan

ACCURACY_TARGET: Final = 0.97
P95_TARGET_MS: Final = 20.0


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    misses = [case for case in CASES if not case.matches(plan(case.say, case.context))]
    accuracy = 1 - len(misses) / len(CASES)
    wall: list[float] = []
    cpu: list[float] = []
    for round_number in range(args.rounds + 1):
        for case in CASES:
            started, started_cpu = perf_counter(), thread_time()
            plan(case.say, case.context)
            elapsed, elapsed_cpu = perf_counter() - started, thread_time() - started_cpu
            if round_number:  # the first round warms caches up
                wall.append(elapsed * 1000)
                cpu.append(elapsed_cpu * 1000)
    wall_q = statistics.quantiles(wall, n=100)
    cpu_q = statistics.quantiles(cpu, n=100)
    known = sum(1 for case in CASES if case.xfail)
    print("Offline planner over tests/chat/cases.py")
    print(f"  utterances: {len(CASES)}, exact: {len(CASES) - len(misses)}, known misses: {known}")
    print(
        table(
            ["time per message", "p50", "p95", "max"],
            [
                ["wall clock", *(f"{v:.3f} ms" for v in (wall_q[49], wall_q[94], max(wall)))],
                ["CPU (this thread)", *(f"{v:.3f} ms" for v in (cpu_q[49], cpu_q[94], max(cpu)))],
            ],
        )
    )
    print(f"  ({len(wall)} runs: {args.rounds} rounds of every utterance)")
    for case in misses:
        print(f"  miss: {case.say!r} ({case.context.timezone})")
    print()
    rows = [
        ["exact plans", f">= {ACCURACY_TARGET:.0%}", f"{accuracy:.1%}", verdict(accuracy >= 0.97)],
        [
            "time per message p95",
            f"<= {P95_TARGET_MS:.0f} ms",
            f"{wall_q[94]:.2f} ms",
            verdict(wall_q[94] <= P95_TARGET_MS),
        ],
    ]
    print("Targets\n" + table(["target", "goal", "measured", ""], rows))


if __name__ == "__main__":
    main()
