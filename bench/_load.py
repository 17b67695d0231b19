"""Shared machinery for the benchmarks: server subprocesses, open- and closed-loop HTTP load.

The load runs in worker processes of its own (spawned, so they share nothing with the
caller's event loop), each with one aiohttp session over a bounded connector. A workload
is a picklable object that, given a random generator, binds named operations; a job says
which mix of them to run, at what rate (open loop) or with how many clients (closed loop).

Open loop: arrivals follow a Poisson schedule at the target rate whatever the server does,
and latency is measured from the *scheduled* send time, so a stalled server is charged for
every request that should have gone out meanwhile (no coordinated omission).
Times come from `perf_counter`, not the loop clock: uvloop's clock ticks in milliseconds.
Closed loop: each client sends its next request as soon as the previous one is answered;
the completions per second are the throughput ceiling.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import random
import signal
import socket
import subprocess
import threading
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
from time import perf_counter
from typing import Final, Protocol, cast

import aiohttp
import httpx
import psutil  # type: ignore[import-untyped]
import uvloop

REQUEST_TIMEOUT_S: Final = 10.0
START_DELAY_S: Final = 0.25  # from "all workers ready" to the first scheduled request


# --------------------------------------------------------------------------- servers


class ServerStartError(RuntimeError):
    """A server subprocess exited or did not become ready in time."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(slots=True)
