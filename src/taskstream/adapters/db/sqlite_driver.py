"""aiosqlite with one trip to the connection's thread per statement, not four.

aiosqlite runs every call on a thread of its own; SQLAlchemy's adapter makes four of
them per statement (open a cursor, execute, fetch every row, close the cursor), and
each trip costs a queue put, a wake-up of the event loop through its self-pipe and two
hand-overs of the GIL: more CPU than a small indexed query itself. Here a cursor does
the four in one trip, and a rollback or commit with no transaction open (every read)
makes none. Everything else is aiosqlite's. (A server-side cursor, which the code does
not use, would receive all its rows at once too.)
"""

from __future__ import annotations

import sqlite3
import types
from collections import deque
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

_Outcome = tuple[Any, list[Any], int, int | None, bool]


def _run(conn: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> _Outcome:
    """On the connection's thread: the statement, its rows and what follows from it."""
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
        outcome: _Outcome = await connection._execute(  # type: ignore[no-untyped-call]
            _run, connection._conn, sql, parameters, many
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


class Connection(aiosqlite.Connection):
    transaction_open: bool | None = False
    """Whether SQLite has a transaction open, as of the last statement (None: unknown)."""

    def cursor(self) -> Cursor:  # type: ignore[override]
        return Cursor(self)

    async def commit(self) -> None:
        if self.transaction_open is not False:
            await super().commit()
            self.transaction_open = False

    async def rollback(self) -> None:
        if self.transaction_open is not False:
            await super().rollback()
            self.transaction_open = False


def connect(database: str | Path, *, iter_chunk_size: int = 64, **kwargs: Any) -> Connection:
    def connector() -> sqlite3.Connection:
        connection: sqlite3.Connection = sqlite3.connect(str(database), **kwargs)
        return connection

    return Connection(connector, iter_chunk_size)


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
    return AsyncAdapt_aiosqlite_dbapi(module, sqlite3)
