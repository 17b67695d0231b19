"""Benchmark of the task API against the embedded server; prints figures, asserts nothing.

    .venv/bin/python bench/api.py [--duration 20] [--rate 150] [--workers 1,2]

1. Starts `taskstream up` on a fresh data directory (SQLite) and the bare FastAPI app
   (bench/bare_app.py, same uvicorn settings) as subprocesses on free ports.
2. Seeds users through the API; the first ("heavy") gets 1,000 varied tasks (not timed).
3. Open loop: Poisson arrivals at --rate over 100 connections for a warm-up and a measured
   phase; create, filtered lists of the heavy user's tasks and updates; latency is measured
   from the scheduled send time.
4. Closed loop: 100 clients as fast as they go against the bare /ping and the task API
   (each operation alone, then the mix); the server CPU per request of each against the
   targets.
5. Resident memory of the server at rest, before seeding and after the load.
6. All of it again for each count of worker processes in --workers (a fresh server and
   database each, the bare app with as many processes), then the scaling side by side.

Exit status 0 whatever the figures, 1 when the server does not start, seeding fails or most
requests fail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, Final, NamedTuple, cast

import aiohttp
from yarl import URL

from _load import (
    ClosedLoopJob,
    LoadWorkerError,
    OpenLoopJob,
    Operation,
    PhaseResult,
    ServerProcess,
    ServerStartError,
    free_port,
    ms,
    percentile,
    run_jobs,
    split,
    system_busy_seconds,
    table,
)
from taskstream.entrypoints.server import UVICORN_OPTIONS

BENCH_DIR: Final = Path(__file__).resolve().parent
API_PREFIX: Final = "/api/v1"
MB: Final = 1024 * 1024

# Targets
P95_TARGET_S: Final = 0.050
THROUGHPUT_RATIO_TARGET: Final = 0.06
CPU_PER_REQUEST_TARGET_S: Final = {
    "list:priority": 0.0015,
    "list:tag": 0.0015,
    "read": 0.0015,
    "create": 0.0025,
    "update": 0.0025,
}
"""Server CPU per request in the closed loop, the event handling of writes included."""
RSS_TARGET_BYTES: Final = 150 * MB
BUSY_MACHINE_CORES: Final = 0.25  # CPU of other processes above which figures are suspect
BUSY_MACHINE_WARNING: Final = (
    "  WARNING: other processes took a good share of the CPU; figures are pessimistic"
)
FAILURE_RATIO: Final = 0.5  # above this share of failed requests the run is a failure

# The two filtered list pages read from the heavy user's 1,000 tasks.
LIST_QUERIES: Final[Mapping[str, str]] = {
    "list:priority": "status=open&priority=high&priority=urgent&sort=due&order=asc&limit=50",
    "list:tag": "status=open&tags_any=work&sort=due&order=asc&limit=50",
}
OPEN_LOOP_MIX: Final = (("create", 0.3), ("list:priority", 0.2), ("list:tag", 0.2), ("update", 0.3))
LABELS: Final[Mapping[str, str]] = {
    "create": "create",
    "list:priority": "list (priority filter)",
    "list:tag": "list (tag filter)",
    "update": "update",
    "read": "read",
    "ping": "bare /ping",
    "mix": "task API mix (30/20/20/30)",
}
P95_TARGETED: Final = ("create", "list:priority", "list:tag")

PRIORITIES: Final = ("none", "low", "medium", "high", "urgent")
PRIORITY_WEIGHTS: Final = (30, 20, 25, 15, 10)
TAGS: Final = ("home", "errands", "health", "finance", "reading", "family", "garden")
VERBS: Final = ("Call", "Email", "Review", "Buy", "Fix", "Plan", "Book", "Pay", "Write", "Clean")
OBJECTS: Final = (
    "the dentist",
    "quarterly report",
    "groceries",
    "bike brakes",
    "team offsite",
    "flights",
    "rent",
    "blog post",
    "garage",
    "insurance",
)
TIMEZONES: Final = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney")


# --------------------------------------------------------------------------- the workload


class Editable(NamedTuple):
    """A task some writer owns, with the version the next If-Match must carry."""

    task_id: str
    version: int
    writer: int


def random_task(rng: random.Random, today: date, serial: int) -> dict[str, Any]:
    task: dict[str, Any] = {
        "title": f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} #{serial}",
        "priority": rng.choices(PRIORITIES, weights=PRIORITY_WEIGHTS)[0],
    }
    if rng.random() < 0.3:
        task["description"] = "Notes: " + " ".join(rng.choices(OBJECTS, k=rng.randint(3, 12)))
    tags = rng.sample(TAGS, rng.choices((0, 1, 2), weights=(30, 50, 20))[0])
    if rng.random() < 0.4:
        tags.append("work")
    if tags:
        task["tags"] = tags
    if rng.random() < 0.8:
        task["due_date"] = (today + timedelta(days=rng.randint(-14, 90))).isoformat()
        if rng.random() < 0.4:
            task["due_time"] = f"{rng.randint(7, 20):02d}:{rng.choice((0, 15, 30, 45)):02d}"
    return task


def etag_version(etag: str | None) -> int | None:
    if not etag:
        return None
    value = etag.removeprefix("W/").strip('"')
    return int(value) if value.isdigit() else None


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class TaskApiWorkload:
    """Creates and updates tasks as the writers, lists the heavy user's tasks as the reader.

    The writers given to one worker are its own, so no two workers (and, through the pool,
    no two requests) update the same task at once: a 412 is a finding, not noise.
    """

    api_url: str
    reader_token: str
    writer_tokens: dict[int, str]
    editable: list[Editable]
    today: date
    _pool: deque[Editable] = field(default_factory=deque)

    def bind(self, rng: random.Random) -> Mapping[str, Operation]:
        tasks_url = URL(f"{self.api_url}/tasks")
        reader = bearer(self.reader_token)
        writers = {index: bearer(token) for index, token in self.writer_tokens.items()}
        writer_ids = sorted(writers)
        list_urls = {
            name: URL(f"{self.api_url}/tasks?{query}", encoded=True)
            for name, query in LIST_QUERIES.items()
        }
        pool = self._pool = deque(self.editable)
        rng.shuffle(pool)
        serial = 0

        async def create(session: aiohttp.ClientSession) -> str | None:
            nonlocal serial
            serial += 1
            writer = rng.choice(writer_ids)
            body = random_task(rng, self.today, serial)
            async with session.post(tasks_url, json=body, headers=writers[writer]) as resp:
                payload = await resp.read()
                if resp.status != 201:
                    return f"HTTP {resp.status}"
                created = json.loads(payload)
                version = etag_version(resp.headers.get("ETag")) or int(created["version"])
            pool.append(Editable(str(created["id"]), version, writer))
            return None

        async def list_page(session: aiohttp.ClientSession, url: URL) -> str | None:
            async with session.get(url, headers=reader) as resp:
                await resp.read()
                return None if resp.status == 200 else f"HTTP {resp.status}"

        async def list_priority(session: aiohttp.ClientSession) -> str | None:
            return await list_page(session, list_urls["list:priority"])

        async def list_tag(session: aiohttp.ClientSession) -> str | None:
            return await list_page(session, list_urls["list:tag"])

        async def update(session: aiohttp.ClientSession) -> str | None:
            if not pool:
                return "no task free to update"
            task = pool.popleft()
            headers = {**writers[task.writer], "If-Match": f'"{task.version}"'}
            body = {
                "title": f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} (edited)",
                "priority": rng.choice(PRIORITIES),
            }
            async with session.patch(tasks_url / task.task_id, json=body, headers=headers) as resp:
                payload = await resp.read()
                if resp.status != 200:
                    # The version is now unknown: leave the task out rather than cascade 412s.
                    return f"HTTP {resp.status}"
                version = etag_version(resp.headers.get("ETag"))
                if version is None:
                    version = int(json.loads(payload)["version"])
            pool.append(task._replace(version=version))
            return None

        async def read(session: aiohttp.ClientSession) -> str | None:
            if not pool:
                return "no task to read"
            task = pool[0]
            pool.rotate(-1)
            async with session.get(tasks_url / task.task_id, headers=writers[task.writer]) as resp:
                await resp.read()
                return None if resp.status == 200 else f"HTTP {resp.status}"

        return {
            "create": create,
            "list:priority": list_priority,
            "list:tag": list_tag,
            "read": read,
            "update": update,
        }

    def final_state(self) -> object:
        return list(self._pool)


@dataclass
class PingWorkload:
    url: str

    def bind(self, rng: random.Random) -> Mapping[str, Operation]:
        url = URL(self.url)

        async def ping(session: aiohttp.ClientSession) -> str | None:
            async with session.get(url) as resp:
                await resp.read()
                return None if resp.status == 200 else f"HTTP {resp.status}"

        return {"ping": ping}

    def final_state(self) -> object:
        return None


# --------------------------------------------------------------------------- seeding


class SeedError(RuntimeError):
    """Seeding through the API failed."""


@dataclass
class Seeded:
    reader_token: str
    writer_tokens: dict[int, str]
    editable: list[Editable]
    today: date

    def workloads(self, api_url: str, parts: int) -> list[TaskApiWorkload]:
        """Split the writers and their tasks into `parts` disjoint workloads."""
        out = []
        for part in range(parts):
            writers = {i: t for i, t in self.writer_tokens.items() if i % parts == part}
            editable = [task for task in self.editable if task.writer in writers]
            out.append(TaskApiWorkload(api_url, self.reader_token, writers, editable, self.today))
        return out

    def absorb(self, result: PhaseResult) -> None:
        """Take back the tasks (with their new versions) the workers ended with."""
        states = cast(list[list[Editable]], result.states)  # TaskApiWorkload.final_state
        self.editable = [task for state in states for task in state]


async def _expect(resp: aiohttp.ClientResponse, status: int, what: str) -> Any:
    body = await resp.text()
    if resp.status != status:
        raise SeedError(f"{what}: expected HTTP {status}, got {resp.status}: {body[:500]}")
    return json.loads(body) if body else None


async def _register(
    session: aiohttp.ClientSession, api_url: str, index: int, rng: random.Random
) -> str:
    email = f"bench-user-{index:03d}@example.com"
    password = f"Bench-{index:03d}-{rng.getrandbits(64):016x}"
    signup = {"email": email, "password": password, "timezone": rng.choice(TIMEZONES)}
    async with session.post(f"{api_url}/auth/signup", json=signup) as resp:
        await _expect(resp, 201, f"signup of {email}")
    login = {"email": email, "password": password}
    async with session.post(f"{api_url}/auth/login", json=login) as resp:
        tokens = await _expect(resp, 200, f"login of {email}")
    return str(tokens["access_token"])


async def _create(
    session: aiohttp.ClientSession, api_url: str, token: str, body: dict[str, Any]
) -> tuple[str, int]:
    async with session.post(f"{api_url}/tasks", json=body, headers=bearer(token)) as resp:
        task = await _expect(resp, 201, "task creation")
        version = etag_version(resp.headers.get("ETag"))
    return str(task["id"]), version if version is not None else int(task["version"])


async def seed(
    api_url: str, *, users: int, heavy_tasks: int, tasks_per_user: int, rng: random.Random
) -> Seeded:
    today = datetime.now(UTC).date()
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        # Argon2id makes sign-up and login slow on purpose: few at a time.
        logins = asyncio.Semaphore(4)

        async def register(index: int) -> str:
            async with logins:
                return await _register(session, api_url, index, rng)

        tokens = await asyncio.gather(*(register(i) for i in range(users)))

        writes = asyncio.Semaphore(16)
        plan = [(0, random_task(rng, today, n)) for n in range(heavy_tasks)]
        plan += [
            (writer, random_task(rng, today, n))
            for writer in range(1, users)
            for n in range(tasks_per_user)
        ]

        async def create(owner: int, body: dict[str, Any]) -> Editable:
            async with writes:
                task_id, version = await _create(session, api_url, tokens[owner], body)
            return Editable(task_id, version, owner)

        created = await asyncio.gather(*(create(owner, body) for owner, body in plan))

        # Some of the heavy user's tasks are done, so that status=open filters something.
        heavy = [task for task in created if task.writer == 0]

        async def complete(task: Editable) -> None:
            url = f"{api_url}/tasks/{task.task_id}/complete"
            async with writes, session.post(url, headers=bearer(tokens[0])) as resp:
                await _expect(resp, 200, "task completion")

        await asyncio.gather(*(complete(t) for t in rng.sample(heavy, len(heavy) // 5)))

    return Seeded(
        reader_token=tokens[0],
        writer_tokens={i: tokens[i] for i in range(1, users)},
        editable=[task for task in created if task.writer != 0],
        today=today,
    )


async def describe_lists(api_url: str, token: str) -> list[str]:
    """One line per list query: how many rows the first page holds, whether more follow."""
    lines = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        for name, query in LIST_QUERIES.items():
            url = URL(f"{api_url}/tasks?{query}", encoded=True)
            async with session.get(url, headers=bearer(token)) as resp:
                page = await _expect(resp, 200, f"list {query}")
            rows = len(page.get("data", []))
            more = "more pages" if page.get("next_cursor") else "last page"
            lines.append(f"  {LABELS[name]}: {rows} rows on the first page, {more}  (?{query})")
    return lines


# --------------------------------------------------------------------------- phases


@dataclass(frozen=True)
class Options:
    duration_s: float
    warmup_s: float
    rate: float
    clients: int
    ceiling_s: float
    ceiling_warmup_s: float
    users: int
    heavy_tasks: int
    tasks_per_user: int
    ceiling_procs: int
    idle_s: float
    seed: int
    keep_data: bool
    workers: tuple[int, ...]


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        description="Benchmark the task API of the embedded server (prints figures).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--duration", type=float, default=20.0, help="measured open-loop seconds")
    add("--warmup", type=float, default=5.0, help="open-loop warm-up seconds (not measured)")
    add("--rate", type=float, default=150.0, help="open-loop requests per second, all ops")
    add("--clients", type=int, default=100, help="connections (open) / clients (closed)")
    add("--ceiling-duration", type=float, default=10.0, help="seconds per closed-loop run")
    add("--ceiling-warmup", type=float, default=2.0, help="closed-loop warm-up seconds")
    add("--users", type=int, default=20, help="users; the first is the heavy reader")
    add("--heavy-tasks", type=int, default=1000, help="tasks of the heavy user")
    add("--tasks-per-user", type=int, default=25, help="seeded tasks of each other user")
    add("--ceiling-procs", type=int, default=2, help="closed-loop load generator processes")
    add("--idle", type=float, default=5.0, help="idle seconds before the after-load RSS")
    add("--seed", type=int, default=1, help="random seed")
    add("--keep-data", action="store_true", help="keep the data directory and server logs")
    add("--workers", default="1,2", help="worker process counts to run, comma-separated")
    args = parser.parse_args(argv)
    try:
        workers = tuple(int(n) for n in args.workers.split(","))
    except ValueError:
        parser.error("--workers must be whole numbers separated by commas, e.g. 1,2")
    if not all(1 <= n <= 64 for n in workers):
        parser.error("--workers counts must be between 1 and 64")
    if args.users < 2:
        parser.error("--users must be at least 2 (one reader, at least one writer)")
    if not 1 <= args.ceiling_procs <= args.users - 1:
        parser.error("--ceiling-procs must be between 1 and the number of writers (--users - 1)")
    if args.clients < args.ceiling_procs:
        parser.error("--clients must be at least --ceiling-procs")
    return Options(
        duration_s=args.duration,
        warmup_s=args.warmup,
        rate=args.rate,
        clients=args.clients,
        ceiling_s=args.ceiling_duration,
        ceiling_warmup_s=args.ceiling_warmup,
        users=args.users,
        heavy_tasks=args.heavy_tasks,
        tasks_per_user=args.tasks_per_user,
        ceiling_procs=args.ceiling_procs,
        idle_s=args.idle,
        seed=args.seed,
        keep_data=args.keep_data,
        workers=workers,
    )


def cpu_meters(server: ServerProcess) -> dict[str, Callable[[], float]]:
    return {"server": server.cpu_seconds, "machine": system_busy_seconds}


def others_cpu(result: PhaseResult) -> float:
    """Cores busy with neither the server nor the load generator (other work, the OS)."""
    return (
        result.metered_rate("machine")
        - result.metered_rate("server")
        - result.generator_cpu_share()
    )


def server_cpu_per_request(result: PhaseResult) -> float:
    done = result.total.count
    return result.metered.get("server", math.nan) / done if done else math.nan


def open_loop(
    server: ServerProcess, seeded: Seeded, opts: Options, mix: tuple[tuple[str, float], ...]
) -> PhaseResult:
    """One generator process is plenty for an open loop at a rate the server sustains."""
    (workload,) = seeded.workloads(server.base_url + API_PREFIX, 1)
    job = OpenLoopJob(
        workload=workload,
        mix=mix,
        rate=opts.rate,
        connections=opts.clients,
        warmup_s=opts.warmup_s,
        duration_s=opts.duration_s,
        seed=opts.seed * 1000,
    )
    result = run_jobs([job], meters=cpu_meters(server))
    seeded.absorb(result)
    return result


def closed_loop(
    server: ServerProcess,
    workloads: Sequence[TaskApiWorkload | PingWorkload],
    mix: tuple[tuple[str, float], ...],
    opts: Options,
) -> PhaseResult:
    jobs = [
        ClosedLoopJob(
            workload=workload,
            mix=mix,
            clients=clients,
            warmup_s=opts.ceiling_warmup_s,
            duration_s=opts.ceiling_s,
            seed=opts.seed * 1000 + 100 + part,
        )
        for part, (workload, clients) in enumerate(
            zip(workloads, split(opts.clients, len(workloads)), strict=True)
        )
    ]
    return run_jobs(jobs, meters=cpu_meters(server))


# --------------------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def errors_line(result: PhaseResult) -> list[str]:
    lines = []
    for name, samples in result.samples.items():
        if samples.errors:
            kinds = ", ".join(f"{kind} x{n}" for kind, n in samples.errors.most_common())
            lines.append(f"  errors in {LABELS[name]}: {kinds}")
    if result.unfinished:
        lines.append(f"  {result.unfinished} requests still unanswered at the end (dropped)")
    return lines


def open_loop_report(result: PhaseResult, opts: Options) -> str:
    rows = []
    for name, _ in OPEN_LOOP_MIX:
        samples = result.samples[name]
        lat = samples.latencies
        target = ""
        if name in P95_TARGETED:
            target = f"p95 <= 50 ms {verdict(percentile(lat, 95) <= P95_TARGET_S)}"
        rows.append(
            [
                LABELS[name],
                str(samples.count),
                str(samples.error_count),
                ms(percentile(lat, 50)),
                ms(percentile(lat, 95)),
                ms(percentile(lat, 99)),
                ms(lat[-1] if lat else math.nan),
                f"{result.throughput(name):.1f}",
                target,
            ]
        )
    total = result.total
    everything = sorted(total.latencies)
    rows.append(
        [
            "all",
            str(total.count),
            str(total.error_count),
            ms(percentile(everything, 50)),
            ms(percentile(everything, 95)),
            ms(percentile(everything, 99)),
            ms(everything[-1] if everything else math.nan),
            f"{result.throughput():.1f}",
            "",
        ]
    )
    head = (
        f"Open loop: Poisson arrivals at {opts.rate:g} req/s over {opts.clients} connections, "
        f"{opts.duration_s:g} s measured after {opts.warmup_s:g} s warm-up; "
        "latency from the scheduled send time"
    )
    headers = ["operation", "count", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms"]
    lines = [head, table([*headers, "req/s", "target"], rows), *errors_line(result)]
    lines.append(
        f"  CPU (100% = one core): server {result.metered_rate('server'):.0%} "
        f"({ms(server_cpu_per_request(result))} ms per request), load generator "
        f"{result.generator_cpu_share():.0%}, everything else {others_cpu(result):.0%}; "
        f"worst send lag {ms(result.max_send_lag_s)} ms"
        + (f", started {ms(result.late_start_s)} ms late" if result.late_start_s else "")
    )
    if others_cpu(result) > BUSY_MACHINE_CORES:
        lines.append(BUSY_MACHINE_WARNING)
    return "\n".join(lines)


def ceiling_report(runs: Sequence[tuple[str, PhaseResult]], opts: Options) -> tuple[str, float]:
    """The closed-loop table and the task-API mix / bare ratio."""
    bare = dict(runs)["ping"].throughput()
    rows = []
    for name, result in runs:
        total = result.total
        lat = sorted(total.latencies)
        ratio = result.throughput() / bare if bare else math.nan
        rows.append(
            [
                LABELS.get(name, name),
                f"{result.throughput():.0f}",
                ms(percentile(lat, 50)),
                ms(percentile(lat, 99)),
                str(total.error_count),
                f"{result.metered_rate('server'):.0%}",
                ms(server_cpu_per_request(result)),
                f"{result.generator_cpu_share():.0%}",
                f"{others_cpu(result):.0%}",
                f"{ratio:.1%}",
            ]
        )
    head = (
        f"Closed loop (throughput ceiling): {opts.clients} clients back to back, "
        f"{opts.ceiling_s:g} s measured after {opts.ceiling_warmup_s:g} s warm-up"
    )
    headers = ["workload", "req/s", "p50 ms", "p99 ms", "errors", "CPU server", "ms/req"]
    headers += ["load", "other"]
    lines = [head, table([*headers, "vs bare"], rows)]
    lines.append(
        "  CPU: 100% = one core; ms/req = server CPU time per request; load = the load "
        "generator; other = the rest of the machine"
    )
    for _, result in runs:
        lines.extend(errors_line(result))
    if any(others_cpu(result) > BUSY_MACHINE_CORES for _, result in runs):
        lines.append(BUSY_MACHINE_WARNING)
    mix_ratio = dict(runs)["mix"].throughput() / bare if bare else math.nan
    return "\n".join(lines), mix_ratio


# --------------------------------------------------------------------------- main


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def server_env(data_dir: Path) -> dict[str, str]:
    """The caller's environment without its TASKSTREAM_* settings, plus the bench's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKSTREAM_")}
    env.update(
        TASKSTREAM_DATA_DIR=str(data_dir),
        # Tokens must outlive the run; the bench signs up and logs in every user from one
        # address.
        TASKSTREAM_ACCESS_TOKEN_MINUTES="240",
        TASKSTREAM_SIGNUPS_PER_ADDRESS="100000",
        TASKSTREAM_LOGIN_ATTEMPTS_PER_ADDRESS="100000",
        TASKSTREAM_LOGIN_ATTEMPTS_PER_ACCOUNT="100000",
    )
    return env


