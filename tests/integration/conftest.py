"""Storage and API tests run once on SQLite and once on a real PostgreSQL server.

`scripts/test.sh` starts a throw-away PostgreSQL cluster and exports its URL as
TASKSTREAM_TEST_POSTGRES_URL. Without it the PostgreSQL half is skipped on a developer's
machine, and fails under CI, where skipping it would hide a whole database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import event
from sqlalchemy.ext.asyncio import create_async_engine

from taskstream.adapters.db.database import Database
from taskstream.bootstrap import Container, build
from taskstream.entrypoints.api.app import create_app
from taskstream.settings import Settings
from tests.conftest import AdjustableClock, eventually

POSTGRES_URL = os.environ.get("TASKSTREAM_TEST_POSTGRES_URL")
TEST_SECRET = "test-signing-secret-" + "x" * 64
_TABLES = (
    "task_tags, tasks, refresh_tokens, users, outbox, dead_letters, jobs, state, activity, "
    "webhooks, messages, conversations, access_tokens, notifications"
)


def _migrate(url: str) -> None:
    async def run() -> None:
        database = Database(url)
        try:
            await database.migrate()
        finally:
            await database.dispose()

    asyncio.run(run())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy of it."""
    path = tmp_path_factory.mktemp("template") / "taskstream.db"
    _migrate(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    if POSTGRES_URL is None:
        if os.environ.get("CI"):
            pytest.fail(
                "TASKSTREAM_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh"
            )
        pytest.skip("no PostgreSQL: run the tests with scripts/test.sh")
    _migrate(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp_path / "taskstream.db")
        yield f"sqlite+aiosqlite:///{tmp_path / 'taskstream.db'}"
        return
    url: str = request.getfixturevalue("postgres_url")

    async def truncate() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.exec_driver_sql(f"TRUNCATE {_TABLES} CASCADE")
        await engine.dispose()

    asyncio.run(truncate())
    yield url


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path,
        database_url=database_url,
        jwt_secret=TEST_SECRET,  # type: ignore[arg-type]
        webhook_allow="127.0.0.1",  # the tests' webhook receivers listen there
    )


@pytest.fixture
async def container(settings: Settings, clock: AdjustableClock) -> AsyncIterator[Container]:
    built = build(settings, clock=clock)
    await built.start()
    yield built
    await built.stop()


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container, migrate=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as http:
        yield http


@contextlib.contextmanager
def statements(container: Container, start: str) -> Iterator[list[tuple[str, Any]]]:
    """The statements beginning with `start` (e.g. "UPDATE outbox"), with their parameters,
    sent while the block runs."""
    sent: list[tuple[str, Any]] = []
    start = " ".join(start.upper().split())

    def record(*args: Any) -> None:
        statement, parameters = args[2], args[3]  # (conn, cursor, statement, parameters, ...)
        if " ".join(statement.upper().split()).startswith(start):
            sent.append((statement, parameters))

    engine = container.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextlib.asynccontextmanager
async def serving(app: Any, *, lifespan: str = "off") -> AsyncIterator[int]:
    """`app` served by uvicorn on a free loopback port, for as long as the block runs; its port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, lifespan=lifespan, log_level="warning", timeout_graceful_shutdown=2
    )
    served = uvicorn.Server(config)
    task = asyncio.create_task(served.serve(sockets=[sock]))

    async def started() -> bool:
        if task.done():
            task.result()  # a start-up failure is the test's failure
        return served.started

    try:
        await eventually(started)
        yield sock.getsockname()[1]
    finally:
        served.should_exit = True
        await asyncio.wait_for(task, timeout=15)
        sock.close()


@pytest.fixture
async def server(container: Container) -> AsyncIterator[str]:
    """The API served by uvicorn on a free loopback port (WebSockets need a real server);
    the ws:// URL of its live updates."""
    async with serving(create_app(container, migrate=False)) as port:
        yield f"ws://127.0.0.1:{port}/api/v1/ws"


Login = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def login(client: httpx.AsyncClient) -> Login:
    """Sign a user up and log in; the Authorization header to use."""

    async def sign_up_and_log_in(
        email: str = "ada@example.com", timezone: str = "Europe/Paris"
    ) -> dict[str, str]:
        password = "correct horse battery"
        response = await client.post(
            "/auth/signup", json={"email": email, "password": password, "timezone": timezone}
        )
        assert response.status_code == 201, response.text
        response = await client.post("/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return sign_up_and_log_in


async def settled(container: Container) -> None:
    """Every event of every write so far is handled: the bus delivers an event before the
    relay marks its row sent, and a handler's own writes are in the outbox by then."""

    async def nothing_pending() -> bool:
        return await container.relay.pending() == 0

    await eventually(nothing_pending)
