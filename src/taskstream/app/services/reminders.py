"""The `reminders` service: one scheduler job per future reminder of each open task.

Every fact on `task-events` carries the whole task, so the handler does not apply a
change: it *reconciles*. From the task it computes the jobs that should exist (one per
reminder moment still to come, while the task is open), compares them with its
bookkeeping in the state store (`reminders/task/{task_id}` → `{"version", "jobs",
"fired"}`) and
schedules or cancels the difference. Doing this twice does nothing more, and an event
older than the bookkeeping (a lower task version) is skipped, so a redelivered old event
never brings back a job.

A deletion leaves a tombstone in place of the bookkeeping (`{"version", "deleted"}`, no
jobs), so an event of the deleted task that comes later (redelivered, replayed from the
dead letters, or late) finds it and is skipped, even one of the same version: the
deletion carries the task as it was, at its last version. The tombstone expires after
`TOMBSTONE_KEPT`, longer than any topic (dead letters included) keeps an event.

The bookkeeping is written first (with its ETag) and the scheduler is told afterwards: a
job exists only if the bookkeeping lists it, and `fire` publishes only a job it lists, so
a job left behind by a failure or a race is never seen by a user. A job is named after
its task and moment (`reminder/{task_id}/{remind_at}`), so a moved reminder is a new job.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from taskstream.app.events import CloudEvent, EventFactory, EventType, Topic
from taskstream.app.payloads import TaskFact
from taskstream.app.ports import (
    Clock,
    Drop,
    ETagMismatch,
    EventBus,
    Job,
    Scheduler,
    StateItem,
    StateStore,
)
from taskstream.app.services import Handles

log = logging.getLogger(__name__)

JOB_PREFIX: Final = "reminder/"
TASK_FACTS: Final = frozenset(
    {
        EventType.TASK_CREATED,
        EventType.TASK_UPDATED,
        EventType.TASK_COMPLETED,
        EventType.TASK_REOPENED,
        EventType.TASK_DELETED,
    }
)
_CLOSING: Final = frozenset({EventType.TASK_COMPLETED, EventType.TASK_DELETED})
_WHEN_FIELDS: Final = frozenset({"reminders", "due", "timezone"})
"""The fields of a task that its reminders' moments depend on, named as an update names
its changes (`Task.apply`)."""
_ATTEMPTS: Final = 5
"""Rounds of read-compute-write before giving up on a contended bookkeeping item."""
TOMBSTONE_KEPT: Final = timedelta(days=28)
"""How long a deleted task's tombstone is kept: the longest retention of its events' topics
(the dead-letter topics keep 28 days, `task-events` 7)."""


def job_name(task_id: str, remind_at: str) -> str:
    return f"{JOB_PREFIX}{task_id}/{remind_at}"


def bookkeeping_key(task_id: str) -> str:
    return f"reminders/task/{task_id}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class _Wanted:
    due_at: datetime
    payload: dict[str, Any]


def _jobs_of(fact: TaskFact, traceparent: str) -> dict[str, _Wanted]:
    """A job for every reminder of the task that has a moment, whether past or future."""
    wanted: dict[str, _Wanted] = {}
    for remind_at in fact.remind_at:
        payload = {
            "task_id": fact.task_id,
            "user_id": fact.owner_id,
            "title": fact.title,
            "due_at": fact.due_at,
            "remind_at": remind_at,
            "traceparent": traceparent,
        }
        wanted[job_name(fact.task_id, remind_at)] = _Wanted(
            datetime.fromisoformat(remind_at), payload
        )
    return wanted


def _fact_of(event: CloudEvent) -> tuple[TaskFact, int]:
    fact = TaskFact.of(event)
    if fact.version is None:
        raise Drop(f"{event.type} event {event.id} carries no task version")
    return fact, fact.version


@dataclass(frozen=True, slots=True)
class _Booked:
    """The bookkeeping of a task as read: its version, the jobs it scheduled, the jobs that
    fired already, and whether it is a deleted task's tombstone."""

    version: int = 0
    jobs: frozenset[str] = frozenset()
    fired: frozenset[str] = frozenset()
    deleted: bool = False

    @classmethod
    def of(cls, item: StateItem | None) -> _Booked:
        if item is None:
            return cls()
        value = item.value
        return cls(
            int(value.get("version", 0)),
            frozenset(value.get("jobs", [])),
            frozenset(value.get("fired", [])),
            value.get("deleted") is True,
        )

    def outdates(self, event: CloudEvent, task_version: int) -> bool:
        """Whether the event is older than what is booked: of a lower version, or of the
        deleted task at its last version (the deletion itself again excepted)."""
        if self.deleted and event.type is not EventType.TASK_DELETED:
            return self.version >= task_version
        return self.version > task_version