def taskstream_executable() -> str:
    beside = Path(sys.executable).parent / "taskstream"
    if beside.exists():
        return str(beside)
    found = shutil.which("taskstream")
    if found is None:
        raise ServerStartError("no `taskstream` executable next to Python or on PATH")
    return found


def fail(message: str, *servers: ServerProcess) -> int:
    print(f"\nFAILED: {message}", file=sys.stderr)
    for server in servers:
        print(f"\n--- last lines of the {server.name} log ---", file=sys.stderr)
        print(server.log_tail(), file=sys.stderr)
    return 1


CEILING_RUNS: Final[tuple[tuple[str, tuple[tuple[str, float], ...]], ...]] = (
    ("create", (("create", 1.0),)),
    ("list:priority", (("list:priority", 1.0),)),
    ("list:tag", (("list:tag", 1.0),)),
    ("update", (("update", 1.0),)),
    ("read", (("read", 1.0),)),
    ("mix", OPEN_LOOP_MIX),
)


@dataclass
class Memory:
    """The server's resident set size at the stages of the run, in bytes."""

    stages: list[tuple[str, int]] = field(default_factory=list)

    def read(self, stage: str, server: ServerProcess) -> int:
        rss = server.rss_bytes()
        self.stages.append((stage, rss))
        return rss

    def report(self, server: ServerProcess, bare_rss: int) -> str:
        lines = ["Resident memory (RSS) of the server"]
        lines += [f"  {stage:<34}{rss / MB:7.1f} MB" for stage, rss in self.stages]
        peak = server.peak_rss_bytes()
        if peak is not None:
            lines.append(f"  {'peak (VmHWM, sum of processes)':<34}{peak / MB:7.1f} MB")
        lines.append(f"  {'bare app at rest (reference)':<34}{bare_rss / MB:7.1f} MB")
        return "\n".join(lines)


