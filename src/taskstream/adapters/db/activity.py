"""The activity log of the `audit` service over a SQL table: insert-if-absent, keyset reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, or_, select

from taskstream.adapters.db.tables import activity
from taskstream.app.events import CloudEvent
from taskstream.app.services.audit import ActivityEntry, ActivityPage, ActivityQuery

if TYPE_CHECKING:
    from taskstream.adapters.db.database import Database


class SqlActivityLog:
    """Entries are only ever inserted; a second insert of an event id does nothing."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def append(self, event: CloudEvent) -> bool:
        return await self._database.insert_new(activity, activity.c.event_id, _row(event))

    async def append_all(self, events: list[CloudEvent]) -> None:
        await self._database.insert_all_new(
            activity, activity.c.event_id, [_row(event) for event in events]
        )

    async def find(self, user_id: str, query: ActivityQuery) -> ActivityPage:
        where: list[ColumnElement[bool]] = [activity.c.user_id == user_id]
        if query.task_id is not None:
            where.append(activity.c.task_id == query.task_id)
        if query.types:
            where.append(activity.c.type.in_(sorted(query.types)))
        if query.since is not None:
            where.append(activity.c.time >= query.since)
        if query.until is not None:
            where.append(activity.c.time < query.until)
        if query.after is not None:
            moment, seq = query.after
            where.append(
                or_(
                    activity.c.time < moment,
                    and_(activity.c.time == moment, activity.c.seq < seq),
                )
            )
        statement = (
            select(activity)
            .where(*where)
            .order_by(activity.c.time.desc(), activity.c.seq.desc())
            .limit(query.limit + 1)
        )
        async with self._database.read() as conn:
            rows = (await conn.execute(statement)).all()
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        next_after = (rows[-1].time, rows[-1].seq) if more else None
        return ActivityPage([_entry(row._mapping) for row in rows], next_after)


def _row(event: CloudEvent) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "user_id": event.userid,
        "task_id": event.subject,
        "type": event.type.value,
        "time": event.time,
        "data": event.data,
    }


def _entry(row: Any) -> ActivityEntry:
    return ActivityEntry(
        event_id=row["event_id"],
        type=row["type"],
        task_id=row["task_id"],
        time=row["time"],
        data=row["data"],
    )
