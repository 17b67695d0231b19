"""The database: engine set-up per dialect, migrations, and units of work."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pydantic_core
from alembic import command
from alembic.config import Config
from sqlalchemy import Column, Insert, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from taskstream.adapters.db import sqlite_driver
from taskstream.adapters.db.outbox import SqlOutboxRepository
from taskstream.adapters.db.repositories import (
    SqlRefreshTokenRepository,
    SqlTaskRepository,
    SqlUserRepository,
)
from taskstream.adapters.db.search import register_sqlite_functions
from taskstream.app.events import Topic

_MIGRATIONS = "taskstream.adapters.db:migrations"


def private_dir(path: Path) -> None:
    """Create `path` (and its parents) if it is missing, so that only its owner may enter
    it (0700) whatever the umask; a directory that exists is left as it is."""
    if not path.exists():
        path.mkdir(parents=True)
        path.chmod(0o700)


def private_file(path: Path) -> None:
    """Create `path` empty if it is missing, in a private directory; only its owner may
    read or write it (0600), whatever the umask. SQLite gives its -wal and -shm files the
    permissions of the database file."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    path.chmod(0o600)


class Database:
    """One engine and the units of work over it.

    SQLite allows one writer at a time; writers queue on an in-process lock instead of
    failing with "database is locked", while readers run side by side (WAL). A write
    transaction takes SQLite's write lock with its first statement, reads included, so
    that the writers of other processes queue too (`shared`: see the driver's write
    lock) and none changes what it read before it writes.
    """

    def __init__(self, url: str, *, echo: bool = False, shared: bool = False) -> None:
        """`shared`: other processes write to the (SQLite) database too."""
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        # JSON columns (tags, reminders, payloads...) are written and read by pydantic-core,
        # several times faster than the json module.
        kwargs: dict[str, Any] = {
            "echo": echo,
            "json_serializer": _json_text,
            "json_deserializer": pydantic_core.from_json,
        }
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                private_file(Path(parsed.database))
            kwargs["connect_args"] = {"timeout": 30, "shared": shared}
            kwargs["module"] = sqlite_driver.dbapi()
        else:
            # No ping before each checkout (a round trip per transaction): a connection the
            # server dropped fails its first statement, and that error empties the pool.
            # Connections beyond pool_size are closed when returned, and a new one costs the
            # server a process and this side its prepared statements again: under load, 10
            # kept open meant 8 new connections a second at 100 writes/s.
            kwargs.update(pool_size=20, max_overflow=10)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        # Reads need no transaction of their own: at READ COMMITTED each statement sees
        # its own snapshot either way. On PostgreSQL, autocommit spares a read the BEGIN
        # and ROLLBACK around it, two of its three round trips (a read of a few rows:
        # 0.74 -> 0.48 ms of this side's CPU). SQLite's reads begin no transaction anyway.
        self._reads = (
            self.engine
            if self.dialect == "sqlite"
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._write_lock = asyncio.Lock() if self.dialect == "sqlite" else None
        self.outbox_ready = OutboxSignal()
        if self.dialect == "sqlite":
            # A pool event, run once per new connection. (No connection event: one makes
            # SQLAlchemy dispatch events around every statement of every connection.)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    def writer(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.dialect, self._write_lock, self.outbox_ready)

    def reader(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._reads, self.dialect, None, self.outbox_ready)

    def read(self) -> AsyncConnection:
        """A connection for reading only (`async with database.read() as conn`)."""
        return self._reads.connect()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction on a bare connection (for adapters other than the UoW)."""
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.engine.begin() as conn:
            _begin_immediately(conn)
            yield conn

    async def insert_new(self, table: Table, key: Column[Any], values: dict[str, Any]) -> bool:
        """Insert one row unless a row with the same `key` exists; whether it was inserted."""
        async with self.transaction() as conn:
            result = await conn.execute(_insert_new(self.dialect, table, key), values)
        return bool(result.rowcount)

    async def insert_all_new(
        self, table: Table, key: Column[Any], rows: list[dict[str, Any]]
    ) -> None:
        """Insert each of `rows`, in order, unless a row with its `key` exists; in one
        transaction."""
        if rows:
            async with self.transaction() as conn:
                await conn.execute(_insert_new(self.dialect, table, key), rows)

    async def migrate(self) -> None:
        """Apply every Alembic migration the database does not have yet."""
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade)

    async def ping(self) -> None:
        async with self.read() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()


def _json_text(value: Any) -> str:
    return pydantic_core.to_json(value).decode()


@functools.cache
def _insert_new(dialect: str, table: Table, key: Column[Any]) -> Insert:
    """INSERT ... ON CONFLICT (key) DO NOTHING, built once per table (values come as
    parameters)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=[key])


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", _MIGRATIONS)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _begin_immediately(conn: AsyncConnection) -> None:
    """The (SQLite) connection's next statement opens a write transaction first, in the
    same trip: writers of several processes (`taskstream up --workers N`) queue too."""
    conn.sync_connection.connection.driver_connection.begin_immediately = True  # type: ignore[union-attr]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "busy_timeout=30000",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
    register_sqlite_functions(dbapi_connection)


class OutboxSignal:
    """Wakes the relay loop of each topic a commit stored events for, so it publishes them
    at once (the other loops have nothing new to read)."""

    def __init__(self) -> None:
        self._listeners: dict[Topic, list[asyncio.Event]] = {}
        self._others: list[Callable[[Iterable[Topic]], None]] = []

    def listen(self, topic: Topic) -> asyncio.Event:
        event = asyncio.Event()
        self._listeners.setdefault(topic, []).append(event)
        return event

    def also(self, tell: Callable[[Iterable[Topic]], None]) -> None:
        """Tell the topics of each commit to `tell` too (the relay of another process)."""
        self._others.append(tell)

    def set(self, topics: Iterable[Topic]) -> None:
        for topic in topics:
            for listener in self._listeners.get(topic, ()):
                listener.set()
        for tell in self._others:
            tell(topics)


class SqlUnitOfWork:
    """One transaction: every repository shares its connection; leaving without commit rolls back."""

    tasks: SqlTaskRepository
    users: SqlUserRepository
    refresh_tokens: SqlRefreshTokenRepository
    outbox: SqlOutboxRepository

    def __init__(
        self,
        engine: AsyncEngine,
        dialect: str,
        lock: asyncio.Lock | None,
        outbox_ready: OutboxSignal,
    ) -> None:
        self._engine = engine
        self._dialect = dialect
        self._lock = lock
        self._outbox_ready = outbox_ready
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        if self._lock is not None:
            await self._lock.acquire()
        try:
            # The transaction begins with the first statement (SQLAlchemy's autobegin).
            self._conn = await self._engine.connect()
            if self._lock is not None:
                _begin_immediately(self._conn)
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise
        self.tasks = SqlTaskRepository(self._conn, self._dialect)
        self.users = SqlUserRepository(self._conn)
        self.refresh_tokens = SqlRefreshTokenRepository(self._conn)
        self.outbox = SqlOutboxRepository(self._conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        try:
            await self._conn.close()  # rolls back whatever was not committed
        finally:
            self._conn = None
            if self._lock is not None:
                self._lock.release()

    async def commit(self) -> None:
        assert self._conn is not None
        await self._conn.commit()
        if self.outbox.topics:
            self._outbox_ready.set(self.outbox.topics)