def start_servers(
    workdir: Path, servers: list[ServerProcess], workers: int
) -> tuple[ServerProcess, ...]:
    host = "127.0.0.1"
    api_port, bare_port = free_port(), free_port()
    processes = ["--workers", str(workers)]
    api = ServerProcess.start(
        "taskstream server",
        [taskstream_executable(), "up", "--host", host, "--port", str(api_port), *processes],
        base_url=f"http://{host}:{api_port}",
        log_path=workdir / "server.log",
        env=server_env(workdir / "data"),
        cwd=workdir,
    )
    servers.append(api)
    bare = ServerProcess.start(
        "bare app",
        [sys.executable, str(BENCH_DIR / "bare_app.py"), "--port", str(bare_port), *processes],
        base_url=f"http://{host}:{bare_port}",
        log_path=workdir / "bare.log",
        cwd=workdir,
    )
    servers.append(bare)
    took = api.wait_ready("/readyz")
    print(f"taskstream up ready in {took:.1f} s ({api.process_count()} process(es))")
    bare.wait_ready("/ping")
    return api, bare


def seed_through_api(api: ServerProcess, opts: Options) -> Seeded:
    api_url = api.base_url + API_PREFIX
    started = time.monotonic()
    seeded = asyncio.run(
        seed(
            api_url,
            users=opts.users,
            heavy_tasks=opts.heavy_tasks,
            tasks_per_user=opts.tasks_per_user,
            rng=random.Random(opts.seed),
        )
    )
    n_tasks = opts.heavy_tasks + (opts.users - 1) * opts.tasks_per_user
    print(
        f"seeded {opts.users} users and {n_tasks} tasks ({opts.heavy_tasks} for the heavy "
        f"user, a fifth of them done) in {time.monotonic() - started:.1f} s"
    )
    print(*asyncio.run(describe_lists(api_url, seeded.reader_token)), sep="\n")
    return seeded


