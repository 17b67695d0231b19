"""The state store port over a SQL table: values with integer ETags, and an optional
moment of expiry.

An expired item reads as absent and is replaced by any write to its key; each write that
sets an expiry also deletes the items expired by then, so items written with a `ttl` never
pile up, and there is no timer to run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from taskstream.adapters.db.tables import state
from taskstream.app.ports import Clock, ETagMismatch, StateItem

if TYPE_CHECKING:
    from taskstream.adapters.db.database import Database


def _expired(now: datetime) -> ColumnElement[bool]:
    return state.c.expires_at <= now


class SqlStateStore:
    """Keys are namespaced by the caller (`reminders/...`, `notifier/...`)."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock

    async def get(self, key: str) -> StateItem | None:
        now = self._clock.now()
        async with self._database.read() as conn:
            row = (
                await conn.execute(
                    select(state.c.value, state.c.etag).where(
                        state.c.key == key, or_(state.c.expires_at.is_(None), ~_expired(now))
                    )
                )
            ).first()
        return None if row is None else StateItem(row.value, str(row.etag))

    async def set(
        self,
        key: str,
        value: dict[str, Any],
        etag: str | None = None,
        *,
        first_write: bool = False,
        ttl: timedelta | None = None,
    ) -> None:
        now = self._clock.now()
        row = {"value": value, "updated_at": now, "expires_at": None if ttl is None else now + ttl}
        async with self._database.transaction() as conn:
            # An expired item is gone: the write finds its key free.
            await conn.execute(delete(state).where(state.c.key == key, _expired(now)))
            await self._write(conn, key, row, etag, first_write=first_write)
        if ttl is not None:
            await self.purge()

    @staticmethod
    async def _write(
        conn: AsyncConnection, key: str, row: dict[str, Any], etag: str | None, *, first_write: bool
    ) -> None:
        if etag is None and not first_write:
            current = (
                await conn.execute(select(state.c.etag).where(state.c.key == key))
            ).scalar_one_or_none()
            if current is None:
                await conn.execute(insert(state).values(key=key, etag=1, **row))
                return
            etag = str(current)
        if etag is None:  # first write wins
            try:
                await conn.execute(insert(state).values(key=key, etag=1, **row))
            except IntegrityError as exc:
                raise ETagMismatch(key) from exc
            return
        if not etag.isdigit():
            raise ETagMismatch(key)
        result = await conn.execute(
            update(state)
            .where(state.c.key == key, state.c.etag == int(etag))
            .values(etag=int(etag) + 1, **row)
        )
        if result.rowcount != 1:
            raise ETagMismatch(key)

    async def purge(self) -> int:
        """Delete the items expired by now; how many."""
        async with self._database.transaction() as conn:
            result = await conn.execute(delete(state).where(_expired(self._clock.now())))
        return int(result.rowcount)

    async def delete(self, key: str, etag: str | None = None) -> None:
        async with self._database.transaction() as conn:
            query = delete(state).where(state.c.key == key)
            if etag is not None:
                if not etag.isdigit():
                    raise ETagMismatch(key)
                query = query.where(state.c.etag == int(etag))
            result = await conn.execute(query)
            if etag is not None and result.rowcount != 1:
                raise ETagMismatch(key)
