"""Benchmark of the offline chat planner: accuracy over the evaluation set, time per message.

    .venv/bin/python bench/chat.py [--rounds 20]

Accuracy is the share of utterances in `tests/chat/cases.py` whose plan is exactly the one
expected (same tool calls with the same arguments, same for-each call, a question or a
reply where one is due). The time per message is measured for each utterance over
--rounds rounds (after one warm-up round), in this process, with `perf_counter`; p50 and
p95 are over all those measurements, in wall-clock time and in this thread's CPU time
(the two differ when other processes share the machine). The planner is pure code, so no server is started.

Exit status 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from time import perf_counter, thread_time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.chat.cases import CASES

from taskstream.chat.offline import plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    exact = sum(1 for case in CASES if case.matches(plan(case.say, case.context)))
    misses = [case for case in CASES if not case.matches(plan(case.say, case.context))]
    timings: list[float] = []
    cpu: list[float] = []
    for round_number in range(args.rounds + 1):
        for case in CASES:
            started, started_cpu = perf_counter(), thread_time()
            plan(case.say, case.context)
            elapsed, elapsed_cpu = perf_counter() - started, thread_time() - started_cpu
            if round_number:  # the first round warms caches up
                timings.append(elapsed * 1000)
                cpu.append(elapsed_cpu * 1000)
    quantiles = statistics.quantiles(timings, n=100)
    cpu_quantiles = statistics.quantiles(cpu, n=100)
    print("offline planner (tests/chat/cases.py)")
    print(f"  utterances        {len(CASES)}")
    print(f"  exact             {exact} ({100 * exact / len(CASES):.1f}%)")
    print(f"  known misses      {sum(1 for case in CASES if case.xfail)}")
    print(
        f"  time per message  p50 {quantiles[49]:.3f} ms, p95 {quantiles[94]:.3f} ms, "
        f"max {max(timings):.3f} ms (wall clock, {len(timings)} runs)"
    )
    print(
        f"  CPU per message   p50 {cpu_quantiles[49]:.3f} ms, p95 {cpu_quantiles[94]:.3f} ms "
        "(this thread's CPU time: what the figures are without other processes)"
    )
    for case in misses:
        print(f"  miss: {case.say!r} ({case.context.timezone})")


if __name__ == "__main__":
    main()
