"""Benchmark of the web app; prints figures.

    .venv/bin/python bench/web.py [--writes 50] [--no-latency]

1. First-load JavaScript of the main page: every script that frontend/out/index.html (the
   production build, `scripts/web.sh build`) loads, each gzipped (level 9, as a server
   would send it), and their sum. Target: at most 200 KB.
2. Live-update latency in a real Chromium (the browser tests' machinery, `scripts/web.sh
   browser` with TASKSTREAM_WEB_BENCH=1, against an embedded server it starts): one
   browser context writes --writes tasks one after another, each with the page's own
   fetch; another context of the same user, open on the list, notes when each title first
   appears in its DOM. Latency is appearance minus the write's start (one clock: same
   machine); also shown: appearance minus the write's acknowledgement (the part the live
   path adds). Target: p95 at most 250 ms.

Exit status 0 whatever the figures; 1 when the build or the browser run fails.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "frontend"
OUT = WEB / "out"
BUNDLE_TARGET_KB = 200
LATENCY_TARGET_MS = 250
_SCRIPT = re.compile(r'<script[^>]*\ssrc="(/_next/[^"]+\.js)"')


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values (nan when empty)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def first_load_js() -> None:
    html = (OUT / "index.html").read_text()
    scripts = sorted(set(_SCRIPT.findall(html)))
    total = 0
    print("first-load JavaScript of / (gzip -9):")
    for src in scripts:
        size = len(gzip.compress((OUT / src.lstrip("/")).read_bytes(), compresslevel=9))
        total += size
        print(f"  {size / 1024:7.1f} KB  {src}")
    verdict = "ok" if total / 1024 <= BUNDLE_TARGET_KB else "OVER"
    print(
        f"  {total / 1024:7.1f} KB  in {len(scripts)} scripts "
        f"(target <= {BUNDLE_TARGET_KB} KB: {verdict})"
    )


def latency(writes: int) -> int:
    env = {
        **os.environ,
        "TASKSTREAM_WEB_BENCH": "1",
        "TASKSTREAM_WEB_BENCH_WRITES": str(writes),
    }
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "web.sh"), "browser"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        print(result.stdout[-4000:], result.stderr[-4000:], file=sys.stderr)
        return 1
    figures = json.loads((WEB / "artifacts" / "bench.json").read_text())
    values = sorted(float(v) for v in figures["latencies_ms"])
    p95 = percentile(values, 95)
    verdict = "ok" if p95 <= LATENCY_TARGET_MS else "OVER"
    print(f"write in one browser context -> shown in another ({len(values)} writes, embedded):")
    print(
        f"  p50 {percentile(values, 50):.0f} ms  p95 {p95:.0f} ms  max {values[-1]:.0f} ms"
        f"  (target p95 <= {LATENCY_TARGET_MS} ms: {verdict})"
    )
    acked = sorted(float(v) for v in figures.get("after_ack_ms", []))
    if acked:
        print(
            f"  of which after the write was acknowledged: p50 {percentile(acked, 50):.0f} ms"
            f"  p95 {percentile(acked, 95):.0f} ms"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=50)
    parser.add_argument("--no-latency", action="store_true", help="only the bundle size")
    args = parser.parse_args()
    if subprocess.run(["bash", str(ROOT / "scripts" / "web.sh"), "build"], check=False).returncode:
        return 1
    first_load_js()
    return 0 if args.no_latency else latency(args.writes)


if __name__ == "__main__":
    sys.exit(main())