class ServerProcess:
    """A server started in a session of its own, so it is stopped as one process group."""

    name: str
    popen: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    @classmethod
    def start(
        cls,
        name: str,
        argv: Sequence[str],
        *,
        base_url: str,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> ServerProcess:
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
        return cls(name=name, popen=popen, base_url=base_url, log_path=log_path)

    def wait_ready(self, path: str, timeout_s: float = 60.0) -> float:
        """Poll `path` until it answers 200; return the seconds it took."""
        started = time.monotonic()
        deadline = started + timeout_s
        last_error = "no answer"
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise ServerStartError(
                    f"{self.name} exited with code {self.popen.returncode} before it was ready"
                )
            try:
                status = httpx.get(self.base_url + path, timeout=2.0).status_code
            except httpx.HTTPError as exc:
                last_error = repr(exc)
            else:
                if status == 200:
                    return time.monotonic() - started
                last_error = f"HTTP {status}"
            time.sleep(0.1)
        raise ServerStartError(
            f"{self.name} was not ready on {path} after {timeout_s:.0f} s ({last_error})"
        )

    def _processes(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.popen.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss_bytes(self) -> int:
        """Resident set size of the server and any children it started."""
        total = 0
        for proc in self._processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        return total

    def peak_rss_bytes(self) -> int | None:
        """The high-water marks of resident memory (Linux) of the server and its children,
        summed (each process's own peak: together, at most what they held at once), if
        known. The supervisor of several workers holds little itself."""
        peaks = [_peak_rss(proc.pid) for proc in self._processes()]
        known = [peak for peak in peaks if peak is not None]
        return sum(known) if known else None

    def process_count(self) -> int:
        return len(self._processes())

    def cpu_seconds(self) -> float:
        """User plus system CPU time consumed so far by the server and its children."""
        total = 0.0
        for proc in self._processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=timeout_s)


def _peak_rss(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


# --------------------------------------------------------------------------- workloads

# An operation sends one request and returns None on success, or a short error kind.
Operation = Callable[[aiohttp.ClientSession], Awaitable[str | None]]


class Workload(Protocol):
    """Named operations over one HTTP session; pickled into each load worker."""

    def bind(self, rng: random.Random) -> Mapping[str, Operation]: ...

    def final_state(self) -> object:
        """Whatever the caller should get back once the job is over (e.g. new versions)."""
        ...


@dataclass(frozen=True, slots=True)
class OpenLoopJob:
    workload: Workload
    mix: tuple[tuple[str, float], ...]
    rate: float  # requests per second issued by this worker
    connections: int
    warmup_s: float
    duration_s: float
    seed: int


@dataclass(frozen=True, slots=True)
class ClosedLoopJob:
    workload: Workload
    mix: tuple[tuple[str, float], ...]
    clients: int
    warmup_s: float
    duration_s: float
    seed: int


Job = OpenLoopJob | ClosedLoopJob


@dataclass(slots=True)
class OpSamples:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return len(self.latencies) + self.error_count

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def merge(self, other: OpSamples) -> None:
        self.latencies.extend(other.latencies)
        self.errors.update(other.errors)


@dataclass(slots=True)
class WorkerResult:
    samples: dict[str, OpSamples]
    window_s: float  # length of the measured window
    max_send_lag_s: float  # open loop: worst lateness of a send against its schedule
    late_start_s: float  # how late the worker began against the common start
    unfinished: int  # requests still in flight when the worker gave up on them
    cpu_s: float  # CPU time of the worker process during the measured window
    state: object


@dataclass(slots=True)
class PhaseResult:
    samples: dict[str, OpSamples]
    window_s: float
    max_send_lag_s: float
    late_start_s: float
    unfinished: int
    generator_cpu_s: float  # CPU seconds of the load workers in the measured window
    metered: dict[str, float]  # what each of the caller's meters counted in that window
    states: list[object]

    def generator_cpu_share(self) -> float:
        """Load generator CPU in cores (1.0 = one core busy) over the measured window."""
        return self.generator_cpu_s / self.window_s

    def metered_rate(self, meter: str) -> float:
        """A meter's count per second of the measured window (CPU seconds: cores busy)."""
        return self.metered.get(meter, math.nan) / self.window_s

    @property
    def total(self) -> OpSamples:
        out = OpSamples()
        for samples in self.samples.values():
            out.merge(samples)
        return out

    def throughput(self, op: str | None = None) -> float:
        samples = self.total if op is None else self.samples[op]
        return len(samples.latencies) / self.window_s if self.window_s > 0 else 0.0

    def error_ratio(self) -> float:
        total = self.total
        return total.error_count / total.count if total.count else 1.0


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values (nan when empty)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


# --------------------------------------------------------------------------- workers


def _connector(limit: int) -> aiohttp.TCPConnector:
    return aiohttp.TCPConnector(limit=limit, limit_per_host=limit, ttl_dns_cache=None)


def _timeout() -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)


def _chooser(mix: tuple[tuple[str, float], ...], rng: random.Random) -> Callable[[], str]:
    names = [name for name, _ in mix]
    if len(names) == 1:
        only = names[0]
        return lambda: only
    cum_weights = list(itertools.accumulate(weight for _, weight in mix))
    return lambda: rng.choices(names, cum_weights=cum_weights)[0]


async def _call(op: Operation, session: aiohttp.ClientSession) -> str | None:
    try:
        return await op(session)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return type(exc).__name__


def _schedule_start(start_at: float) -> tuple[float, float]:
    """Map the wall-clock start to the perf_counter clock; return (start, how late we are)."""
    ahead = start_at - time.time()
    return perf_counter() + max(0.0, ahead), max(0.0, -ahead)


async def _window_cpu(begin: float, end: float) -> float:
    """CPU time this process spends between two perf_counter instants."""
    await asyncio.sleep(max(0.0, begin - perf_counter()))
    before = time.process_time()
    await asyncio.sleep(max(0.0, end - perf_counter()))
    return time.process_time() - before


async def _run_open_loop(job: OpenLoopJob, start_at: float) -> WorkerResult:
    loop = asyncio.get_running_loop()
    rng = random.Random(job.seed)
    samples: dict[str, OpSamples] = {name: OpSamples() for name, _ in job.mix}
    choose = _chooser(job.mix, rng)
    max_lag = 0.0

    async with aiohttp.ClientSession(
        connector=_connector(job.connections), timeout=_timeout()
    ) as s:
        ops = job.workload.bind(rng)
        start, late = _schedule_start(start_at)
        measure_from = start + job.warmup_s
        end = measure_from + job.duration_s

        async def fire(name: str, scheduled: float, measured: bool) -> None:
            nonlocal max_lag
            lag = perf_counter() - scheduled
            error = await _call(ops[name], s)
            latency = perf_counter() - scheduled
            if not measured:
                return
            max_lag = max(max_lag, lag)
            if error is None:
                samples[name].latencies.append(latency)
            else:
                samples[name].errors[error] += 1

        cpu_meter = loop.create_task(_window_cpu(measure_from, end))
        inflight: set[asyncio.Task[None]] = set()
        scheduled = start
        while True:
            scheduled += rng.expovariate(job.rate)
            if scheduled >= end:
                break
            delay = scheduled - perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = loop.create_task(fire(choose(), scheduled, scheduled >= measure_from))
            inflight.add(task)
            task.add_done_callback(inflight.discard)
        unfinished = 0
        if inflight:
            _, pending = await asyncio.wait(inflight, timeout=REQUEST_TIMEOUT_S + 5.0)
            unfinished = len(pending)
            for task in pending:
                task.cancel()
        cpu = await cpu_meter
        state = job.workload.final_state()

    return WorkerResult(samples, job.duration_s, max_lag, late, unfinished, cpu, state)


async def _run_closed_loop(job: ClosedLoopJob, start_at: float) -> WorkerResult:
    loop = asyncio.get_running_loop()
    rng = random.Random(job.seed)
    samples: dict[str, OpSamples] = {name: OpSamples() for name, _ in job.mix}
    choose = _chooser(job.mix, rng)

    async with aiohttp.ClientSession(connector=_connector(job.clients), timeout=_timeout()) as s:
        ops = job.workload.bind(rng)
        start, late = _schedule_start(start_at)
        measure_from = start + job.warmup_s
        end = measure_from + job.duration_s

        async def client() -> None:
            while True:
                sent = perf_counter()
                if sent >= end:
                    return
                name = choose()
                error = await _call(ops[name], s)
                done = perf_counter()
                if sent < measure_from or done > end:
                    continue
                if error is None:
                    samples[name].latencies.append(done - sent)
                else:
                    samples[name].errors[error] += 1

        await asyncio.sleep(max(0.0, start - perf_counter()))
        cpu_meter = loop.create_task(_window_cpu(measure_from, end))
        await asyncio.gather(*(client() for _ in range(job.clients)))
        cpu = await cpu_meter
        state = job.workload.final_state()

    return WorkerResult(samples, job.duration_s, 0.0, late, 0, cpu, state)


def _worker_main(job: Job, conn: Connection) -> None:
    """Say ready once imported, wait for the common start time, run the job, send the result."""
    # Ctrl-C is the parent's business: it terminates the workers when it unwinds.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        conn.send(("ready", None))
        start_at: float = conn.recv()
        if isinstance(job, OpenLoopJob):
            result = uvloop.run(_run_open_loop(job, start_at))
        else:
            result = uvloop.run(_run_closed_loop(job, start_at))
        conn.send(("ok", result))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


class LoadWorkerError(RuntimeError):
    """A load worker process failed."""


class _WindowMeter(threading.Thread):
    """Reads counters (e.g. a server's CPU seconds) at both ends of a wall-clock window."""

    def __init__(self, meters: Mapping[str, Callable[[], float]], begin: float, end: float) -> None:
        super().__init__(daemon=True)
        self._meters, self._begin, self._end = meters, begin, end
        self.deltas: dict[str, float] = {}

    def run(self) -> None:
        time.sleep(max(0.0, self._begin - time.time()))
        before = {name: read() for name, read in self._meters.items()}
        time.sleep(max(0.0, self._end - time.time()))
        self.deltas = {name: read() - before[name] for name, read in self._meters.items()}


def _receive(conn: Connection, expected: str) -> object:
    try:
        status, payload = conn.recv()
    except EOFError as exc:
        raise LoadWorkerError("a load worker died") from exc
    if status != expected:
        raise LoadWorkerError(f"a load worker failed:\n{payload}")
    return payload


def run_jobs(
    jobs: Sequence[Job], meters: Mapping[str, Callable[[], float]] | None = None
) -> PhaseResult:
    """Run each job in a worker process of its own, all on one schedule; merge the results.

    The schedule starts once every worker is up (spawning takes a while on a busy machine).
    `meters` are read at both ends of the measured window; their differences come back
    in `PhaseResult.metered` (e.g. the server's CPU seconds).
    """
    ctx = get_context("spawn")
    processes = []
    conns: list[Connection] = []
    window_meter = None
    try:
        for job in jobs:
            conn, child_conn = ctx.Pipe()
            process = ctx.Process(target=_worker_main, args=(job, child_conn), daemon=True)
            process.start()
            child_conn.close()
            processes.append(process)
            conns.append(conn)
        for conn in conns:
            _receive(conn, "ready")
        start_at = time.time() + START_DELAY_S
        for conn in conns:
            conn.send(start_at)
        if meters:
            begin = start_at + jobs[0].warmup_s
            window_meter = _WindowMeter(meters, begin, begin + jobs[0].duration_s)
            window_meter.start()
        results = [cast(WorkerResult, _receive(conn, "ok")) for conn in conns]
        for process in processes:
            process.join(timeout=5.0)
        if window_meter is not None:
            window_meter.join()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=5.0)
        for conn in conns:
            conn.close()

    merged: dict[str, OpSamples] = {}
    for result in results:
        for name, samples in result.samples.items():
            merged.setdefault(name, OpSamples()).merge(samples)
    for samples in merged.values():
        samples.latencies.sort()
    return PhaseResult(
        samples=merged,
        window_s=max(r.window_s for r in results),
        max_send_lag_s=max(r.max_send_lag_s for r in results),
        late_start_s=max(r.late_start_s for r in results),
        unfinished=sum(r.unfinished for r in results),
        generator_cpu_s=sum(r.cpu_s for r in results),
        metered=window_meter.deltas if window_meter is not None else {},
        states=[r.state for r in results],
    )


def system_busy_seconds() -> float:
    """CPU seconds all processes of the machine have spent so far (all cores summed)."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def split(total: int, parts: int) -> list[int]:
    """Split `total` into `parts` near-equal positive shares."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


# --------------------------------------------------------------------------- formatting


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])
