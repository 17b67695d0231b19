"""How the cost of a request grows with data: 1,000 tasks against 1,000,000; prints figures.

    .venv/bin/python bench/scale.py [--tasks 1000000] [--users 10000] [--small-tasks 1000]
        [--databases sqlite,postgresql] [--requests 200] [--concurrency 4]

For each database (SQLite, and PostgreSQL on a throw-away cluster of the bench's own,
scripts/postgres.sh on port 25462) and each size (--small-tasks, then --tasks, with
100 tasks per user in both):

1. Load: users and tasks straight through the app's SQL (the schema's migrations, the task
   repository's row values, one transaction per batch), not one HTTP call per task. Tasks
   have varied titles, a description on some, tags, a due date on most (a time on some),
   reminders on some, recurrence on some, and a fifth are done.
2. Start-up: `taskstream up` on that database until /readyz answers.
3. Requests of one user (100 tasks, like everyone) over --concurrency connections, one
   operation at a time: a filtered list, a full-text search for a common word and for a
   prefix, create, update. CPU per request is the server's CPU time over the requests
   (and PostgreSQL's, its own column), which a busy machine disturbs far less than the
   latencies; p95 is from send to the end of the response.
4. The database's size on disk and the query plans of the list and the search, as the
   repository builds them (`EXPLAIN QUERY PLAN` / `EXPLAIN`).

Targets: every per-request CPU figure of the large database within 1.5x of the small one,
start-up within 5 s, and the plans use indexes (read them).

Exit status 0 whatever the figures, 1 when loading, start-up or most requests fail.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, Final

import aiohttp
import psutil  # type: ignore[import-untyped]
from sqlalchemy import event, func, insert, select

from _load import ServerProcess, ServerStartError, free_port, ms, percentile, table
from api import OBJECTS, TIMEZONES, VERBS, bearer, etag_version, server_env, taskstream_executable
from taskstream.adapters.db.database import Database
from taskstream.adapters.db.repositories import _task_values
from taskstream.adapters.db.tables import task_tags, tasks, users
from taskstream.adapters.security import Argon2PasswordHasher
from taskstream.app.queries import SortKey, TaskQuery
from taskstream.domain.recurrence import Recurrence, RecurrenceAnchor
from taskstream.domain.tasks import Due, Priority, Reminder, Status, Task

ROOT: Final = Path(__file__).resolve().parent.parent
API_PREFIX: Final = "/api/v1"
MB: Final = 1024 * 1024
PASSWORD: Final = "scale-bench-password"
TASKS_PER_USER: Final = 100
BATCH: Final = 5000
TAGS: Final = ("home", "work", "errands", "health", "finance", "reading", "family", "garden")
PRIORITIES: Final = tuple(Priority)

# Targets
GROWTH_TARGET: Final = 1.5
STARTUP_TARGET_S: Final = 5.0

PG_ENV: Final = {
    "TASKSTREAM_PG_PORT": "25462",
    "TASKSTREAM_PG_DATABASE": "taskstream_scale",
}

LIST_QUERY: Final = "status=open&priority=high&priority=urgent&sort=due&order=asc&limit=50"
OPERATIONS: Final = (
    ("list", "filtered list"),
    ("search", "search ?q=review"),
    ("search:prefix", "search ?q=rev"),
    ("create", "create"),
    ("update", "update"),
)


# --------------------------------------------------------------------------- loading


def user_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_task(rng: random.Random, serial: int, owner: str, tz: str, now: datetime) -> Task:
    """One task as a person might have made it over the last year."""
    created = now - timedelta(minutes=rng.randint(0, 525_600))
    task = Task(
        id=user_id(rng),
        owner_id=owner,
        title=f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} #{serial}",
        timezone=tz,
        created_at=created,
        updated_at=created,
        priority=rng.choice(PRIORITIES),
        tags=frozenset(rng.sample(TAGS, rng.choice((0, 1, 1, 2, 3)))),
    )
    if rng.random() < 0.3:
        task.description = "Notes: " + " ".join(rng.choices(OBJECTS, k=rng.randint(2, 8)))
    if rng.random() < 0.8:
        day = now.date() + timedelta(days=rng.randint(-30, 180))
        at = clock_time(rng.randint(7, 20), rng.choice((0, 15, 30, 45)))
        task.due = Due(day, at if rng.random() < 0.4 else None)
        if rng.random() < 0.2:
            task.reminders = (Reminder(at=None, minutes_before=rng.choice((10, 30, 60))),)
        if rng.random() < 0.05:
            local = datetime.combine(day, task.due.time or clock_time(0))
            task.recurrence = Recurrence("FREQ=WEEKLY", RecurrenceAnchor.DUE, local)
            task.series_id = task.id
    if rng.random() < 0.2:
        task.status = Status.DONE
        task.completed_at = created + timedelta(days=1)
        task.updated_at = task.completed_at
    return task


async def load(url: str, n_users: int, n_tasks: int, seed: int) -> float:
    """Migrate an empty database and fill it; the seconds it took."""
    started = time.monotonic()
    database = Database(url)
    try:
        await database.migrate()
        rng = random.Random(seed)
        now = datetime.now(UTC)
        password_hash = await Argon2PasswordHasher().hash(PASSWORD)
        owners = [(user_id(rng), rng.choice(TIMEZONES)) for _ in range(n_users)]
        async with database.transaction() as conn:
            await conn.execute(
                insert(users),
                [
                    {
                        "id": owner,
                        "email": email(index),
                        "password_hash": password_hash,
                        "timezone": tz,
                        "created_at": now,
                    }
                    for index, (owner, tz) in enumerate(owners)
                ],
            )
        returning = insert(tasks).returning(tasks.c.seq, sort_by_parameter_order=True)
        for first in range(0, n_tasks, BATCH):
            batch = [
                make_task(rng, serial, *owners[serial % n_users], now)
                for serial in range(first, min(first + BATCH, n_tasks))
            ]
            async with database.transaction() as conn:
                result = await conn.execute(returning, [_task_values(task) for task in batch])
                tag_rows = [
                    {"task_seq": seq, "tag": tag, "owner_id": task.owner_id}
                    for seq, task in zip(result.scalars(), batch, strict=True)
                    for tag in task.tags
                ]
                if tag_rows:
                    await conn.execute(insert(task_tags), tag_rows)
        if database.dialect == "postgresql":
            async with database.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        await database.dispose()
    return time.monotonic() - started


def email(index: int) -> str:
    return f"scale-{index:05d}@example.com"


# --------------------------------------------------------------------------- the database


@dataclass
class Target:
    """One database of one size: where it lives and how to start the server on it."""

    dialect: str
    url: str
    env: dict[str, str]
    data_dir: Path | None
    pg: PostgresCluster | None

    async def size_bytes(self) -> int:
        if self.data_dir is not None:
            return sum(p.stat().st_size for p in self.data_dir.glob("taskstream.db*"))
        database = Database(self.url)
        try:
            async with database.engine.connect() as conn:
                size = await conn.scalar(select(func.pg_database_size(func.current_database())))
        finally:
            await database.dispose()
        return int(size or 0)

    def db_cpu_seconds(self) -> float:
        return self.pg.cpu_seconds() if self.pg is not None else 0.0


@dataclass
class PostgresCluster:
    """The bench's own cluster, through scripts/postgres.sh (port 25462)."""

    env: dict[str, str]

    @classmethod
    def for_bench(cls) -> PostgresCluster:
        # PostgreSQL runs as its own user when we are root: it must pass through, no more.
        base = Path(tempfile.gettempdir()) / f"taskstream-scale-{os.getuid()}"
        base.mkdir(exist_ok=True)
        base.chmod(0o711)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKSTREAM_")}
        return cls({**env, **PG_ENV, "TMPDIR": str(base)})

    def run(self, *args: str) -> str:
        done = subprocess.run(
            ["bash", str(ROOT / "scripts" / "postgres.sh"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"scripts/postgres.sh {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout.strip()

    def cpu_seconds(self) -> float:
        pid_file = Path(self.env["TMPDIR"]) / f"taskstream-pg-{os.getuid()}/data/postmaster.pid"
        total = 0.0
        with contextlib.suppress(OSError, ValueError, psutil.NoSuchProcess):
            root = psutil.Process(int(pid_file.read_text().split()[0]))
            for proc in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    t = proc.cpu_times()
                    total += t.user + t.system + t.children_user + t.children_system
        return total


def prepare(dialect: str, workdir: Path, pg: PostgresCluster | None) -> Target:
    if dialect == "sqlite":
        data_dir = workdir / "data"
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        url = f"sqlite+aiosqlite:///{data_dir / 'taskstream.db'}"
        return Target(dialect, url, server_env(data_dir), data_dir, None)
    assert pg is not None
    pg.run("recreate")
    url = pg.run("url")
    env = server_env(workdir / "data")
    env["TASKSTREAM_DATABASE_URL"] = url
    return Target(dialect, url, env, None, pg)


# --------------------------------------------------------------------------- plans


@contextlib.contextmanager
def statements(database: Database) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (and its parameters) the engine sends while the block runs."""
    seen: list[tuple[str, Any]] = []

    def capture(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        seen.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", capture)


async def plans(target: Target, owner: str) -> list[str]:
    """The plans of the filtered list and the search, as the task repository builds them."""
    queries = {
        "filtered list": TaskQuery(
            status=Status.OPEN,
            priorities=frozenset({Priority.HIGH, Priority.URGENT}),
            sort=SortKey.DUE,
        ),
        "search q=review": TaskQuery(search="review"),
    }
    explain = "EXPLAIN QUERY PLAN " if target.dialect == "sqlite" else "EXPLAIN "
    lines = []
    database = Database(target.url)
    try:
        for name, query in queries.items():
            async with database.reader() as uow:
                with statements(database) as seen:
                    await uow.tasks.find(owner, query, datetime.now(UTC))
                statement, parameters = seen[-1]
            async with database.engine.connect() as conn:
                rows = (await conn.exec_driver_sql(explain + statement, parameters)).all()
            lines.append(f"  {name}:")
            lines += [f"    {row[-1]}" for row in rows]
    finally:
        await database.dispose()
    return lines


async def owner_of(target: Target, index: int) -> str:
    database = Database(target.url)
    try:
        async with database.engine.connect() as conn:
            found = await conn.scalar(select(users.c.id).where(users.c.email == email(index)))
    finally:
        await database.dispose()
    assert isinstance(found, str)
    return found


# --------------------------------------------------------------------------- requests


@dataclass
class Figures:
    """One operation: CPU seconds per request (server, database) and latencies."""

    server_cpu: float
    db_cpu: float
    latencies: list[float]
    errors: int

    @property
    def p95(self) -> float:
        return percentile(sorted(self.latencies), 95)


@dataclass
class SizeResult:
    tasks: int
    load_s: float
    startup_s: float
    size_bytes: int
    figures: dict[str, Figures] = field(default_factory=dict)
    plans: list[str] = field(default_factory=list)


Call = Callable[[aiohttp.ClientSession], Awaitable[bool]]


class Requests:
    """The measured user's calls; updates keep each task's version from its ETag."""

    def __init__(self, api_url: str, token: str, rng: random.Random) -> None:
        self.api_url = api_url
        self.headers = bearer(token)
        self.rng = rng
        self.versions: dict[str, int] = {}
        self.serial = 0

    async def fetch_versions(self, session: aiohttp.ClientSession) -> None:
        url = f"{self.api_url}/tasks?limit=200"
        async with session.get(url, headers=self.headers) as resp:
            page = json.loads(await resp.read())
        self.versions = {task["id"]: int(task["version"]) for task in page["data"]}

    def calls(self) -> dict[str, Call]:
        def get(query: str) -> Call:
            async def call(session: aiohttp.ClientSession) -> bool:
                url = f"{self.api_url}/tasks?{query}"
                async with session.get(url, headers=self.headers) as resp:
                    await resp.read()
                    return resp.status == 200

            return call

        async def create(session: aiohttp.ClientSession) -> bool:
            self.serial += 1
            body = {
                "title": f"{self.rng.choice(VERBS)} {self.rng.choice(OBJECTS)} new {self.serial}",
                "tags": ["work"],
                "due_date": (date.today() + timedelta(days=3)).isoformat(),  # noqa: DTZ011
            }
            url = f"{self.api_url}/tasks"
            async with session.post(url, json=body, headers=self.headers) as resp:
                await resp.read()
                return resp.status == 201

        async def update(session: aiohttp.ClientSession) -> bool:
            task_id = self.rng.choice(list(self.versions))
            version = self.versions.pop(task_id)
            headers = {**self.headers, "If-Match": f'"{version}"'}
            body = {"title": f"Edited {self.rng.choice(OBJECTS)}", "priority": "high"}
            url = f"{self.api_url}/tasks/{task_id}"
            async with session.patch(url, json=body, headers=headers) as resp:
                await resp.read()
                new_version = etag_version(resp.headers.get("ETag"))
            self.versions[task_id] = new_version if new_version is not None else version
            return resp.status == 200

        return {
            "list": get(LIST_QUERY),
            "search": get("q=review"),
            "search:prefix": get("q=rev"),
            "create": create,
            "update": update,
        }


async def measure(
    call: Call, n: int, concurrency: int, server: ServerProcess, target: Target
) -> Figures:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(min(20, n)):  # warm-up: caches, pool, statement cache
            await call(session)
        latencies: list[float] = []
        errors = 0
        remaining = n

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                began = time.perf_counter()
                ok = await call(session)
                latencies.append(time.perf_counter() - began)
                errors += not ok

        cpu, db = server.cpu_seconds(), target.db_cpu_seconds()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        cpu, db = server.cpu_seconds() - cpu, target.db_cpu_seconds() - db
    return Figures(cpu / n, db / n, latencies, errors)


async def login(api_url: str, index: int) -> str:
    async with aiohttp.ClientSession() as session:
        body = {"email": email(index), "password": PASSWORD}
        async with session.post(f"{api_url}/auth/login", json=body) as resp:
            payload = json.loads(await resp.read())
            if resp.status != 200:
                raise RuntimeError(f"login failed: HTTP {resp.status} {payload}")
    return str(payload["access_token"])


async def requests(
    api_url: str, opts: Options, server: ServerProcess, target: Target
) -> dict[str, Figures]:
    reqs = Requests(api_url, await login(api_url, 0), random.Random(opts.seed))
    async with aiohttp.ClientSession() as session:
        await reqs.fetch_versions(session)
    figures = {}
    for name, call in reqs.calls().items():
        figures[name] = await measure(call, opts.requests, opts.concurrency, server, target)
    return figures


# --------------------------------------------------------------------------- a run


@dataclass(frozen=True)
class Options:
    tasks: int
    small_tasks: int
    databases: tuple[str, ...]
    requests: int
    concurrency: int
    seed: int


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        description="How request costs grow from 1,000 to 1,000,000 tasks (prints figures).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--tasks", type=int, default=1_000_000, help="tasks of the large database")
    add("--small-tasks", type=int, default=1000, help="tasks of the small database")
    add("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    add("--requests", type=int, default=200, help="measured requests per operation")
    add("--concurrency", type=int, default=4, help="connections")
    add("--seed", type=int, default=1, help="random seed")
    args = parser.parse_args(argv)
    databases = tuple(name.strip() for name in args.databases.split(",") if name.strip())
    if not databases or set(databases) - {"sqlite", "postgresql"}:
        parser.error("--databases takes sqlite and/or postgresql")
    for name in ("tasks", "small_tasks"):
        if getattr(args, name) < TASKS_PER_USER:
            parser.error(f"--{name.replace('_', '-')} must be at least {TASKS_PER_USER}")
    return Options(
        tasks=args.tasks,
        small_tasks=args.small_tasks,
        databases=databases,
        requests=args.requests,
        concurrency=args.concurrency,
        seed=args.seed,
    )


def run_size(
    dialect: str, n_tasks: int, opts: Options, workdir: Path, pg: PostgresCluster | None
) -> SizeResult:
    target = prepare(dialect, workdir, pg)
    n_users = max(1, n_tasks // TASKS_PER_USER)
    print(f"{dialect}: loading {n_tasks:,} tasks over {n_users:,} users ...", flush=True)
    load_s = asyncio.run(load(target.url, n_users, n_tasks, opts.seed))
    print(f"  loaded in {load_s:.1f} s ({n_tasks / load_s:,.0f} tasks/s)", flush=True)
    host, port = "127.0.0.1", free_port()
    server = ServerProcess.start(
        "taskstream server",
        [taskstream_executable(), "up", "--host", host, "--port", str(port)],
        base_url=f"http://{host}:{port}",
        log_path=workdir / f"server-{dialect}-{n_tasks}.log",
        env=target.env,
        cwd=workdir,
    )
    try:
        startup_s = server.wait_ready("/readyz", timeout_s=120.0)
        print(f"  taskstream up ready in {startup_s:.1f} s", flush=True)
        figures = asyncio.run(requests(server.base_url + API_PREFIX, opts, server, target))
    finally:
        server.stop()
    result = SizeResult(n_tasks, load_s, startup_s, asyncio.run(target.size_bytes()), figures)
    result.plans = asyncio.run(plans(target, asyncio.run(owner_of(target, 0))))
    return result


def report(dialect: str, small: SizeResult, large: SizeResult) -> tuple[str, bool]:
    db = " + PostgreSQL" if dialect == "postgresql" else ""
    headers = ["operation"]
    for size in (small, large):
        headers += [f"CPU ms/req {size.tasks:,}", f"p95 ms {size.tasks:,}"]
    headers += ["growth", f"<= {GROWTH_TARGET}x"]
    rows = []
    ok = True
    for name, label in OPERATIONS:
        s, g = small.figures[name], large.figures[name]
        cells = [label]
        for f in (s, g):
            cpu = ms(f.server_cpu) + (f" + {ms(f.db_cpu)}" if db else "")
            cells += [cpu, ms(f.p95) + (f" ({f.errors} errors)" if f.errors else "")]
        small_cpu = s.server_cpu + s.db_cpu
        # A few cheap requests can take less CPU than the clock's tick: no ratio, no pass.
        growth = (g.server_cpu + g.db_cpu) / small_cpu if small_cpu else math.nan
        passed = growth <= GROWTH_TARGET
        ok &= passed
        shown = "-" if math.isnan(growth) else f"{growth:.2f}x"
        rows.append([*cells, shown, "PASS" if passed else "MISS"])
    lines = [
        f"{dialect}: CPU per request of the server{db} (ms), one user's 100 tasks",
        table(headers, rows),
        f"  filtered list: ?{LIST_QUERY}; update: title and priority, with If-Match",
    ]
    for size in (small, large):
        passed = size.startup_s <= STARTUP_TARGET_S
        ok &= passed
        lines.append(
            f"  {size.tasks:,} tasks: loaded in {size.load_s:.1f} s, database "
            f"{size.size_bytes / MB:,.1f} MB, `taskstream up` ready in {size.startup_s:.1f} s "
            f"(<= {STARTUP_TARGET_S:g} s {'PASS' if passed else 'MISS'})"
        )
    lines.append(f"Query plans on {large.tasks:,} tasks")
    lines += large.plans
    return "\n".join(lines), ok


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    print(
        f"cores: {os.cpu_count()}; load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="taskstream-scale-"))
    pg = PostgresCluster.for_bench() if "postgresql" in opts.databases else None
    verdicts = []
    try:
        if pg is not None:
            pg.run("start")
        for dialect in opts.databases:
            small = run_size(dialect, opts.small_tasks, opts, workdir, pg)
            large = run_size(dialect, opts.tasks, opts, workdir, pg)
            text, ok = report(dialect, small, large)
            print(f"\n{text}\n", flush=True)
            verdicts.append((dialect, ok))
            failed = sum(f.errors for size in (small, large) for f in size.figures.values())
            if failed > opts.requests:
                print(f"FAILED: {failed} requests failed", file=sys.stderr)
                return 1
    except (ServerStartError, RuntimeError) as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        for log in sorted(workdir.glob("server-*.log")):
            print(f"--- {log.name}\n{log.read_text()[-3000:]}", file=sys.stderr)
        return 1
    finally:
        if pg is not None:
            with contextlib.suppress(RuntimeError):
                pg.run("stop")
        shutil.rmtree(workdir, ignore_errors=True)
    rows = [[dialect, "PASS" if ok else "MISS"] for dialect, ok in verdicts]
    print("Targets (per-request growth <= 1.5x, start-up <= 5 s)")
    print(table(["database", "verdict"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