class ReminderService:
    name = "reminders"

    def __init__(
        self,
        scheduler: Scheduler,
        state: StateStore,
        bus: EventBus,
        events: EventFactory,
        clock: Clock,
        tombstone_kept: timedelta = TOMBSTONE_KEPT,
    ) -> None:
        self._scheduler = scheduler
        self._state = state
        self._bus = bus
        self._events = events
        self._clock = clock
        self._tombstone_kept = tombstone_kept
        scheduler.on_fire(JOB_PREFIX, self.fire)

    def subscriptions(self) -> list[Handles]:
        return [
            Handles(
                f"{self.name}.{Topic.TASK_EVENTS}", Topic.TASK_EVENTS, TASK_FACTS, self.reconcile
            )
        ]

    async def reconcile(self, event: CloudEvent) -> None:
        """Make the task's jobs what its reminders ask for, as of this event's version."""
        fact, task_version = _fact_of(event)
        key = bookkeeping_key(fact.task_id)
        open_ = event.type not in _CLOSING and fact.open
        candidates = _jobs_of(fact, event.traceparent)
        if not candidates and (
            event.type is EventType.TASK_CREATED
            or (event.type is EventType.TASK_UPDATED and not _WHEN_FIELDS & fact.changed)
        ):
            # No reminder now, and none before this change (it left them and the due
            # alone): nothing is booked, nothing to book, no state to read (most tasks).
            return
        deleting = event.type is EventType.TASK_DELETED
        for _ in range(_ATTEMPTS):
            item = await self._state.get(key)
            current = _Booked.of(item)
            if current.outdates(event, task_version):
                log.debug("event %s is older than the bookkeeping of %s", event.id, key)
                return
            if item is None and not candidates and not deleting:
                # Nothing booked and nothing wanted: no state to keep (most tasks).
                return
            booked, fired = current.jobs, current.fired
            now = self._clock.now()
            # A reminder still ahead when the change was made is kept even if its moment
            # has passed since (the event waited in the outbox through a restart): it
            # fires at once. One that fired already never comes back.
            keep = {
                name: job
                for name, job in candidates.items()
                if open_ and name not in fired and (job.due_at > event.time or name in booked)
            }
            try:
                await self._write(
                    key,
                    item,
                    event,
                    task_version,
                    sorted(keep),
                    sorted(fired & candidates.keys()),
                )
            except ETagMismatch:
                continue
            for name, job in keep.items():
                if job.due_at > now or name not in booked:
                    await self._scheduler.schedule(name, job.due_at, job.payload)
            stale = booked if open_ else booked | candidates.keys()
            for name in sorted(stale - keep.keys()):
                await self._scheduler.cancel(name)
            return
        raise RuntimeError(f"{key} kept changing; retry the event later")

    async def _write(
        self,
        key: str,
        item: StateItem | None,
        event: CloudEvent,
        version: int,
        jobs: list[str],
        fired: list[str],
    ) -> None:
        value: dict[str, Any]
        ttl: timedelta | None = None
        if event.type is EventType.TASK_DELETED:
            value, ttl = {"version": version, "deleted": True}, self._tombstone_kept
        else:
            value = {"version": version, "jobs": jobs, "fired": fired}
        if item is None:
            await self._state.set(key, value, first_write=True, ttl=ttl)
        else:
            await self._state.set(key, value, item.etag, ttl=ttl)

    async def fire(self, job: Job) -> None:
        """Publish `reminder.due` for a job the bookkeeping still lists, then forget it."""
        payload = job.payload
        task_id, user_id = payload.get("task_id"), payload.get("user_id")
        if not isinstance(task_id, str) or not isinstance(user_id, str):
            log.error("job %s has no task or user; not firing it", job.name)
            return
        key = bookkeeping_key(task_id)
        if job.name not in _Booked.of(await self._state.get(key)).jobs:
            log.info("job %s is no longer wanted; not firing it", job.name)
            return
        data = {
            "task_id": task_id,
            "user_id": user_id,
            "title": payload.get("title", ""),
            "due_at": payload.get("due_at"),
            "remind_at": payload.get("remind_at"),
            "fired_at": _iso(self._clock.now()),
        }
        # The id derives from the job, so a job fired twice (a crash before `_forget`)
        # publishes the same event twice, which every consumer recognises.
        event = self._events.make(
            EventType.REMINDER_DUE,
            user_id,
            data,
            subject=task_id,
            traceparent=payload.get("traceparent"),
        )
        await self._bus.publish(replace(event, id=str(uuid.uuid5(uuid.NAMESPACE_URL, job.name))))
        await self._forget(key, job.name)

    async def _forget(self, key: str, name: str) -> None:
        for _ in range(_ATTEMPTS):
            item = await self._state.get(key)
            if item is None or name not in item.value.get("jobs", []):
                return  # the task was deleted meanwhile, or this ran already
            jobs = [n for n in item.value["jobs"] if n != name]
            fired = sorted({*item.value.get("fired", []), name})
            try:
                await self._state.set(key, {**item.value, "jobs": jobs, "fired": fired}, item.etag)
            except ETagMismatch:
                continue
            return
        # Raising would make the scheduler fire the job again: a second reminder.due.
        log.warning("could not drop fired job %s from %s", name, key)
