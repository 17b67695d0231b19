"""aiosqlite whose statements run on the caller's thread, unless they may wait.

aiosqlite runs every call on a thread of the connection's own, and SQLAlchemy's adapter
makes four calls per statement (open a cursor, execute, fetch every row, close the
cursor). Each trip to a thread and back costs a queue put, a wake-up of the event loop
through its self-pipe, two hand-overs of the GIL and a turn of the loop: about 0.13 ms
of CPU on a small machine, where SQLite answers an indexed query in microseconds. Here a
statement runs where it is called, at once, with its rows, and a rollback or commit with
no transaction open (every read) does nothing.

That holds while no call can wait: SQLite in WAL mode lets readers read while one
connection writes, and the database's in-process write lock lets one connection of the
process write at a time. What may wait is a write transaction of a database other
processes write to (`shared`) while one of them writes: it runs on a thread of its own,
waiting there for their lock, and the event loop goes on meanwhile (`Connection.write`).
Opening and closing a connection go to a shared thread too. (A server-side cursor, which
the code does not use, would receive all its rows at once.)
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import threading
import types
from collections import deque
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from queue import SimpleQueue
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

_Outcome = tuple[Any, list[Any], int, int | None, bool]


def _run(
    conn: sqlite3.Connection, sql: str, parameters: Any, many: bool, begin: _WriteLock | None
) -> _Outcome:
    """On the connection's thread: the statement, its rows and what follows from it;
    first, if `begin`, a write transaction (unless one is open) under that lock."""
    if begin is not None and not conn.in_transaction:
        begin.acquire()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            begin.release()
            raise
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid, conn.in_transaction
    finally:
        cursor.close()


class Cursor:
    """A cursor whose rows arrive with its statement; fetching and closing stay local."""

    arraysize = 1

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        return None

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        await self._send(sql, parameters, many=False)
        return self

    async def executemany(self, sql: str, parameters: Sequence[Sequence[Any]]) -> Cursor:
        await self._send(sql, parameters, many=True)
        return self

    async def _send(self, sql: str, parameters: Any, *, many: bool) -> None:
        connection = self._connection
        connection.transaction_open = None  # unknown until the statement has run
        begin = connection.write() if connection.begin_immediately else None
        outcome: _Outcome = await connection._execute(
            _run, connection._conn, sql, parameters, many, begin
        )
        self.description, rows, self.rowcount, self.lastrowid, connection.transaction_open = outcome
        self._rows = deque(rows)

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = min(self.arraysize if size is None else size, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()


class _Worker:
    """A thread that runs the calls of every connection sent to it, in order: one for
    opening and closing connections, one for the write transactions of shared databases
    (`taskstream up --workers N`) that wait for another process's write. aiosqlite would
    give every connection a thread of its own."""

    daemon = True  # SQLAlchemy sets it on each connection's thread

    def __init__(self, name: str) -> None:
        self.name = name
        self.queue: SimpleQueue[tuple[asyncio.Future[Any] | None, Callable[[], Any]]]
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.forget()
        os.register_at_fork(after_in_child=self.forget)

    def forget(self) -> None:
        """A fresh queue and no thread (a forked child has none of its parent's)."""
        self.queue = SimpleQueue()
        self._thread = None

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=_work, args=(self.queue,), name=self.name, daemon=True
                )
                self._thread.start()


def _work(queue: SimpleQueue[tuple[asyncio.Future[Any] | None, Callable[[], Any]]]) -> None:
    while True:
        future, function = queue.get()
        try:
            outcome: tuple[Callable[..., None], Any] = (_succeed, function())
        except BaseException as exc:  # handed to the awaiting coroutine
            outcome = (_fail, exc)
        if future is not None:
            with contextlib.suppress(RuntimeError):  # its loop is closed: nobody waits
                future.get_loop().call_soon_threadsafe(outcome[0], future, outcome[1])


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


class _WriteLock:
    """The lock a process holds while it writes to a database file: a `flock` on a file
    beside it. Writers of other processes wait on it in the kernel, woken the moment it
    is free, where SQLite's busy handler would poll with sleeps of up to 100 ms. Writers
    of one process take turns already (the database's write lock): one per process."""

    def __init__(self, database: str | None) -> None:
        self._fd = None if database is None else os.open(f"{database}-writer", _CREATE, 0o600)
        self._held = False

    def take(self) -> bool:
        """Take the lock if no other process holds it; whether this process holds it."""
        if self._fd is None or self._held:
            return True
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._held = True
        return True

    def acquire(self) -> None:
        """Take the lock, waiting for the other processes' writers if need be."""
        if self._fd is not None and not self._held:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            self._held = True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._held = False


_CREATE = os.O_CREAT | os.O_RDWR
_UNSHARED = _WriteLock(None)
"""The lock of a database no other process writes to: none."""
_write_locks: dict[str, _WriteLock] = {}
_write_locks_lock = threading.Lock()
os.register_at_fork(after_in_child=_write_locks.clear)  # a child takes locks of its own


def _write_lock(database: str) -> _WriteLock:
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return _UNSHARED
    with _write_locks_lock:
        lock = _write_locks.get(database)
        if lock is None:
            lock = _write_locks[database] = _WriteLock(database)
        return lock


