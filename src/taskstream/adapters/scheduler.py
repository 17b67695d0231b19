"""The in-process scheduler: named jobs in a table, fired by one timer loop.

A job fires when the clock reaches its moment, never before: the loop sleeps until the
earliest due job (or until a sooner job is scheduled) and then fires every job whose
moment has come. A fired job is deleted only after its handler succeeded, and only if it
was not replaced meanwhile; a failing handler is retried with backoff. Jobs overdue after
a restart fire at once: delivery is at least once, so handlers are idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.expression import Executable

from taskstream.adapters.db.tables import jobs
from taskstream.app.ports import Clock, Job, JobHandler
from taskstream.observability import metrics

if TYPE_CHECKING:
    from taskstream.adapters.db.database import Database

log = logging.getLogger(__name__)


def _upsert(dialect: str, row: dict[str, Any]) -> Executable:
    """Insert the job, or replace the job of that name (a new version, attempts reset)."""

    def replacing(excluded: Any) -> dict[str, Any]:
        return {
            "due_at": excluded.due_at,
            "payload": excluded.payload,
            "version": jobs.c.version + 1,
            "attempts": 0,
        }

    if dialect == "postgresql":
        pg = postgresql.insert(jobs).values(row)
        return pg.on_conflict_do_update(index_elements=[jobs.c.name], set_=replacing(pg.excluded))
    lite = sqlite.insert(jobs).values(row)
    return lite.on_conflict_do_update(index_elements=[jobs.c.name], set_=replacing(lite.excluded))


class InProcessScheduler:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        max_sleep: float = 1.0,
        batch: int = 100,
        retry_backoff: timedelta = timedelta(seconds=1),
        max_backoff: timedelta = timedelta(minutes=5),
    ) -> None:
        self._database = database
        self._clock = clock
        self._max_sleep = max_sleep
        self._batch = batch
        self._retry_backoff = retry_backoff
        self._max_backoff = max_backoff
        self._handlers: list[tuple[str, JobHandler]] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self.fired = 0

    def on_fire(self, prefix: str, handler: JobHandler) -> None:
        self._handlers.append((prefix, handler))

    async def schedule(self, name: str, due_at: datetime, payload: dict[str, Any]) -> None:
        # One upsert: an update-then-insert lets two callers insert the same new name at
        # once, and one of them fail on the primary key (PostgreSQL).
        upsert = _upsert(
            self._database.dialect,
            {"name": name, "due_at": due_at, "payload": payload, "version": 1, "attempts": 0},
        )
        async with self._database.transaction() as conn:
            await conn.execute(upsert)
        self._wake.set()

    async def cancel(self, name: str) -> None:
        async with self._database.transaction() as conn:
            await conn.execute(delete(jobs).where(jobs.c.name == name))

    async def get(self, name: str) -> Job | None:
        async with self._database.read() as conn:
            row = (await conn.execute(select(jobs).where(jobs.c.name == name))).first()
        return None if row is None else Job(row.name, row.due_at, row.payload)

    def stop(self) -> None:
        """Ask `run` to return after the round in progress (never mid-transaction)."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Fire jobs as they fall due, until cancelled."""
        while not self._stopping:
            self._wake.clear()
            try:
                await self.fire_due()
                delay = await self._until_next()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler round failed")
                delay = self._max_sleep
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)

    async def fire_due(self) -> int:
        """Fire every job whose moment has come; how many fired."""
        now = self._clock.now()
        async with self._database.read() as conn:
            rows = (
                await conn.execute(
                    select(jobs)
                    .where(jobs.c.due_at <= now)
                    .order_by(jobs.c.due_at)
                    .limit(self._batch)
                )
            ).all()
        if rows:
            await asyncio.gather(*(self._fire(row) for row in rows))
        return len(rows)

    async def _fire(self, row: Any) -> None:
        handler = next((h for prefix, h in self._handlers if row.name.startswith(prefix)), None)
        if handler is None:
            log.error("no handler for job %s; dropping it", row.name)
            await self._finish(row)
            return
        if row.attempts == 0:  # lateness of the first run; retries wait on purpose
            metrics.reminder_late((self._clock.now() - row.due_at).total_seconds())
        try:
            await handler(Job(row.name, row.due_at, row.payload))
        except Exception:
            attempts = row.attempts + 1
            backoff = min(self._retry_backoff * 2 ** min(attempts - 1, 16), self._max_backoff)
            log.warning("job %s failed (attempt %s); retrying", row.name, attempts, exc_info=True)
            async with self._database.transaction() as conn:
                await conn.execute(
                    update(jobs)
                    .where(jobs.c.name == row.name, jobs.c.version == row.version)
                    .values(due_at=self._clock.now() + backoff, attempts=attempts)
                )
            return
        self.fired += 1
        await self._finish(row)

    async def _finish(self, row: Any) -> None:
        # Only the version that fired: a job replaced while it ran stays scheduled.
        async with self._database.transaction() as conn:
            await conn.execute(
                delete(jobs).where(jobs.c.name == row.name, jobs.c.version == row.version)
            )

    async def _until_next(self) -> float:
        async with self._database.read() as conn:
            earliest = (
                await conn.execute(select(jobs.c.due_at).order_by(jobs.c.due_at).limit(1))
            ).scalar_one_or_none()
        if earliest is None:
            return self._max_sleep
        seconds: float = (earliest - self._clock.now()).total_seconds()
        return max(0.0, min(seconds, self._max_sleep))
