"""The state store port over a SQL table: values with integer ETags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from taskstream.adapters.db.tables import state
from taskstream.app.ports import Clock, ETagMismatch, StateItem

if TYPE_CHECKING:
    from taskstream.adapters.db.database import Database


class SqlStateStore:
    """Keys are namespaced by the caller (`reminders/...`, `notifier/...`)."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock

    async def get(self, key: str) -> StateItem | None:
        async with self._database.engine.connect() as conn:
            row = (
                await conn.execute(select(state.c.value, state.c.etag).where(state.c.key == key))
            ).first()
        return None if row is None else StateItem(row.value, str(row.etag))

    async def set(
        self, key: str, value: dict[str, Any], etag: str | None = None, *, first_write: bool = False
    ) -> None:
        now = self._clock.now()
        async with self._database.transaction() as conn:
            if etag is None and not first_write:
                current = (
                    await conn.execute(select(state.c.etag).where(state.c.key == key))
                ).scalar_one_or_none()
                if current is None:
                    await conn.execute(
                        insert(state).values(key=key, value=value, etag=1, updated_at=now)
                    )
                    return
                etag = str(current)
            if etag is None:  # first write wins
                try:
                    await conn.execute(
                        insert(state).values(key=key, value=value, etag=1, updated_at=now)
                    )
                except IntegrityError as exc:
                    raise ETagMismatch(key) from exc
                return
            if not etag.isdigit():
                raise ETagMismatch(key)
            result = await conn.execute(
                update(state)
                .where(state.c.key == key, state.c.etag == int(etag))
                .values(value=value, etag=int(etag) + 1, updated_at=now)
            )
            if result.rowcount != 1:
                raise ETagMismatch(key)

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
