"""Unit tests of the `reminders` service (`reconcile` and `fire`) over the embedded shape's
own adapters: the SQL state store and the in-process scheduler on a SQLite file, and the
in-process bus. The scheduler's timer loop is not started: a test fires due jobs itself,
at moments of a clock it sets."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from taskstream.adapters.bus import InProcessEventBus
from taskstream.adapters.db.database import Database
from taskstream.adapters.db.dead_letters import SqlDeadLetterStore
from taskstream.adapters.db.state import SqlStateStore
from taskstream.adapters.scheduler import InProcessScheduler
from taskstream.adapters.system import new_id
from taskstream.app.events import CloudEvent, EventFactory, EventType, Topic
from taskstream.app.ports import Drop, Job, StateItem
from taskstream.app.services.reminders import (
    TASK_FACTS,
    TOMBSTONE_KEPT,
    ReminderService,
    bookkeeping_key,
    job_name,
)
from taskstream.domain.tasks import Due, Reminder, Status, Task

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SOON = NOW + timedelta(hours=1)
LATER = NOW + timedelta(days=1)
_HOUR = timedelta(hours=1)
TASK_ID = "task-1"
USER_ID = "user-1"
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class SetClock:
    """A clock that stays where the test puts it."""

    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


class WatchedState:
    """The SQL state store, with the reads it served counted, and `race` run (once per
    entry) right after a read: what another instance of the service does meanwhile."""

    def __init__(self, store: SqlStateStore) -> None:
        self.store = store
        self.reads = 0
        self.writes = 0
        self.ttls: list[timedelta | None] = []
        self.races: list[Callable[[], Awaitable[None]]] = []

    async def get(self, key: str) -> StateItem | None:
        self.reads += 1
        item = await self.store.get(key)
        if self.races:
            await self.races.pop(0)()
        return item

    async def set(
        self,
        key: str,
        value: dict[str, Any],
        etag: str | None = None,
        *,
        first_write: bool = False,
        ttl: timedelta | None = None,
    ) -> None:
        self.writes += 1
        self.ttls.append(ttl)
        await self.store.set(key, value, etag, first_write=first_write, ttl=ttl)

    async def delete(self, key: str, etag: str | None = None) -> None:
        self.writes += 1
        await self.store.delete(key, etag)


@dataclass
class World:
    clock: SetClock
    state: WatchedState
    scheduler: InProcessScheduler
    bus: InProcessEventBus
    service: ReminderService
    heard: list[CloudEvent]

    async def booked(self) -> dict[str, Any] | None:
        item = await self.state.store.get(bookkeeping_key(TASK_ID))
        return None if item is None else item.value

    async def jobs(self, *moments: datetime) -> dict[datetime, Job | None]:
        return {m: await self.scheduler.get(job_name(TASK_ID, iso(m))) for m in moments}

    async def fire_due(self) -> int:
        return await self.scheduler.fire_due()


@pytest.fixture
def world(database: Database) -> World:
    clock = SetClock(NOW)
    state = WatchedState(SqlStateStore(database, clock))
    scheduler = InProcessScheduler(database, clock)
    bus = InProcessEventBus(SqlDeadLetterStore(database, clock, new_id), first_backoff=0)
    heard: list[CloudEvent] = []

    async def hear(event: CloudEvent) -> None:
        heard.append(event)

    bus.subscribe("test.reminders", Topic.REMINDERS, frozenset({EventType.REMINDER_DUE}), hear)
    events = EventFactory("taskstream/reminders", new_id, clock)
    service = ReminderService(scheduler, state, bus, events, clock)
    return World(clock, state, scheduler, bus, service, heard)


def a_task(*reminders: Reminder, due: Due | None = None, title: str = "Call Bob") -> Task:
    """A task as the api stored it (its rules are tested with the domain, not here)."""
    made = NOW - timedelta(days=1)
    return Task(
        id=TASK_ID,
        owner_id=USER_ID,
        title=title,
        timezone="UTC",
        created_at=made,
        updated_at=made,
        due=due,
        reminders=reminders,
    )


def fact(
    type_: EventType,
    task: Task,
    version: int,
    *,
    changes: dict[str, Any] | None = None,
    at: datetime = NOW,
) -> CloudEvent:
    """The `task-events` fact the api writes for `task` at `version`, made at `at`."""
    task.version = version
    factory = EventFactory("taskstream/api", new_id, SetClock(at))
    event, _ = factory.task_change(type_, task, changes)
    return replace(event, traceparent=TRACE)


# --- the subscription -------------------------------------------------------------------


def test_the_service_takes_every_task_fact_from_task_events(world: World) -> None:
    [handles] = world.service.subscriptions()
    assert handles.name == "reminders.task-events"
    assert handles.topic is Topic.TASK_EVENTS
    assert handles.types == TASK_FACTS
    assert {t for t in EventType if t.topic is Topic.TASK_EVENTS} == TASK_FACTS
    assert handles.handler == world.service.reconcile


def test_names_of_jobs_and_bookkeeping() -> None:
    assert job_name("t9", "2030-01-01T13:00:00Z") == "reminder/t9/2030-01-01T13:00:00Z"
    assert bookkeeping_key("t9") == "reminders/task/t9"


# --- reconcile: what gets booked and scheduled -------------------------------------------


async def test_a_new_task_books_and_schedules_one_job_per_reminder_moment(world: World) -> None:
    due = Due(date(2030, 1, 2), time(9, 0))
    task = a_task(Reminder(at=SOON), Reminder(minutes_before=60), due=due)

    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))

    before = datetime(2030, 1, 2, 8, 0, tzinfo=UTC)
    names = sorted([job_name(TASK_ID, iso(SOON)), job_name(TASK_ID, iso(before))])
    assert await world.booked() == {"version": 1, "jobs": names, "fired": []}
    jobs = await world.jobs(SOON, before)
    assert jobs[SOON] == Job(
        job_name(TASK_ID, iso(SOON)),
        SOON,
        {
            "task_id": TASK_ID,
            "user_id": USER_ID,
            "title": "Call Bob",
            "due_at": "2030-01-02T09:00:00Z",
            "remind_at": iso(SOON),
            "traceparent": TRACE,
        },
    )
    assert jobs[before] is not None
    assert jobs[before].due_at == before
    assert jobs[before].payload["remind_at"] == "2030-01-02T08:00:00Z"


async def test_a_new_task_without_reminders_reads_and_writes_no_state(world: World) -> None:
    await world.service.reconcile(fact(EventType.TASK_CREATED, a_task(), 1))

    assert (world.state.reads, world.state.writes) == (0, 0)


@pytest.mark.parametrize("field", ["title", "description", "priority", "tags", "recurrence"])
async def test_an_update_that_leaves_reminders_and_due_alone_reads_no_state(
    world: World, field: str
) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    task.reminders = ()
    await world.service.reconcile(fact(EventType.TASK_UPDATED, task, 2, changes={"reminders": ()}))
    reads, booked = world.state.reads, await world.booked()

    await world.service.reconcile(fact(EventType.TASK_UPDATED, task, 3, changes={field: "x"}))

    assert world.state.reads == reads
    assert await world.booked() == booked == {"version": 2, "jobs": [], "fired": []}


@pytest.mark.parametrize("field", ["reminders", "due", "timezone"])
async def test_an_update_of_what_reminders_depend_on_cancels_jobs_left_from_before(
    world: World, field: str
) -> None:
    """The update that removed the reminder was lost (it waits among the dead letters):
    the next change of the due still finds the job and cancels it."""
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    task.reminders = ()

    await world.service.reconcile(fact(EventType.TASK_UPDATED, task, 3, changes={field: None}))

    assert await world.booked() == {"version": 3, "jobs": [], "fired": []}
    assert await world.jobs(SOON) == {SOON: None}


async def test_reopening_a_task_without_reminders_and_nothing_booked_writes_no_state(
    world: World,
) -> None:
    task = a_task()
    task.complete(NOW)
    task.reopen(NOW)

    await world.service.reconcile(fact(EventType.TASK_REOPENED, task, 3))

    assert world.state.reads == 1
    assert world.state.writes == 0
    assert await world.booked() is None


async def test_a_task_without_a_version_is_dropped(world: World) -> None:
    event = fact(EventType.TASK_CREATED, a_task(Reminder(at=SOON)), 1)
    del event.data["task"]["version"]

    with pytest.raises(Drop):
        await world.service.reconcile(event)

    assert world.state.reads == 0


async def test_a_moved_reminder_is_a_new_job_and_the_old_one_goes(world: World) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    task.reminders = (Reminder(at=LATER),)

    await world.service.reconcile(
        fact(EventType.TASK_UPDATED, task, 2, changes={"reminders": task.reminders})
    )

    assert await world.booked() == {
        "version": 2,
        "jobs": [job_name(TASK_ID, iso(LATER))],
        "fired": [],
    }
    jobs = await world.jobs(SOON, LATER)
    assert jobs[SOON] is None
    assert jobs[LATER] is not None


async def test_a_change_that_keeps_the_moments_updates_the_jobs_payload(world: World) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    task.title = "Call Bob back"

    await world.service.reconcile(fact(EventType.TASK_UPDATED, task, 2, changes={"title": "x"}))

    [job] = (await world.jobs(SOON)).values()
    assert job is not None
    assert job.payload["title"] == "Call Bob back"
    assert (await world.booked() or {})["version"] == 2


async def test_a_booked_job_whose_moment_has_come_is_left_to_fire(world: World) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    world.clock.moment = SOON  # the job is firing now: it is not replaced meanwhile
    task.title = "Call Bob back"

    await world.service.reconcile(fact(EventType.TASK_UPDATED, task, 2, changes={"title": "x"}))

    [job] = (await world.jobs(SOON)).values()
    assert job is not None
    assert job.payload["title"] == "Call Bob"
    assert (await world.booked() or {})["jobs"] == [job_name(TASK_ID, iso(SOON))]


@pytest.mark.parametrize("at", [NOW, NOW - timedelta(minutes=1)])
async def test_a_reminder_already_past_when_the_change_was_made_is_not_booked(
    world: World, at: datetime
) -> None:
    task = a_task(Reminder(at=SOON))
    task.reminders = (Reminder(at=at),)

    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))

    assert await world.booked() == {"version": 1, "jobs": [], "fired": []}
    assert await world.jobs(at) == {at: None}


async def test_a_reminder_ahead_at_the_change_but_past_now_fires_at_once(world: World) -> None:
    """The event waited in the outbox (say through a restart) until after the moment."""
    task = a_task(Reminder(at=SOON))
    event = fact(EventType.TASK_CREATED, task, 1)
    world.clock.moment = SOON + timedelta(minutes=5)

    await world.service.reconcile(event)

    assert (await world.booked() or {})["jobs"] == [job_name(TASK_ID, iso(SOON))]
    assert await world.fire_due() == 1
    [due] = world.heard
    assert due.data["remind_at"] == iso(SOON)


async def test_a_booked_job_stays_when_a_later_event_comes_after_its_moment(world: World) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    after = SOON + timedelta(minutes=5)
    world.clock.moment = after

    await world.service.reconcile(
        fact(EventType.TASK_UPDATED, task, 2, changes={"title": "x"}, at=after)
    )

    assert (await world.booked() or {})["jobs"] == [job_name(TASK_ID, iso(SOON))]
    assert (await world.jobs(SOON))[SOON] is not None


@pytest.mark.parametrize("closing", [EventType.TASK_COMPLETED, EventType.TASK_DELETED])
async def test_closing_a_task_cancels_its_jobs_even_one_the_bookkeeping_missed(
    world: World, closing: EventType
) -> None:
    task = a_task(Reminder(at=SOON), Reminder(at=LATER))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    # A job scheduled by a write whose bookkeeping was then lost to a race.
    await world.scheduler.schedule(job_name(TASK_ID, iso(LATER + _HOUR)), LATER, {})
    task.reminders = (*task.reminders, Reminder(at=LATER + _HOUR))
    if closing is EventType.TASK_COMPLETED:
        task.complete(NOW)

    await world.service.reconcile(fact(closing, task, 2))

    assert await world.jobs(SOON, LATER, LATER + _HOUR) == {
        SOON: None,
        LATER: None,
        LATER + _HOUR: None,
    }
    if closing is EventType.TASK_DELETED:
        assert await world.booked() == {"version": 2, "deleted": True}
    else:
        assert await world.booked() == {"version": 2, "jobs": [], "fired": []}


async def test_a_done_task_in_an_update_books_nothing(world: World) -> None:
    task = a_task(Reminder(at=SOON))
    task.status = Status.DONE

    await world.service.reconcile(fact(EventType.TASK_UPDATED, task, 1, changes={"title": "x"}))

    assert await world.booked() == {"version": 1, "jobs": [], "fired": []}
    assert await world.jobs(SOON) == {SOON: None}


async def test_deleting_a_task_never_booked_leaves_only_its_tombstone(world: World) -> None:
    task = a_task(Reminder(at=SOON))

    await world.service.reconcile(fact(EventType.TASK_DELETED, task, 1))

    assert world.state.writes == 1
    assert world.state.ttls == [TOMBSTONE_KEPT]
    assert await world.booked() == {"version": 1, "deleted": True}
    assert await world.jobs(SOON) == {SOON: None}


async def test_reopening_brings_back_a_future_reminder_but_not_a_fired_one(world: World) -> None:
    task = a_task(Reminder(at=SOON), Reminder(at=LATER))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    world.clock.moment = SOON
    assert await world.fire_due() == 1
    task.complete(SOON)
    await world.service.reconcile(fact(EventType.TASK_COMPLETED, task, 2, at=SOON))
    task.reopen(SOON)

    await world.service.reconcile(fact(EventType.TASK_REOPENED, task, 3, at=SOON))

    assert await world.booked() == {
        "version": 3,
        "jobs": [job_name(TASK_ID, iso(LATER))],
        "fired": [job_name(TASK_ID, iso(SOON))],
    }
    jobs = await world.jobs(SOON, LATER)
    assert jobs[SOON] is None
    assert jobs[LATER] is not None


async def test_a_removed_reminder_that_fired_is_forgotten(world: World) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    world.clock.moment = SOON
    await world.fire_due()
    task.reminders = (Reminder(at=LATER),)

    await world.service.reconcile(
        fact(EventType.TASK_UPDATED, task, 2, changes={"reminders": ()}, at=SOON)
    )

    assert await world.booked() == {
        "version": 2,
        "jobs": [job_name(TASK_ID, iso(LATER))],
        "fired": [],
    }


async def test_a_fired_reminder_is_not_scheduled_again_by_a_later_change(world: World) -> None:
    task = a_task(Reminder(at=LATER))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    world.clock.moment = LATER
    await world.fire_due()
    world.clock.moment = NOW  # a late event made before the moment, handled after

    await world.service.reconcile(fact(EventType.TASK_UPDATED, task, 2, changes={"title": "x"}))

    assert await world.jobs(LATER) == {LATER: None}
    assert len(world.heard) == 1


@pytest.mark.parametrize("older", [EventType.TASK_CREATED, EventType.TASK_COMPLETED])
async def test_an_event_older_than_the_bookkeeping_changes_nothing(
    world: World, older: EventType
) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    task.reminders = (Reminder(at=LATER),)
    await world.service.reconcile(fact(EventType.TASK_UPDATED, task, 3, changes={"reminders": ()}))
    booked = await world.booked()
    old = a_task(Reminder(at=SOON))
    if older is EventType.TASK_COMPLETED:
        old.complete(NOW)

    await world.service.reconcile(fact(older, old, 2))

    assert await world.booked() == booked
    jobs = await world.jobs(SOON, LATER)
    assert jobs[SOON] is None
    assert jobs[LATER] is not None


async def test_the_same_event_twice_changes_nothing_more(world: World) -> None:
    task = a_task(Reminder(at=SOON))
    event = fact(EventType.TASK_CREATED, task, 1)
    await world.service.reconcile(event)
    booked = await world.booked()

    await world.service.reconcile(event)

    assert await world.booked() == booked
    assert (await world.jobs(SOON))[SOON] is not None


async def test_the_same_event_again_schedules_a_job_a_crash_left_out(world: World) -> None:
    """The bookkeeping is written before the scheduler is told: a crash in between leaves
    a booked job unscheduled, and the redelivered event schedules it."""
    task = a_task(Reminder(at=SOON))
    event = fact(EventType.TASK_CREATED, task, 1)
    await world.service.reconcile(event)
    name = job_name(TASK_ID, iso(SOON))
    await world.scheduler.cancel(name)  # as if the crash came before the scheduler call

    await world.service.reconcile(event)

    assert (await world.jobs(SOON))[SOON] is not None
    assert (await world.booked() or {})["jobs"] == [name]


async def test_bookkeeping_written_without_a_record_of_fired_jobs_is_read(world: World) -> None:
    key = bookkeeping_key(TASK_ID)
    name = job_name(TASK_ID, iso(SOON))
    await world.state.store.set(key, {"version": 1, "jobs": [name]}, first_write=True)
    task = a_task(Reminder(at=SOON))
    task.title = "Call Bob back"

    await world.service.reconcile(fact(EventType.TASK_UPDATED, task, 2, changes={"title": "x"}))

    assert await world.booked() == {"version": 2, "jobs": [name], "fired": []}


async def test_bookkeeping_without_a_version_is_older_than_any_event(world: World) -> None:
    await world.state.store.set(bookkeeping_key(TASK_ID), {"jobs": []}, first_write=True)

    await world.service.reconcile(fact(EventType.TASK_CREATED, a_task(Reminder(at=SOON)), 1))

    assert (await world.booked() or {})["version"] == 1


async def test_bookkeeping_without_a_list_of_jobs_is_read_as_holding_none(world: World) -> None:
    await world.state.store.set(bookkeeping_key(TASK_ID), {"version": 1}, first_write=True)

    await world.service.reconcile(fact(EventType.TASK_CREATED, a_task(Reminder(at=SOON)), 2))

    name = job_name(TASK_ID, iso(SOON))
    assert await world.booked() == {"version": 2, "jobs": [name], "fired": []}
    assert (await world.jobs(SOON))[SOON] is not None


# --- reconcile: a deleted task's tombstone -------------------------------------------------


@pytest.mark.parametrize(
    ("again", "changes"),
    [
        (EventType.TASK_CREATED, None),
        (EventType.TASK_UPDATED, {"reminders": ()}),
        (EventType.TASK_REOPENED, None),
    ],
)
async def test_an_event_of_a_deleted_task_at_its_last_version_books_nothing(
    world: World, again: EventType, changes: dict[str, Any] | None
) -> None:
    """The deletion carries the task at its last version: the fact of that version,
    redelivered after the deletion, is no newer than the deletion."""
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    task.reminders = (Reminder(at=LATER),)
    last = fact(again, task, 2, changes=changes)
    await world.service.reconcile(last)
    await world.service.reconcile(fact(EventType.TASK_DELETED, task, 2))
    assert await world.jobs(SOON, LATER) == {SOON: None, LATER: None}

    await world.service.reconcile(last)
    await world.service.reconcile(fact(EventType.TASK_CREATED, a_task(Reminder(at=SOON)), 1))

    assert await world.booked() == {"version": 2, "deleted": True}
    assert await world.jobs(SOON, LATER) == {SOON: None, LATER: None}
    world.clock.moment = LATER
    assert await world.fire_due() == 0
    assert world.heard == []


async def test_an_old_event_arriving_after_the_deletion_books_nothing(world: World) -> None:
    """Out of order: the task lost its reminder, then was deleted, and only then does the
    event of its creation (with the reminder) arrive, never handled before."""
    created = fact(EventType.TASK_CREATED, a_task(Reminder(at=SOON)), 1)
    task = a_task()
    await world.service.reconcile(fact(EventType.TASK_DELETED, task, 2))

    await world.service.reconcile(created)

    assert await world.booked() == {"version": 2, "deleted": True}
    assert await world.jobs(SOON) == {SOON: None}


async def test_the_deletion_again_cancels_jobs_a_crash_left_behind(world: World) -> None:
    """The tombstone is written before the scheduler is told: a crash in between leaves the
    jobs, and the redelivered deletion cancels them."""
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    job = await world.scheduler.get(job_name(TASK_ID, iso(SOON)))
    assert job is not None
    deleted = fact(EventType.TASK_DELETED, task, 1)
    await world.service.reconcile(deleted)
    await world.scheduler.schedule(job.name, job.due_at, job.payload)  # the crash

    await world.service.reconcile(deleted)

    assert await world.jobs(SOON) == {SOON: None}
    assert await world.booked() == {"version": 1, "deleted": True}


async def test_a_tombstone_expires_and_is_then_forgotten(world: World) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    await world.service.reconcile(fact(EventType.TASK_DELETED, task, 1))
    assert world.state.ttls == [None, TOMBSTONE_KEPT]

    world.clock.moment = NOW + TOMBSTONE_KEPT - timedelta(seconds=1)
    assert await world.booked() == {"version": 1, "deleted": True}
    world.clock.moment = NOW + TOMBSTONE_KEPT
    assert await world.booked() is None
    assert await world.state.store.purge() == 1


# --- reconcile: another instance writes the bookkeeping meanwhile ----------------------


async def test_a_newer_event_handled_meanwhile_wins_over_an_older_one(world: World) -> None:
    """Two instances: the older event read the bookkeeping, then the newer one wrote it."""
    task = a_task(Reminder(at=SOON))
    created = fact(EventType.TASK_CREATED, task, 1)
    newer = a_task(Reminder(at=LATER))
    moved = fact(EventType.TASK_UPDATED, newer, 2, changes={"reminders": ()})
    other = ReminderService(world.scheduler, world.state.store, world.bus, _EVENTS, world.clock)
    world.state.races.append(lambda: other.reconcile(moved))

    await world.service.reconcile(created)

    assert world.state.reads == 2  # read, lost the first write, read again, gave way
    assert await world.booked() == {
        "version": 2,
        "jobs": [job_name(TASK_ID, iso(LATER))],
        "fired": [],
    }
    jobs = await world.jobs(SOON, LATER)
    assert jobs[SOON] is None
    assert jobs[LATER] is not None


async def test_an_update_retries_over_a_bookkeeping_changed_meanwhile(world: World) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    name = job_name(TASK_ID, iso(SOON))

    async def fire_meanwhile() -> None:  # the job fired between the read and the write
        await world.service.fire(Job(name, SOON, {"task_id": TASK_ID, "user_id": USER_ID}))

    world.state.races.append(fire_meanwhile)
    task.title = "Call Bob back"

    await world.service.reconcile(fact(EventType.TASK_UPDATED, task, 2, changes={"title": "x"}))

    assert await world.booked() == {"version": 2, "jobs": [], "fired": [name]}
    assert len(world.heard) == 1


async def test_deleting_retries_over_a_bookkeeping_changed_meanwhile(world: World) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))

    async def touch() -> None:
        item = await world.state.store.get(bookkeeping_key(TASK_ID))
        assert item is not None
        await world.state.store.set(bookkeeping_key(TASK_ID), item.value, item.etag)

    world.state.races.append(touch)

    await world.service.reconcile(fact(EventType.TASK_DELETED, task, 2))

    assert world.state.reads == 3  # the created event's, then two for the deletion
    assert await world.booked() == {"version": 2, "deleted": True}
    assert await world.jobs(SOON) == {SOON: None}


async def test_a_bookkeeping_that_keeps_changing_is_given_up_on_after_five_rounds(
    world: World,
) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    key = bookkeeping_key(TASK_ID)

    async def touch() -> None:
        item = await world.state.store.get(key)
        assert item is not None
        await world.state.store.set(key, item.value, item.etag)

    world.state.races.extend([touch] * 6)
    reads = world.state.reads

    with pytest.raises(RuntimeError, match="kept changing"):
        await world.service.reconcile(fact(EventType.TASK_DELETED, task, 2))

    assert world.state.reads - reads == 5
    assert await world.booked() is not None


# --- fire ------------------------------------------------------------------------------


async def test_a_booked_job_fires_once_with_what_the_user_needs(world: World) -> None:
    due = Due(date(2030, 1, 2), time(9, 0))
    task = a_task(Reminder(at=SOON), due=due)
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    fired_at = SOON + timedelta(seconds=2)
    world.clock.moment = fired_at
    name = job_name(TASK_ID, iso(SOON))

    assert await world.fire_due() == 1
    assert await world.fire_due() == 0

    [event] = world.heard
    assert event.type is EventType.REMINDER_DUE
    assert event.id == str(uuid.uuid5(uuid.NAMESPACE_URL, name))
    assert event.source == "taskstream/reminders"
    assert event.userid == USER_ID
    assert event.subject == TASK_ID
    assert event.traceparent == TRACE
    assert event.time == fired_at
    assert event.data == {
        "task_id": TASK_ID,
        "user_id": USER_ID,
        "title": "Call Bob",
        "due_at": "2030-01-02T09:00:00Z",
        "remind_at": iso(SOON),
        "fired_at": "2030-01-01T13:00:02Z",
    }
    assert await world.booked() == {"version": 1, "jobs": [], "fired": [name]}
    assert await world.jobs(SOON) == {SOON: None}


async def test_a_job_fired_twice_publishes_once(world: World) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    job = await world.scheduler.get(job_name(TASK_ID, iso(SOON)))
    assert job is not None

    await world.service.fire(job)
    await world.service.fire(job)

    assert len(world.heard) == 1


async def test_the_same_job_fired_again_before_it_was_forgotten_has_the_same_id(
    world: World,
) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    job = await world.scheduler.get(job_name(TASK_ID, iso(SOON)))
    assert job is not None
    booked = await world.state.store.get(bookkeeping_key(TASK_ID))
    assert booked is not None

    await world.service.fire(job)
    item = await world.state.store.get(bookkeeping_key(TASK_ID))
    assert item is not None
    await world.state.store.set(bookkeeping_key(TASK_ID), booked.value, item.etag)  # a crash
    await world.service.fire(job)

    first, second = world.heard
    assert first.id == second.id


@pytest.mark.parametrize(
    "earlier",
    [
        {"version": 1},  # bookkeeping written before fired jobs were recorded
        {"version": 1, "fired": [job_name(TASK_ID, iso(NOW - _HOUR))]},
    ],
)
async def test_a_fired_job_joins_the_jobs_fired_before(
    world: World, earlier: dict[str, Any]
) -> None:
    name = job_name(TASK_ID, iso(SOON))
    key = bookkeeping_key(TASK_ID)
    await world.state.store.set(key, {**earlier, "jobs": [name]}, first_write=True)

    await world.service.fire(Job(name, SOON, {"task_id": TASK_ID, "user_id": USER_ID}))

    assert len(world.heard) == 1
    assert await world.booked() == {
        "version": 1,
        "jobs": [],
        "fired": sorted([*earlier.get("fired", []), name]),
    }


async def test_a_job_without_title_or_trace_still_fires(world: World) -> None:
    name = job_name(TASK_ID, iso(SOON))
    key = bookkeeping_key(TASK_ID)
    await world.state.store.set(key, {"version": 1, "jobs": [name], "fired": []}, first_write=True)

    await world.service.fire(Job(name, SOON, {"task_id": TASK_ID, "user_id": USER_ID}))

    [event] = world.heard
    assert event.data["title"] == ""
    assert event.data["due_at"] is None
    assert event.data["remind_at"] is None
    assert event.traceparent.startswith("00-")
    assert event.traceparent != TRACE


@pytest.mark.parametrize(
    "payload",
    [
        {"user_id": USER_ID},
        {"task_id": TASK_ID},
        {"task_id": 7, "user_id": USER_ID},
        {"task_id": TASK_ID, "user_id": None},
    ],
)
async def test_a_job_without_its_task_or_user_fires_nothing(
    world: World, payload: dict[str, Any]
) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    reads = world.state.reads

    await world.service.fire(Job(job_name(TASK_ID, iso(SOON)), SOON, payload))

    assert world.heard == []
    assert world.state.reads == reads


async def test_a_job_the_bookkeeping_no_longer_lists_fires_nothing(world: World) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    payload = {"task_id": TASK_ID, "user_id": USER_ID}

    await world.service.fire(Job(job_name(TASK_ID, iso(LATER)), LATER, payload))

    assert world.heard == []
    assert (await world.booked() or {})["jobs"] == [job_name(TASK_ID, iso(SOON))]


async def test_a_job_under_bookkeeping_without_a_list_of_jobs_fires_nothing(
    world: World,
) -> None:
    await world.state.store.set(bookkeeping_key(TASK_ID), {"version": 1}, first_write=True)
    payload = {"task_id": TASK_ID, "user_id": USER_ID}

    await world.service.fire(Job(job_name(TASK_ID, iso(SOON)), SOON, payload))

    assert world.heard == []
    assert await world.booked() == {"version": 1}


async def test_a_fired_job_is_not_forgotten_in_bookkeeping_left_without_jobs_meanwhile(
    world: World,
) -> None:
    name = job_name(TASK_ID, iso(SOON))
    key = bookkeeping_key(TASK_ID)
    await world.state.store.set(key, {"version": 1, "jobs": [name]}, first_write=True)

    async def strip_jobs() -> None:
        item = await world.state.store.get(key)
        assert item is not None
        await world.state.store.set(key, {"version": 2}, item.etag)

    world.state.races.append(strip_jobs)

    await world.service.fire(Job(name, SOON, {"task_id": TASK_ID, "user_id": USER_ID}))

    assert len(world.heard) == 1
    assert await world.booked() == {"version": 2}


async def test_a_job_of_a_deleted_task_fires_nothing(world: World) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    job = await world.scheduler.get(job_name(TASK_ID, iso(SOON)))
    assert job is not None
    await world.service.reconcile(fact(EventType.TASK_DELETED, task, 2))

    await world.service.fire(job)

    assert world.heard == []


async def test_a_fired_job_is_forgotten_even_when_the_task_changed_meanwhile(
    world: World,
) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    job = await world.scheduler.get(job_name(TASK_ID, iso(SOON)))
    assert job is not None
    both = a_task(Reminder(at=SOON), Reminder(at=LATER))
    added = fact(EventType.TASK_UPDATED, both, 2, changes={"reminders": ()})
    other = ReminderService(world.scheduler, world.state.store, world.bus, _EVENTS, world.clock)
    world.state.races.extend([_nothing, lambda: other.reconcile(added)])

    await world.service.fire(job)

    assert len(world.heard) == 1
    assert await world.booked() == {
        "version": 2,
        "jobs": [job_name(TASK_ID, iso(LATER))],
        "fired": [job.name],
    }


async def test_a_job_deleted_meanwhile_is_not_forgotten_twice(world: World) -> None:
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    job = await world.scheduler.get(job_name(TASK_ID, iso(SOON)))
    assert job is not None
    deleted = fact(EventType.TASK_DELETED, task, 2)
    other = ReminderService(world.scheduler, world.state.store, world.bus, _EVENTS, world.clock)
    world.state.races.extend([lambda: other.reconcile(deleted)])

    await world.service.fire(job)

    assert len(world.heard) == 1
    assert await world.booked() == {"version": 2, "deleted": True}  # the tombstone stays


async def test_a_fired_job_that_cannot_be_forgotten_is_not_an_error(world: World) -> None:
    """Raising would make the scheduler fire the job again: a second reminder.due."""
    task = a_task(Reminder(at=SOON))
    await world.service.reconcile(fact(EventType.TASK_CREATED, task, 1))
    job = await world.scheduler.get(job_name(TASK_ID, iso(SOON)))
    assert job is not None
    key = bookkeeping_key(TASK_ID)

    async def touch() -> None:
        item = await world.state.store.get(key)
        assert item is not None
        await world.state.store.set(key, item.value, item.etag)

    world.state.races.extend([_nothing] + [touch] * 6)
    reads = world.state.reads

    await world.service.fire(job)

    assert len(world.heard) == 1
    assert world.state.reads - reads == 1 + 5
    assert (await world.booked() or {})["jobs"] == [job.name]


_EVENTS = EventFactory("taskstream/reminders", new_id, SetClock(NOW))


async def _nothing() -> None:
    return None
