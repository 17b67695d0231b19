"""The SQLite driver: one trip to the connection's thread per statement, same results.

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
def trips(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """How many calls went to a connection's thread so far."""
    count = 0
    send = sqlite_driver.Connection._execute

    async def counted(self: sqlite_driver.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal count
        count += 1
        return await send(self, fn, *args, **kwargs)

    monkeypatch.setattr(sqlite_driver.Connection, "_execute", counted)
    return lambda: count


def _on_disk(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT id, name FROM t ORDER BY id").fetchall()


async def test_a_read_is_one_trip_and_gives_every_row(
    database: Database, trips: Callable[[], int]
) -> None:
    async with database.transaction() as conn:
        await conn.execute(
            text("INSERT INTO t (name) VALUES (:name)"), [{"name": f"n{i}"} for i in range(70)]
        )
    before = trips()
    async with database.engine.connect() as conn:  # as a unit of work reads
        await conn.begin()
        rows = (await conn.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
    assert trips() - before == 1, "a read makes one trip: no cursor, fetch, close or rollback"
    assert [tuple(row) for row in rows] == [(i + 1, f"n{i}") for i in range(70)]


async def test_a_write_is_a_trip_per_statement_plus_the_commit(
    database: Database, trips: Callable[[], int], tmp_path: Path
) -> None:
    before = trips()
    async with database.transaction() as conn:
        inserted = await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
        updated = await conn.execute(text("UPDATE t SET name = 'b' WHERE name = 'a'"))
    assert trips() - before == 3
    assert inserted.lastrowid == 1
    assert updated.rowcount == 1
    assert _on_disk(tmp_path / "driver.db") == [(1, "b")]


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


def _thread_of_each(database: Database, count: int) -> Any:
    async def one(i: int) -> int:
        async with database.engine.connect() as conn:  # `count` connections open at once
            rows = await conn.execute(text("SELECT :i"), {"i": i})
            await asyncio.sleep(0.01)
            assert rows.scalar_one() == i
            raw = await conn.get_raw_connection()
            thread: int = await raw.driver_connection._execute(threading.get_ident)
            return thread

    return asyncio.gather(*(one(i) for i in range(count)))


async def test_every_connection_reads_on_one_shared_thread(database: Database) -> None:
    threads = set(await _thread_of_each(database, 12))
    assert len(threads) == 1
    assert threading.get_ident() not in threads  # never the event loop's
    assert [t.name for t in threading.enumerate()].count("sqlite") == 1


def test_the_shared_thread_outlives_event_loops_and_engines(tmp_path: Path) -> None:
    async def threads_of_a_new_engine() -> set[int]:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'loops.db'}")
        try:
            return set(await _thread_of_each(database, 3))
        finally:
            await database.dispose()

    first, second = asyncio.run(threads_of_a_new_engine()), asyncio.run(threads_of_a_new_engine())
    assert first == second
    assert len(first) == 1


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
    database: Database, tmp_path: Path, trips: Callable[[], int]
) -> None:
    """What a unit of work reads, no other process changes before it writes (several
    worker processes share the file)."""
    path = tmp_path / "driver.db"
    await database.migrate()
    async with database.writer() as uow:
        before = trips()
        assert await uow.users.by_id("nobody") is None
        assert trips() == before + 1  # BEGIN IMMEDIATE went with the read, in one trip
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


async def test_a_write_waiting_for_another_process_holds_up_no_read(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}", shared=True)
    await database.migrate()
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