def ceilings(
    api: ServerProcess, bare: ServerProcess, seeded: Seeded, opts: Options
) -> list[tuple[str, PhaseResult]]:
    procs = opts.ceiling_procs
    pings = [PingWorkload(f"{bare.base_url}/ping")] * procs
    runs = [("ping", closed_loop(bare, pings, (("ping", 1.0),), opts))]
    for name, mix in CEILING_RUNS:
        result = closed_loop(api, seeded.workloads(api.base_url + API_PREFIX, procs), mix, opts)
        seeded.absorb(result)
        runs.append((name, result))
    return runs


def targets_report(
    open_result: PhaseResult,
    runs: Sequence[tuple[str, PhaseResult]],
    ratio: float,
    memory: Memory,
    workers: int,
) -> str:
    rows = []
    for name, result in runs:
        target = CPU_PER_REQUEST_TARGET_S.get(name)
        if target is not None:
            cpu = server_cpu_per_request(result)
            label = f"{LABELS[name]} server CPU per request (closed loop)"
            rows.append([label, f"<= {ms(target)} ms", f"{ms(cpu)} ms", verdict(cpu <= target)])
    for name in P95_TARGETED:
        p95 = percentile(open_result.samples[name].latencies, 95)
        label = f"{LABELS[name]} p95 (open loop)"
        rows.append([label, "<= 50 ms", f"{ms(p95)} ms", verdict(p95 <= P95_TARGET_S)])
    ok = ratio >= THROUGHPUT_RATIO_TARGET
    goal = f">= {THROUGHPUT_RATIO_TARGET:.0%}"
    rows.append(["task-API mix throughput / bare", goal, f"{ratio:.1%}", verdict(ok)])
    if workers == 1:  # the memory target is the default shape's: one process
        for stage, rss in (memory.stages[0], memory.stages[-1]):
            ok = rss < RSS_TARGET_BYTES
            rows.append([f"server RSS {stage}", "< 150 MB", f"{rss / MB:.1f} MB", verdict(ok)])
    head = f"Targets ({workers} worker process{'es' if workers > 1 else ''})"
    return head + "\n" + table(["target", "goal", "measured", ""], rows)


