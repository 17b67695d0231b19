"""The distributed shape as processes: one isolated instance for the whole e2e session.

`scripts/distributed.sh up` starts PostgreSQL, Kafka, the Dapr scheduler, the six services
with their sidecars and the nginx gateway. Here it runs with ports and a run directory of
its own (`E2E_ENV`), so a developer's instance on the default ports keeps running beside
it. Tests use it as clients do, through the gateway; they reach behind it only to break
things (a service, a sidecar, the broker, the scheduler), to read the database directly
and to publish duplicates through a sidecar. `down` runs at the end whatever happened, and
the logs of every process are attached to a failed test's report.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from taskstream.adapters.db.tables import activity, dead_letters, outbox, tasks
from tests.clients import PASSWORD, Feed, Json, User, open_feed

HERE: Final = Path(__file__).resolve().parent
ROOT: Final = HERE.parents[1]
LAUNCHER: Final = ROOT / "scripts" / "distributed.sh"
KAFKA: Final = ROOT / "scripts" / "kafka.sh"
SERVICES: Final = ("api", "recurring", "reminders", "notifier", "audit", "sync")
"""The services the launcher can start, stop and kill one by one."""

E2E_ENV: Final = {
    "TASKSTREAM_PG_PORT": "25442",
    "TASKSTREAM_KAFKA_PORT": "29192",
    "TASKSTREAM_SCHEDULER_PORT": "20016",
    "TASKSTREAM_SCHEDULER_HEALTHZ_PORT": "20096",
    "TASKSTREAM_SCHEDULER_ETCD_PORT": "22389",
    "TASKSTREAM_DIST_PORT": "18000",
    "TASKSTREAM_DIST_APP_PORT_BASE": "18100",
    "TASKSTREAM_DIST_DAPR_HTTP_BASE": "13600",
    "TASKSTREAM_DIST_DAPR_GRPC_BASE": "20200",
    "TASKSTREAM_DIST_DATABASE": "taskstream_e2e",
    # Webhooks go to the tests' receivers on loopback; a delivery cut short resumes soon.
    "TASKSTREAM_WEBHOOK_ALLOW": "127.0.0.1",
    "TASKSTREAM_DELIVERY_LEASE_SECONDS": "6",
}
"""Ports of their own, all below Linux's ephemeral range (32768-60999): the tests restart
the broker and the scheduler, and a port in that range may be held at that moment by the
source port of some outgoing connection (seen: the scheduler's etcd could not bind its
peer port, taken by a Kafka client's connection)."""
UP_TIMEOUT_S: Final = 480.0
"""`up` on a loaded two-core machine: ~15 processes, two of them JVMs or Go binaries."""
CONTROL_TIMEOUT_S: Final = 180.0
RECEIVE_TIMEOUT_S: Final = 30.0
"""The longest a scenario waits for one thing to show; a passing run never waits it."""


# --- the instance ---------------------------------------------------------------------------


class LauncherFailed(AssertionError):
    """A launcher script failed or hung: its output says why."""


class Distributed:
    """One instance of the distributed shape, driven through its launcher scripts."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        # Only the e2e settings: a developer's TASKSTREAM_* must not leak into the instance.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TASKSTREAM_")}
        self.env.update(E2E_ENV, TMPDIR=str(run_dir))
        self.values: dict[str, str] = {}
        """What `distributed.sh env` prints (KEY=VALUE lines)."""
        self.up_s = 0.0

    # --- running the scripts

    def run(
        self, script: Path, *args: str, timeout: float = CONTROL_TIMEOUT_S, **extra: str
    ) -> str:
        """Run a launcher script with the instance's environment; its output (it must succeed)."""
        began = time.monotonic()
        try:
            done = subprocess.run(  # noqa: S603 -- our own scripts, literal arguments
                ["bash", str(script), *args],  # noqa: S607
                env={**self.env, **extra},
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise LauncherFailed(
                f"{script.name} {' '.join(args)} did not finish in {timeout:.0f} s:\n"
                f"{_text(exc.stdout)}\n{_text(exc.stderr)}"
            ) from exc
        if done.returncode != 0:
            raise LauncherFailed(
                f"{script.name} {' '.join(args)} exited with {done.returncode} after "
                f"{time.monotonic() - began:.1f} s:\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def up(self) -> None:
        began = time.monotonic()
        self.run(LAUNCHER, "up", timeout=UP_TIMEOUT_S, TASKSTREAM_DIST_FRESH="1")
        self.up_s = time.monotonic() - began
        self.values = _key_values(self.run(LAUNCHER, "env"))

    def down(self) -> None:
        self.run(LAUNCHER, "down")

    def logs(self) -> str:
        try:
            return self.run(LAUNCHER, "logs", timeout=60)
        except LauncherFailed as exc:
            return str(exc)

    async def control(self, script: Path, *args: str) -> float:
        """Run a script without blocking the test's loop (sockets keep reading); seconds."""
        began = time.monotonic()
        await asyncio.to_thread(self.run, script, *args)
        return time.monotonic() - began

    # --- breaking and mending it; each returns how long the command took

    async def kill(self, service: str) -> float:
        """SIGKILL the service's app (its sidecar stays)."""
        return await self.control(LAUNCHER, "kill", _known(service))

    async def start(self, service: str) -> float:
        """Start the service's app again and wait until its sidecar sees it healthy."""
        return await self.control(LAUNCHER, "start", _known(service))

    async def kill_sidecar(self, service: str) -> float:
        return await self.control(LAUNCHER, "kill-sidecar", _known(service))

    async def start_sidecar(self, service: str) -> float:
        return await self.control(LAUNCHER, "start-sidecar", _known(service))

    async def stop_kafka(self) -> float:
        return await self.control(KAFKA, "stop")

    async def start_kafka(self) -> float:
        return await self.control(KAFKA, "start")

    async def kill_scheduler(self) -> float:
        return await self.control(LAUNCHER, "kill-scheduler")

    async def start_scheduler(self) -> float:
        return await self.control(LAUNCHER, "start-scheduler")

    # --- where things are

    @property
    def gateway(self) -> str:
        return self.values["GATEWAY_URL"]

    @property
    def api(self) -> str:
        return f"{self.gateway}/api/v1"

    @property
    def ws(self) -> str:
        return self.gateway.replace("http://", "ws://", 1) + "/api/v1/ws"

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the services' database (asyncpg)."""
        return self.values["DATABASE_URL"]

    def dapr_http_port(self, service: str) -> int:
        return int(self.values[f"{_known(service).upper()}_DAPR_HTTP_PORT"])

    @property
    def dapr_token(self) -> str | None:
        """The token the sidecars want on their API (None if they want none)."""
        return self.values.get("DAPR_API_TOKEN") or None

    def sidecar(self, service: str) -> httpx.AsyncClient:
        """A client of the service's daprd HTTP API (close it)."""
        token = self.dapr_token
        return httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.dapr_http_port(service)}",
            headers={"dapr-api-token": token} if token else {},
            timeout=30,
            trust_env=False,
        )


def _known(service: str) -> str:
    assert service in SERVICES, service
    return service


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def _key_values(output: str) -> dict[str, str]:
    """KEY=VALUE lines (optionally `export`ed, optionally quoted) as a dict."""
    values = {}
    for line in output.splitlines():
        line = line.strip().removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if sep and key.isidentifier():
            values[key] = value.strip().strip("'\"")
    return values


_instance: Distributed | None = None
"""The running instance, for the report hook."""


@pytest.fixture(scope="session")
def dist() -> Iterator[Distributed]:
    """The instance of this session: started once, always taken down."""
    global _instance
    if not LAUNCHER.exists():
        pytest.fail(f"{LAUNCHER.relative_to(ROOT)} is missing: nothing starts the shape")
    # A fixed, short directory (unix socket paths are short), not one per run: a run killed
    # before its `down` leaves processes whose pid files the next run finds and stops.
    # A fixed, short directory (unix socket paths are short): TASKSTREAM_DIST_FRESH=1 makes
    # `up` stop what an aborted run left there and start from empty data.
    instance = Distributed(Path(tempfile.gettempdir()) / f"taskstream-e2e-{os.getuid()}")
    try:
        try:
            instance.up()
        except LauncherFailed as exc:
            pytest.fail(f"{exc}\n===== distributed.sh logs =====\n{instance.logs()}")
        print(f"\nthe distributed shape was up in {instance.up_s:.1f} s")
        _instance = instance
        yield instance
    finally:
        _instance = None
        instance.down()


# --- pytest plumbing ------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: runs against the distributed shape as processes (scripts/distributed.sh)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the logs of every process to the report of a failed e2e test."""
    report = yield
    if report.failed and _instance is not None and item.path.is_relative_to(HERE):
        report.sections.append(("distributed.sh logs", _instance.logs()))
    return report


# --- time -----------------------------------------------------------------------------------


# --- users and the API ----------------------------------------------------------------------


@pytest.fixture
async def http(dist: Distributed) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway's /api/v1."""
    async with httpx.AsyncClient(base_url=dist.api, timeout=30, trust_env=False) as client:
        yield client


NewUser = Callable[[str], Awaitable[User]]


@pytest.fixture
def new_user(http: httpx.AsyncClient) -> NewUser:
    """Sign up a user of a fresh e-mail address (named after `name`) and log in."""

    async def sign_up_and_log_in(name: str) -> User:
        email = f"{name}-{uuid.uuid4().hex[:10]}@example.com"
        body = {"email": email, "password": PASSWORD, "timezone": "UTC"}
        created = await http.post("/auth/signup", json=body)
        assert created.status_code == 201, created.text
        tokens = await http.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert tokens.status_code == 200, tokens.text
        headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        me = await http.get("/users/me", headers=headers)
        assert me.status_code == 200, me.text
        return User(me.json()["id"], email, headers)

    return sign_up_and_log_in


# --- live updates over the WebSocket --------------------------------------------------------


OpenFeed = Callable[[User], Awaitable[Feed]]


@pytest.fixture
async def feeds(dist: Distributed) -> AsyncIterator[OpenFeed]:
    """Opens users' WebSockets (closed at the end of the test, even a failed one)."""
    opened: list[Feed] = []

    async def open_user_feed(user: User) -> Feed:
        feed = await open_feed(dist.ws, user, within=RECEIVE_TIMEOUT_S)
        opened.append(feed)
        return feed

    yield open_user_feed
    for feed in opened:
        with contextlib.suppress(Exception):
            await feed.close()


# --- the database, read directly ------------------------------------------------------------


class Sql:
    """Reads the services' tables: the outbox is the record of every event the API made."""

    def __init__(self, url: str) -> None:
        self.engine: AsyncEngine = create_async_engine(url, poolclass=NullPool)

    async def _all(self, query: Any) -> list[Any]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(query)).all())

    async def events(self, user_id: str, topic: str) -> list[Json]:
        """The CloudEvents the API stored for the user on `topic`, oldest first."""
        rows = await self._all(
            select(outbox.c.payload)
            .where(outbox.c.partition_key == user_id, outbox.c.topic == topic)
            .order_by(outbox.c.seq)
        )
        return [row.payload for row in rows]

    async def unsent(self, user_id: str | None = None) -> int:
        query = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        if user_id is not None:
            query = query.where(outbox.c.partition_key == user_id)
        (row,) = await self._all(query)
        return int(row[0])

    async def activity(self, user_id: str) -> list[Any]:
        """The user's audit rows (event_id, type, task_id, time, data), in insertion order."""
        return await self._all(
            select(
                activity.c.event_id,
                activity.c.type,
                activity.c.task_id,
                activity.c.time,
                activity.c.data,
            )
            .where(activity.c.user_id == user_id)
            .order_by(activity.c.seq)
        )

    async def series(self, user_id: str) -> dict[str, list[int]]:
        """The occurrences of each of the user's series."""
        rows = await self._all(
            select(tasks.c.series_id, tasks.c.occurrence)
            .where(tasks.c.owner_id == user_id, tasks.c.series_id.is_not(None))
            .order_by(tasks.c.series_id, tasks.c.occurrence)
        )
        found: dict[str, list[int]] = {}
        for row in rows:
            found.setdefault(row.series_id, []).append(row.occurrence)
        return found

    async def dead_letter(self, event_id: str) -> Any | None:
        """The dead letter of one event (id, subscription, replayed_at), if parked."""
        rows = await self._all(
            select(
                dead_letters.c.id, dead_letters.c.subscription, dead_letters.c.replayed_at
            ).where(dead_letters.c.event_id == event_id)
        )
        return rows[0] if rows else None

    async def dead_letters(self, user_id: str) -> list[tuple[str, str, str]]:
        """The user's events parked among the dead letters: (subscription, type, error)."""
        rows = await self._all(
            select(dead_letters.c.subscription, dead_letters.c.payload, dead_letters.c.error)
        )
        return [
            (row.subscription, row.payload.get("type"), row.error)
            for row in rows
            if row.payload.get("userid") == user_id
        ]


@pytest.fixture
async def sql(dist: Distributed) -> AsyncIterator[Sql]:
    probe = Sql(dist.database_url)
    yield probe
    await probe.engine.dispose()