def _finish(end: Callable[[], None], lock: _WriteLock) -> None:
    try:
        end()
    finally:
        lock.release()


_WORKER = _Worker("sqlite")
"""Opens and closes connections."""
_WRITER = _Worker("sqlite-writes")
"""Runs the calls of write transactions of shared databases that wait for another
process's write lock: meanwhile, the event loop goes on."""


class Connection(aiosqlite.Connection):
    transaction_open: bool | None = False
    """Whether SQLite has a transaction open, as of the last statement (None: unknown)."""
    _writing = False
    """Whether a write transaction of a shared database is open (see `write`)."""
    begin_immediately = False
    """Whether the next statement opens a write transaction first (`BEGIN IMMEDIATE`, in
    the same trip): a unit of work that writes holds SQLite's write lock from its first
    read, so no other process writes between what it read and what it writes."""

    def __init__(
        self,
        connector: Callable[[], sqlite3.Connection],
        iter_chunk_size: int,
        write_lock: _WriteLock,
    ) -> None:
        super().__init__(connector, iter_chunk_size)
        self._tx = _WORKER.queue
        self._thread = _WORKER  # type: ignore[assignment]
        self._write_lock = write_lock

    def write(self) -> _WriteLock:
        """From now until the commit or rollback, a write transaction. If other processes
        write to the database too and one is writing, its calls go to the writers' thread,
        where the first waits for that process. The lock to take first."""
        self.begin_immediately = False
        if self._write_lock is not _UNSHARED:
            self._writing = True
            if not self._write_lock.take():
                _WRITER.start()
                self._tx = _WRITER.queue
        return self._write_lock

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a call here and now, or on the writers' thread (see `write`)."""
        if self._tx is _WRITER.queue:
            return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    def stop(self) -> asyncio.Future[Any] | None:
        """Close the SQLite connection on the shared thread, which goes on."""
        self._running = False

        def close() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        try:
            future: asyncio.Future[Any] | None = asyncio.get_running_loop().create_future()
        except RuntimeError:  # no loop (a connection garbage-collected unclosed)
            future = None
        self._tx.put_nowait((future, close))
        return future

    def cursor(self) -> Cursor:  # type: ignore[override]
        return Cursor(self)

    def ended(self) -> bool:
        """Whether no transaction is open, in which case a commit or rollback would have
        nothing to do: ready for the next."""
        if self.transaction_open is not False:
            return False
        self._ready()
        return True

    def _ready(self) -> None:
        """No write transaction ahead, and calls here again."""
        self.begin_immediately = False
        self._writing = False
        self._tx = _WORKER.queue

    async def commit(self) -> None:
        await self._end(self._conn.commit)

    async def rollback(self) -> None:
        await self._end(self._conn.rollback)  # the pool rolls back every connection returned

    async def _end(self, end: Callable[[], None]) -> None:
        """Commit or roll back what is open; a write transaction gives its lock back and
        the connection's calls run here again."""
        try:
            if self.transaction_open is not False:
                if self._writing:
                    await self._execute(_finish, end, self._write_lock)
                else:
                    await self._execute(end)
                self.transaction_open = False
        finally:
            self._ready()


def connect(
    database: str | Path, *, iter_chunk_size: int = 64, shared: bool = False, **kwargs: Any
) -> Connection:
    """A connection; `shared`: other processes write to the database too. Its calls run
    on one of two threads, one call at a time (see `Connection.write`), hence no
    same-thread check."""
    name = str(database)
    kwargs["check_same_thread"] = False

    def connector() -> sqlite3.Connection:
        connection: sqlite3.Connection = sqlite3.connect(name, **kwargs)
        return connection

    return Connection(connector, iter_chunk_size, _write_lock(name) if shared else _UNSHARED)


class _AdaptedCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's cursor over a `Cursor`, which has nothing to do when it opens or
    closes: neither waits for the event loop. (SQLAlchemy's awaits both, each a switch
    from its greenlet to the loop and back; two of the three per statement.)"""

    __slots__ = ()

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor

    def close(self) -> None:
        self._rows.clear()


class _AdaptedConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's connection over a `Connection`: a commit or rollback with no
    transaction open (the end of every read) ends at once, with no trip to the loop."""

    __slots__ = ()
    _cursor_cls = _AdaptedCursor

    def commit(self) -> None:
        if not self._connection.ended():
            super().commit()

    def rollback(self) -> None:
        if not self._connection.ended():
            super().rollback()


class _Dbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> _AdaptedConnection:
        return _AdaptedConnection(self, await_(self.aiosqlite.connect(*arg, **kw)))


@cache
def dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The DBAPI module for SQLAlchemy's aiosqlite dialect (`create_async_engine(module=...)`)."""
    module = types.ModuleType(__name__ + ".aiosqlite")
    for name in aiosqlite.__all__:
        setattr(module, name, getattr(aiosqlite, name))
    module.__version__ = aiosqlite.__version__  # type: ignore[attr-defined]
    module.connect = connect  # type: ignore[attr-defined]
    module.Connection = Connection  # type: ignore[attr-defined]
    module.Cursor = Cursor  # type: ignore[attr-defined]
    return _Dbapi(module, sqlite3)