@dataclass(frozen=True)
class Round:
    """The figures of one worker count, for the scaling table."""

    workers: int
    open_result: PhaseResult
    runs: Sequence[tuple[str, PhaseResult]]
    ratio: float
    rss: int


def run(opts: Options, workdir: Path) -> int:
    settings = ", ".join(f"{k}={v!r}" for k, v in UVICORN_OPTIONS.items())
    print(f"uvicorn settings (taskstream up and the bare app): {settings}")
    rounds: list[Round] = []
    for workers in opts.workers:
        print(f"\n===== {workers} worker process(es) =====")
        servers: list[ServerProcess] = []
        try:
            done = _round(opts, workdir / f"workers-{workers}", servers, workers)
        finally:
            for server in servers:
                server.stop()
        if isinstance(done, int):
            return done
        rounds.append(done)
    if len(rounds) > 1:
        print()
        print(scaling_report(rounds))
    return 0


def _round(opts: Options, workdir: Path, servers: list[ServerProcess], workers: int) -> Round | int:
    """One run of every phase with `workers` processes; its figures, or an exit status."""
    workdir.mkdir()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"cores: {os.cpu_count()}; load average before start: {load}; work dir {workdir}")
    try:
        api, bare = start_servers(workdir, servers, workers)
    except ServerStartError as exc:
        return fail(str(exc), *servers)

    memory = Memory()
    time.sleep(2.0)
    rss = memory.read("at rest after start-up", api)
    bare_rss = bare.rss_bytes()
    print(f"server RSS at rest after start-up: {rss / MB:.1f} MB")

    try:
        seeded = seed_through_api(api, opts)
    except (SeedError, aiohttp.ClientError, TimeoutError) as exc:
        return fail(f"seeding: {exc!r}", api)
    memory.read("after seeding", api)

    try:
        print("\nopen loop ...", flush=True)
        loaded = open_loop(api, seeded, opts, OPEN_LOOP_MIX)
        print(open_loop_report(loaded, opts))
        if loaded.error_ratio() > FAILURE_RATIO:
            return fail(f"{loaded.error_ratio():.0%} of the requests failed", api)
        memory.read("after the open loop", api)
        print("\nclosed loop ...", flush=True)
        runs = ceilings(api, bare, seeded, opts)
    except LoadWorkerError as exc:
        return fail(str(exc), api)
    ceiling, ratio = ceiling_report(runs, opts)
    print(ceiling)

    time.sleep(opts.idle_s)
    rested = memory.read(f"at rest after the load ({opts.idle_s:g} s idle)", api)
    print()
    print(memory.report(api, bare_rss))
    print()
    print(targets_report(loaded, runs, ratio, memory, workers))

    failing = [LABELS.get(n, n) for n, result in runs if result.error_ratio() > FAILURE_RATIO]
    if failing:
        return fail("most requests failed in the closed-loop runs of " + ", ".join(failing), api)
    if api.popen.poll() is not None:
        return fail(f"the server exited with code {api.popen.returncode}", api)
    return Round(workers, loaded, runs, ratio, rested)


