"""The SQLite driver: statements run at once on the event loop's thread, unless they may
wait for another process; same results.

Against a real SQLite file through the engine the application uses (`Database`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from taskstream.adapters.db import sqlite_driver
from taskstream.adapters.db.database import Database


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with database.transaction() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield database
    await database.dispose()


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The thread each statement, commit or rollback sent to SQLite ran on, in order."""
    threads: list[str] = []
    run, finish = sqlite_driver._run, sqlite_driver._finish

    def statement(*args: Any) -> Any:
        threads.append(threading.current_thread().name)
        return run(*args)

    def end(*args: Any) -> None:
        threads.append(threading.current_thread().name)
        finish(*args)

    monkeypatch.setattr(sqlite_driver, "_run", statement)
    monkeypatch.setattr(sqlite_driver, "_finish", end)
    return threads


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """How many calls went to a thread and back so far."""
    count = 0
    send = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal count
        count += 1
        return await send(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return lambda: count


def _on_disk(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT id, name FROM t ORDER BY id").fetchall()


async def test_a_read_runs_at_once_on_the_event_loop_and_gives_every_row(
    database: Database, ran: list[str], trips: Callable[[], int]
) -> None:
    async with database.transaction() as conn:
        await conn.execute(
            text("INSERT INTO t (name) VALUES (:name)"), [{"name": f"n{i}"} for i in range(70)]
        )
    ran.clear()
    async with database.engine.connect() as conn:  # as a unit of work reads
        await conn.begin()
        rows = (await conn.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
    assert ran == [threading.current_thread().name], "one call: no cursor, fetch or rollback"
    assert trips() == 0
    assert [tuple(row) for row in rows] == [(i + 1, f"n{i}") for i in range(70)]


async def test_a_write_runs_at_once_too_when_no_other_process_writes(
    database: Database, ran: list[str], trips: Callable[[], int], tmp_path: Path
) -> None:
    async with database.transaction() as conn:
        inserted = await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
        updated = await conn.execute(text("UPDATE t SET name = 'b' WHERE name = 'a'"))
    assert ran == [threading.current_thread().name] * 2  # the commit is not a statement
    assert trips() == 0
    assert inserted.lastrowid == 1
    assert updated.rowcount == 1
    assert _on_disk(tmp_path / "driver.db") == [(1, "b")]


async def test_a_write_of_a_shared_database_runs_at_once_while_no_other_process_writes(
    tmp_path: Path, ran: list[str], trips: Callable[[], int]
) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}", shared=True)
    try:
        await database.migrate()
        ran.clear()
        async with database.writer() as uow:
            assert await uow.users.by_id("nobody") is None
            assert not _can_write(tmp_path / "shared.db")
            await uow.commit()
        assert ran == [threading.current_thread().name] * 2  # the read, then the commit
        assert trips() == 0
        assert _can_write(tmp_path / "shared.db")
    finally:
        await database.dispose()


async def test_what_is_not_committed_is_rolled_back(database: Database, tmp_path: Path) -> None:
    async with database.engine.connect() as conn:
        await conn.begin()
        await conn.execute(text("INSERT INTO t (name) VALUES ('kept?')"))
        # Closed without a commit: rolled back.
    assert _on_disk(tmp_path / "driver.db") == []
    async with database.transaction() as conn:
        await conn.execute(text("INSERT INTO t (name) VALUES ('kept')"))
    assert _on_disk(tmp_path / "driver.db") == [(1, "kept")]


async def test_a_failed_statement_surfaces_and_its_transaction_rolls_back(
    database: Database, tmp_path: Path
) -> None:
    async def insert_twice() -> None:
        async with database.transaction() as conn:
            await conn.execute(text("INSERT INTO t (name) VALUES ('twice')"))
            await conn.execute(text("INSERT INTO t (name) VALUES ('twice')"))

    with pytest.raises(IntegrityError):
        await insert_twice()
    assert _on_disk(tmp_path / "driver.db") == []
    async with database.transaction() as conn:
        await conn.execute(text("INSERT INTO t (name) VALUES ('after')"))
    assert _on_disk(tmp_path / "driver.db") == [(1, "after")]


async def test_connections_open_and_close_on_one_thread_that_outlives_event_loops(
    tmp_path: Path,
) -> None:
    async def read_on_a_new_engine() -> list[int]:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'loops.db'}")
        try:

            async def one(i: int) -> int:
                async with database.engine.connect() as conn:  # three open at once
                    rows = await conn.execute(text("SELECT :i"), {"i": i})
                    await asyncio.sleep(0.01)
                    return int(rows.scalar_one())

            return await asyncio.gather(*(one(i) for i in range(3)))
        finally:
            await database.dispose()

    await asyncio.to_thread(asyncio.run, read_on_a_new_engine())  # another event loop
    assert await read_on_a_new_engine() == [0, 1, 2]
    assert [t.name for t in threading.enumerate()].count("sqlite") == 1


def _can_write(path: Path) -> bool:
    """Whether another process could start writing now (it would not wait)."""
    with contextlib.closing(sqlite3.connect(path, timeout=0)) as other:
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            return False
        other.rollback()
        return True


async def test_a_write_transaction_holds_the_write_lock_from_its_first_read(
    database: Database, tmp_path: Path, ran: list[str]
) -> None:
    """What a unit of work reads, no other process changes before it writes (several
    worker processes share the file)."""
    path = tmp_path / "driver.db"
    await database.migrate()
    async with database.writer() as uow:
        ran.clear()
        assert await uow.users.by_id("nobody") is None
        assert len(ran) == 1  # BEGIN IMMEDIATE went with the read, in one call
        assert not _can_write(path)
    assert _can_write(path)
    async with database.transaction() as conn:
        await conn.execute(text("SELECT 1"))
        assert not _can_write(path)
    async with database.reader() as uow:  # a read takes no lock
        assert await uow.users.by_id("nobody") is None
        assert _can_write(path)
    async with database.engine.connect() as conn:  # nor a connection returned by a writer
        await conn.execute(text("SELECT 1"))
        assert _can_write(path)


async def test_a_write_waiting_for_another_process_holds_up_no_read(
    tmp_path: Path, ran: list[str]
) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}", shared=True)
    await database.migrate()
    ran.clear()
    holder = (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(tmp_path / 'driver.db-writer')!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('writing', flush=True)\n"
        "sys.stdin.readline()\n"
    )
    other = await asyncio.create_subprocess_exec(
        sys.executable, "-c", holder, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert other.stdout is not None
        assert other.stdin is not None
        assert await other.stdout.readline() == b"writing\n"

        async def write() -> None:
            async with database.writer() as uow:
                assert await uow.users.by_id("nobody") is None
                await uow.commit()

        async def read() -> None:
            async with database.reader() as uow:
                assert await uow.users.by_id("nobody") is None

        writing = asyncio.create_task(write())
        await asyncio.sleep(0.2)
        reading = asyncio.create_task(read())
        await asyncio.wait([reading], timeout=5)
        read_meanwhile, waited = reading.done(), not writing.done()
        other.stdin.write(b"done\n")  # the other process has written
        await other.stdin.drain()
        await asyncio.wait_for(asyncio.gather(writing, reading), 10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            other.kill()
        await other.wait()
        await database.dispose()
    assert waited, "the write did not wait for the other process"
    assert read_meanwhile, "the read waited for the write"
    # The write and its commit waited on the writers' thread; the rest ran here.
    assert ran.count("sqlite-writes") == 2
    assert set(ran) == {threading.current_thread().name, "sqlite-writes"}
