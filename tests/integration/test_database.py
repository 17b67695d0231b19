"""What the database adapter asks of PostgreSQL for its reads and writes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event

from taskstream.adapters.db.database import Database


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A database of its own: no background loop takes connections from its pool."""
    if database_url.startswith("sqlite"):
        pytest.skip("about PostgreSQL only")
    database = Database(database_url)
    yield database
    await database.dispose()


@contextlib.contextmanager
def _in_transaction(database: Database) -> Iterator[Callable[[], bool]]:
    """Whether the server holds the connection last taken from the pool in a transaction."""
    taken: list[Any] = []

    def take(dbapi_connection: Any, *_: Any) -> None:
        taken.append(dbapi_connection)

    pool = database.engine.sync_engine.pool
    event.listen(pool, "checkout", take)
    try:
        yield lambda: bool(taken[-1].driver_connection.is_in_transaction())
    finally:
        event.remove(pool, "checkout", take)


async def test_a_read_opens_no_transaction(database: Database) -> None:
    """A read is its statements alone: no BEGIN before them and no ROLLBACK after, two
    round trips of three for a read of one statement."""
    with _in_transaction(database) as in_transaction:
        async with database.read() as conn:
            await conn.exec_driver_sql("SELECT 1")
            assert not in_transaction()
        async with database.reader() as uow:
            assert await uow.users.by_id("nobody") is None
            assert not in_transaction()
        # The pool hands connections back as they were: writes still get their transaction.
        for _ in range(3):
            async with database.writer() as uow:
                await uow.users.by_id("nobody")
                assert in_transaction()
            async with database.transaction() as conn:
                await conn.exec_driver_sql("SELECT 1")
                assert in_transaction()


async def test_the_search_functions_keep_their_plans(database: Database) -> None:
    """PostgreSQL plans a LANGUAGE sql function that it cannot inline again on every call
    from a new statement (every insert and update of a task, for the search column); a
    PL/pgSQL one, once per session."""
    async with database.read() as conn:
        languages = dict(
            (
                await conn.exec_driver_sql(
                    "SELECT p.proname, l.lanname FROM pg_proc p JOIN pg_language l "
                    "ON l.oid = p.prolang WHERE p.proname LIKE 'taskstream\\_%'"
                )
            ).all()
        )
    assert languages == {
        "taskstream_unaccent": "plpgsql",
        "taskstream_search_vector": "plpgsql",
        "taskstream_search_query": "plpgsql",
    }