def scaling_report(rounds: Sequence[Round]) -> str:
    """Each worker count side by side: closed-loop throughput and CPU, open-loop p95."""
    first = rounds[0]
    rows = []
    for done in rounds:
        results = dict(done.runs)
        mix = results["mix"].throughput()
        rows.append(
            [
                str(done.workers),
                f"{mix:.0f}",
                f"{mix / dict(first.runs)['mix'].throughput():.2f}x",
                f"{done.ratio:.1%}",
                f"{results['ping'].throughput():.0f}",
                *(ms(server_cpu_per_request(results[n])) for n in ("list:priority", "create")),
                *(ms(percentile(done.open_result.samples[n].latencies, 95)) for n in P95_TARGETED),
                f"{done.rss / MB:.0f}",
            ]
        )
    headers = ["workers", "mix req/s", "vs 1st", "vs bare", "bare req/s"]
    headers += ["list ms/req", "create ms/req", "create p95", "list p95", "list:tag p95"]
    lines = [
        "Scaling with worker processes (closed loop: throughput, server CPU per request; "
        "open loop: p95 ms; RSS of all processes at rest, MB)",
        table([*headers, "RSS MB"], rows),
        "  the bare app runs with as many processes as taskstream in each row",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    workdir = Path(tempfile.mkdtemp(prefix="taskstream-bench-"))
    try:
        return run(opts, workdir)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        if opts.keep_data:
            print(f"data and logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
