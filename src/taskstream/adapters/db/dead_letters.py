"""Where messages that kept failing wait, to be looked at and replayed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import insert, select, update

from taskstream.adapters.db.tables import dead_letters
from taskstream.app.events import CloudEvent
from taskstream.app.ports import Clock, DeadLetter, IdFactory

if TYPE_CHECKING:
    from taskstream.adapters.db.database import Database


class SqlDeadLetterStore:
    """`DeadLetterStore` over the SQL database."""

    def __init__(self, database: Database, clock: Clock, new_id: IdFactory) -> None:
        self._database = database
        self._clock = clock
        self._new_id = new_id

    async def park(self, subscription: str, event: CloudEvent, error: str, attempts: int) -> str:
        letter_id = self._new_id()
        async with self._database.transaction() as conn:
            await conn.execute(
                insert(dead_letters).values(
                    id=letter_id,
                    subscription=subscription,
                    topic=event.topic.value,
                    event_id=event.id,
                    payload=event.to_dict(),
                    error=error[:4000],
                    attempts=attempts,
                    failed_at=self._clock.now(),
                )
            )
        return letter_id

    async def list(self, *, include_replayed: bool = False, limit: int = 100) -> list[DeadLetter]:
        query = select(dead_letters).order_by(dead_letters.c.failed_at).limit(limit)
        if not include_replayed:
            query = query.where(dead_letters.c.replayed_at.is_(None))
        async with self._database.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_letter(row) for row in rows]

    async def get(self, letter_id: str) -> DeadLetter | None:
        async with self._database.read() as conn:
            row = (
                await conn.execute(select(dead_letters).where(dead_letters.c.id == letter_id))
            ).first()
        return None if row is None else _letter(row)

    async def failed_again(self, letter_id: str, error: str, attempts: int) -> None:
        """A replay failed too: add its attempts and keep the newest error."""
        async with self._database.transaction() as conn:
            await conn.execute(
                update(dead_letters)
                .where(dead_letters.c.id == letter_id)
                .values(
                    error=error[:4000],
                    attempts=dead_letters.c.attempts + attempts,
                    failed_at=self._clock.now(),
                )
            )

    async def mark_replayed(self, letter_id: str) -> None:
        async with self._database.transaction() as conn:
            await conn.execute(
                update(dead_letters)
                .where(dead_letters.c.id == letter_id)
                .values(replayed_at=self._clock.now())
            )


def _letter(row: object) -> DeadLetter:
    mapping = row._mapping  # type: ignore[attr-defined]
    return DeadLetter(
        id=mapping["id"],
        subscription=mapping["subscription"],
        event=CloudEvent.from_dict(mapping["payload"]),
        error=mapping["error"],
        attempts=mapping["attempts"],
        failed_at=mapping["failed_at"],
        replayed_at=mapping["replayed_at"],
    )
