"""The transactional outbox: events stored with the change, published by a relay after commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pydantic_core
from sqlalchemy import Select, Text, bindparam, cast, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from taskstream.adapters.bus import publish_in_turn
from taskstream.adapters.db.tables import outbox
from taskstream.app.events import CloudEvent, Topic
from taskstream.app.ports import Clock, EventBus
from taskstream.observability import metrics

if TYPE_CHECKING:
    from taskstream.adapters.db.database import Database

log = logging.getLogger(__name__)

_INSERT = insert(outbox)
_MARK_SENT = update(outbox).where(outbox.c.seq.in_(bindparam("seqs", expanding=True)))
"""Sets `sent_at` (a parameter) on the rows of the given seqs."""
_MARK_AT_MOST = 1000
"""Seqs per UPDATE: well within the bound parameters a statement may have."""


class SqlOutboxRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self.topics: set[Topic] = set()
        """The topics this unit of work stored events for."""

    async def add(self, events: list[CloudEvent]) -> None:
        if not events:
            return
        await self._conn.execute(
            _INSERT,
            [
                {
                    "event_id": e.id,
                    "topic": e.topic.value,
                    "partition_key": e.partition_key,
                    "payload": e.to_dict(),
                    "created_at": e.time,
                }
                for e in events
            ],
        )
        self.topics.update(e.topic for e in events)


class OutboxRelay:
    """Publishes unsent outbox rows in order, and marks them sent.

    Each topic has its own loop, so clients' updates never wait behind the services'
    work on facts. A round hands a batch of rows to the bus at once (one bulk publish
    through Dapr); rows of one user form a lane and stay in order. A lane with a row the
    bus did not take stops there and is retried, with backoff, on the next round; nothing
    is marked sent that was not published.

    The rows the rounds published are marked sent together, in one transaction every
    `mark_every` seconds at most (and when the relay stops), whatever their topic: one
    write for many rounds instead of one per round. Until then the relay remembers them
    as published, and no round takes them again. Rows left unmarked by a crash are
    published again after restart, as are rows left unsent, so delivery is at least once.
    """

    def __init__(
        self,
        database: Database,
        bus: EventBus,
        clock: Clock,
        *,
        batch: int = 200,
        poll: float = 1.0,
        keep_sent: timedelta = timedelta(hours=1),
        mark_every: float = 0.1,
    ) -> None:
        self._database = database
        self._bus = bus
        self._clock = clock
        self._signal = database.outbox_ready
        self._wakers: list[asyncio.Event] = []
        self._stopping = False
        self._batch = batch
        self._poll = poll
        self._keep_sent = keep_sent
        self._mark_every = mark_every
        self._published: set[int] = set()
        """Seqs of the rows published but not marked sent yet."""
        self._to_mark = asyncio.Event()
        self._stopped = asyncio.Event()
        self._marking = asyncio.Lock()
        self.published = 0
        self._backlog_counted: dict[Topic, float] = {}
        # Built once: a round's statements differ only in their parameters. The payload
        # comes as text, parsed only for the rows a round publishes: the rows published
        # but not marked yet (up to `mark_every` of them) are read again and left out.
        payload = cast(outbox.c.payload, Text()).label("payload")
        unsent = (
            select(outbox.c.seq, outbox.c.topic, outbox.c.partition_key, payload)
            .where(outbox.c.sent_at.is_(None))
            .order_by(outbox.c.seq)
            .limit(batch)
        )
        self._unsent: dict[Topic | None, Select[Any]] = {
            None: unsent,
            **{topic: unsent.where(outbox.c.topic == topic.value) for topic in Topic},
        }

    def stop(self) -> None:
        """Ask `run` to return after the round in progress (never mid-transaction), once
        the rows published are marked sent."""
        self._stopping = True
        for waker in [*self._wakers, self._to_mark, self._stopped]:
            waker.set()

    async def run(self) -> None:
        """Relay every topic until stopped."""
        await asyncio.gather(
            *(self._run_topic(topic) for topic in Topic), self._mark_published_rounds()
        )
        await self.mark_published()

    async def _mark_published_rounds(self) -> None:
        """Mark the published rows sent, at most every `mark_every` seconds."""
        while not self._stopping:
            await self._to_mark.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), self._mark_every)
            self._to_mark.clear()
            try:
                await self.mark_published()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("marking outbox rows sent failed; will retry")
                self._to_mark.set()

    async def _run_topic(self, topic: Topic) -> None:
        ready = self._signal.listen(topic)
        self._wakers.append(ready)
        failures = 0
        rounds = 0
        while not self._stopping:
            ready.clear()
            try:
                # After a failed round, rows go one by one until a round succeeds: a
                # batch that failed in part may have been taken in part, out of order.
                sent, failed = await self.relay_once(topic, one_by_one=failures > 0)
                failures = failures + 1 if failed else 0
                rounds += 1
                if topic is Topic.TASK_EVENTS and rounds % 600 == 0:
                    await self._forget_sent()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay round failed")
                failures += 1
                sent = 0
            if failures:
                await asyncio.sleep(min(0.1 * 2 ** min(failures, 6), 5.0))
            elif sent < self._batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ready.wait(), self._poll)

    async def relay_once(
        self, topic: Topic | None = None, *, one_by_one: bool = False
    ) -> tuple[int, bool]:
        """One round: publish up to a batch of rows (of one topic, or of all) at once, or
        `one_by_one` (each lane in turn, each row once the one before it was taken).

        Returns (rows sent, a lane failed)."""
        rows = await self._unpublished(topic)
        if not rows:
            if topic is not None:
                metrics.outbox_backlog(topic.value, 0)
            return 0, False
        events = [CloudEvent.from_dict(pydantic_core.from_json(row.payload)) for row in rows]
        if one_by_one:
            not_taken = await publish_in_turn(self._bus.publish, events)
        else:
            not_taken = await self._bus.publish_all(events)
        sent: list[int] = []
        stopped: set[tuple[str, str]] = set()  # lanes with a row not taken: keep their order
        for row, event in zip(rows, events, strict=True):
            lane = (row.topic, row.partition_key)
            if lane in stopped or event.id in not_taken:
                stopped.add(lane)
            else:
                sent.append(row.seq)
        if stopped:
            log.warning("%d outbox lanes failed to publish; will retry", len(stopped))
        if sent:
            self._published.update(sent)
            self._to_mark.set()
            self.published += len(sent)
        if topic is not None:
            await self._measure_backlog(topic, len(rows) - len(sent), full=len(rows) == self._batch)
        return len(sent), bool(stopped)

    async def _measure_backlog(self, topic: Topic, left: int, *, full: bool) -> None:
        """Report the rows of `topic` still unsent: those of this round when it saw them all;
        after a full batch, counted in the table (at most once a second)."""
        if not full:
            metrics.outbox_backlog(topic.value, left)
            return
        now = asyncio.get_running_loop().time()
        if now - self._backlog_counted.get(topic, 0.0) >= 1.0:
            self._backlog_counted[topic] = now
            metrics.outbox_backlog(topic.value, await self.pending(topic))

    async def _unpublished(self, topic: Topic | None) -> list[Any]:
        """Up to a batch of unsent rows, oldest first, without those published already.

        A batch of rows published but not marked yet would hide the rest: they are
        marked first. No marking commits between reading the rows and leaving out those
        published: the rows read unsent before it would count as never published."""
        for _ in range(2):
            async with self._marking, self._database.read() as conn:
                rows = (await conn.execute(self._unsent[topic])).all()
                unpublished = [row for row in rows if row.seq not in self._published]
            if unpublished or len(rows) < self._batch:
                break
            await self.mark_published()
        return unpublished

    async def mark_published(self) -> None:
        """Mark the rows published so far sent, in one transaction."""
        async with self._marking:
            seqs = sorted(self._published)
            if not seqs:
                return
            now = self._clock.now()
            async with self._database.transaction() as conn:
                for i in range(0, len(seqs), _MARK_AT_MOST):
                    chunk = seqs[i : i + _MARK_AT_MOST]
                    await conn.execute(_MARK_SENT, {"seqs": chunk, "sent_at": now})
            self._published.difference_update(seqs)

    async def _forget_sent(self) -> None:
        async with self._database.transaction() as conn:
            await conn.execute(
                delete(outbox).where(outbox.c.sent_at < self._clock.now() - self._keep_sent)
            )

    async def pending(self, topic: Topic | None = None) -> int:
        """How many rows (of `topic`, if given) are not marked sent: those waiting to be
        published, and those published in the last `mark_every` seconds."""
        query = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        if topic is not None:
            query = query.where(outbox.c.topic == topic.value)
        async with self._database.read() as conn:
            return int((await conn.execute(query)).scalar_one())
