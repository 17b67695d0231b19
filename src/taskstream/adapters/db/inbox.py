"""The notification inbox over a SQL table: insert-if-absent, keyset reads newest first."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update

from taskstream.adapters.db.tables import notifications
from taskstream.app.inbox import InboxEntry, InboxPage, InboxQuery

if TYPE_CHECKING:
    from taskstream.adapters.db.database import Database


class SqlInbox:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(self, entry: InboxEntry) -> bool:
        return await self._database.insert_new(
            notifications,
            notifications.c.id,
            {
                "id": entry.id,
                "user_id": entry.user_id,
                "kind": entry.kind,
                "task_id": entry.task_id,
                "title": entry.title[:200],
                "data": entry.data,
                "created_at": entry.created_at,
                "read_at": entry.read_at,
            },
        )

    async def page(self, user_id: str, query: InboxQuery) -> InboxPage:
        mine = notifications.c.user_id == user_id
        where: list[ColumnElement[bool]] = [mine]
        if query.unread_only:
            where.append(notifications.c.read_at.is_(None))
        if query.after is not None:
            moment, seq = query.after
            where.append(
                or_(
                    notifications.c.created_at < moment,
                    and_(notifications.c.created_at == moment, notifications.c.seq < seq),
                )
            )
        statement = (
            select(notifications)
            .where(*where)
            .order_by(notifications.c.created_at.desc(), notifications.c.seq.desc())
            .limit(query.limit + 1)
        )
        unread = (
            select(func.count())
            .select_from(notifications)
            .where(mine, notifications.c.read_at.is_(None))
        )
        async with self._database.read() as conn:
            rows = (await conn.execute(statement)).all()
            count = (await conn.execute(unread)).scalar_one()
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        next_after = (rows[-1].created_at, rows[-1].seq) if more else None
        return InboxPage([_entry(row._mapping) for row in rows], count, next_after)

    async def mark_read(self, user_id: str, entry_id: str, at: datetime) -> InboxEntry | None:
        mine = and_(notifications.c.user_id == user_id, notifications.c.id == entry_id)
        async with self._database.transaction() as conn:
            await conn.execute(
                update(notifications)
                .where(mine, notifications.c.read_at.is_(None))
                .values(read_at=at)
            )
            row = (await conn.execute(select(notifications).where(mine))).first()
        return None if row is None else _entry(row._mapping)

    async def mark_all_read(self, user_id: str, at: datetime) -> int:
        async with self._database.transaction() as conn:
            result = await conn.execute(
                update(notifications)
                .where(notifications.c.user_id == user_id, notifications.c.read_at.is_(None))
                .values(read_at=at)
            )
        return result.rowcount


def _entry(row: Any) -> InboxEntry:
    return InboxEntry(
        id=row["id"],
        user_id=row["user_id"],
        kind=row["kind"],
        task_id=row["task_id"],
        title=row["title"],
        data=row["data"],
        created_at=row["created_at"],
        read_at=row["read_at"],
    )
