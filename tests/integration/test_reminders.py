"""The `reminders` service: each future reminder of an open task fires once, on time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from taskstream.adapters.db.tables import jobs
from taskstream.app.events import CloudEvent, EventType, Topic
from taskstream.app.ports import Job
from taskstream.app.services.reminders import ReminderService, bookkeeping_key, job_name
from taskstream.bootstrap import Container
from tests.conftest import eventually
from tests.integration.conftest import Login, settled

Headers = dict[str, str]

ON_TIME = timedelta(seconds=1.5)
"""How late a reminder may arrive on a busy machine."""


class Recorder:
    """What the bus delivered on one topic, with the moment it arrived."""

    def __init__(self, container: Container, topic: Topic) -> None:
        self.clock = container.clock
        self.events: list[tuple[CloudEvent, datetime]] = []
        types = frozenset(t for t in EventType if t.topic is topic)
        container.bus.subscribe(f"test.recorder.{topic}", topic, types, self.record)

    async def record(self, event: CloudEvent) -> None:
        self.events.append((event, self.clock.now()))

    def about(self, task_id: str) -> list[tuple[CloudEvent, datetime]]:
        return [(e, at) for e, at in self.events if e.subject == task_id]


@pytest.fixture
async def ada(login: Login) -> Headers:
    return await login()


@pytest.fixture
async def ada_id(client: httpx.AsyncClient, ada: Headers) -> str:
    me = await _ok(await client.get("/users/me", headers=ada))
    assert isinstance(me["id"], str)
    return me["id"]


@pytest.fixture
def due(container: Container) -> Recorder:
    return Recorder(container, Topic.REMINDERS)


@pytest.fixture
def facts(container: Container) -> Recorder:
    return Recorder(container, Topic.TASK_EVENTS)


def _service(container: Container) -> ReminderService:
    return container.reminders


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


LEAD_S = 3.0
"""How far ahead a reminder is set that must be booked, and seen booked, before it fires:
on a busy PostgreSQL the booking can take over a second."""


def _soon(container: Container, seconds: float) -> datetime:
    return container.clock.now() + timedelta(seconds=seconds)


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if status != 204 else None


async def _create(client: httpx.AsyncClient, headers: Headers, **body: Any) -> Any:
    return await _ok(await client.post("/tasks", headers=headers, json=body), 201)


async def _jobs(container: Container, task_id: str) -> dict[str, Job]:
    """The task's jobs in the scheduler's table."""
    async with container.database.engine.connect() as conn:
        rows = await conn.execute(select(jobs).where(jobs.c.name.like(f"reminder/{task_id}/%")))
    return {row.name: Job(row.name, row.due_at, row.payload) for row in rows}


async def _jobs_become(container: Container, task_id: str, names: set[str]) -> dict[str, Job]:
    async def probe() -> list[dict[str, Job]]:
        found = await _jobs(container, task_id)
        return [found] if set(found) == names else []

    [found] = await eventually(probe)
    return found


async def _booked(container: Container, task_id: str) -> dict[str, Any] | None:
    """The bookkeeping's version and scheduled jobs (its record of fired jobs left out)."""
    item = await container.state.get(bookkeeping_key(task_id))
    return None if item is None else {k: v for k, v in item.value.items() if k != "fired"}


async def _fired(container: Container, task_id: str) -> list[str]:
    item = await container.state.get(bookkeeping_key(task_id))
    return [] if item is None else list(item.value.get("fired", []))


async def test_a_reminder_fires_once_on_time_with_what_the_user_needs(
    client: httpx.AsyncClient,
    container: Container,
    ada: Headers,
    ada_id: str,
    due: Recorder,
    facts: Recorder,
) -> None:
    remind_at = _soon(container, LEAD_S)
    task = await _create(client, ada, title="Call Bob", reminders=[{"at": _iso(remind_at)}])
    name = job_name(task["id"], _iso(remind_at))
    await _jobs_become(container, task["id"], {name})
    assert await _booked(container, task["id"]) == {"version": 1, "jobs": [name]}

    async def arrived() -> bool:
        return len(due.events) >= 1

    await eventually(arrived)
    await _jobs_become(container, task["id"], set())  # the job is done with
    await settled(container)

    [(event, at)] = due.about(task["id"])
    assert len(due.events) == 1
    assert remind_at <= at < remind_at + ON_TIME
    assert event.type is EventType.REMINDER_DUE
    assert event.source == "taskstream/reminders"
    assert event.userid == ada_id
    fired_at = event.data.pop("fired_at")
    assert remind_at <= datetime.fromisoformat(fired_at) <= at
    assert fired_at.endswith("Z")
    assert event.data == {
        "task_id": task["id"],
        "user_id": ada_id,
        "title": "Call Bob",
        "due_at": None,
        "remind_at": _iso(remind_at),
    }
    [(created, _)] = facts.about(task["id"])
    assert event.traceparent == created.traceparent  # one trace from the write to the reminder
    assert await _booked(container, task["id"]) == {"version": 1, "jobs": []}
    assert await _fired(container, task["id"]) == [name]


async def test_moving_the_due_date_moves_a_relative_reminder(
    client: httpx.AsyncClient, container: Container, ada: Headers
) -> None:
    task = await _create(
        client,
        ada,
        title="Water the plants",
        due_date="2031-03-10",
        due_time="09:00",
        timezone="Europe/Paris",
        reminders=[{"minutes_before": 30}, {"at": "2031-03-01T08:00:00Z"}],
    )
    fixed = job_name(task["id"], "2031-03-01T08:00:00Z")
    before = job_name(task["id"], "2031-03-10T07:30:00Z")
    found = await _jobs_become(container, task["id"], {before, fixed})
    assert found[before].due_at == datetime(2031, 3, 10, 7, 30, tzinfo=UTC)
    assert found[before].payload["due_at"] == "2031-03-10T08:00:00Z"

    moved = await _ok(
        await client.patch(f"/tasks/{task['id']}", headers=ada, json={"due_date": "2031-03-12"})
    )
    assert moved["due_at"] == "2031-03-12T08:00:00Z"

    after = job_name(task["id"], "2031-03-12T07:30:00Z")
    found = await _jobs_become(container, task["id"], {after, fixed})
    assert await container.scheduler.get(before) is None
    job = await container.scheduler.get(after)
    assert job is not None
    assert job.due_at == datetime(2031, 3, 12, 7, 30, tzinfo=UTC)
    assert job.payload["due_at"] == "2031-03-12T08:00:00Z"
    assert job.payload["remind_at"] == "2031-03-12T07:30:00Z"
    assert await _booked(container, task["id"]) == {"version": 2, "jobs": sorted([after, fixed])}

    # A change that leaves the moments alone keeps the jobs, with the new title.
    await _ok(await client.patch(f"/tasks/{task['id']}", headers=ada, json={"title": "Water"}))

    async def retitled() -> bool:
        job = await container.scheduler.get(after)
        return job is not None and job.payload["title"] == "Water"

    await eventually(retitled)
    assert set(await _jobs(container, task["id"])) == {after, fixed}


async def test_completing_or_deleting_a_task_cancels_its_reminders(
    client: httpx.AsyncClient, container: Container, ada: Headers, due: Recorder
) -> None:
    remind_at = _iso(_soon(container, LEAD_S))
    done = await _create(client, ada, title="Done soon", reminders=[{"at": remind_at}])
    gone = await _create(client, ada, title="Gone soon", reminders=[{"at": remind_at}])
    later = _iso(_soon(container, LEAD_S + 0.5))
    marker = await _create(client, ada, title="Marker", reminders=[{"at": later}])
    await _jobs_become(container, done["id"], {job_name(done["id"], remind_at)})
    await _jobs_become(container, gone["id"], {job_name(gone["id"], remind_at)})

    await _ok(await client.post(f"/tasks/{done['id']}/complete", headers=ada))
    await _ok(await client.delete(f"/tasks/{gone['id']}", headers=ada), 204)

    await _jobs_become(container, done["id"], set())
    await _jobs_become(container, gone["id"], set())
    assert container.clock.now() < datetime.fromisoformat(remind_at)  # cancelled, not fired
    assert await _booked(container, done["id"]) == {"version": 2, "jobs": []}
    assert await _booked(container, gone["id"]) == {"version": 1, "deleted": True}  # tombstone

    async def marker_fired() -> bool:
        return len(due.about(marker["id"])) == 1

    await eventually(marker_fired)  # jobs fire in order: the cancelled ones were due before
    assert [e.subject for e, _ in due.events] == [marker["id"]]


async def test_reopening_a_completed_task_brings_its_future_reminder_back(
    client: httpx.AsyncClient, container: Container, ada: Headers, due: Recorder
) -> None:
    remind_at = _soon(container, LEAD_S)
    task = await _create(client, ada, title="Again", reminders=[{"at": _iso(remind_at)}])
    name = job_name(task["id"], _iso(remind_at))
    await _jobs_become(container, task["id"], {name})
    await _ok(await client.post(f"/tasks/{task['id']}/complete", headers=ada))
    await _jobs_become(container, task["id"], set())

    await _ok(await client.post(f"/tasks/{task['id']}/reopen", headers=ada))

    await _jobs_become(container, task["id"], {name})
    assert await _booked(container, task["id"]) == {"version": 3, "jobs": [name]}

    async def arrived() -> bool:
        return len(due.events) >= 1

    await eventually(arrived)
    await _jobs_become(container, task["id"], set())
    [(event, at)] = due.events
    assert event.subject == task["id"]
    assert remind_at <= at < remind_at + ON_TIME


async def test_the_same_task_event_twice_makes_one_job_per_reminder(
    client: httpx.AsyncClient, container: Container, ada: Headers, facts: Recorder
) -> None:
    task = await _create(
        client,
        ada,
        title="Twice",
        due_date="2031-03-10",
        due_time="09:00",
        timezone="UTC",
        reminders=[{"minutes_before": 60}, {"at": "2031-03-10T08:00:00Z"}],
    )
    expected = {
        job_name(task["id"], "2031-03-10T08:00:00Z"),  # both reminders: one moment, one job
    }
    await settled(container)
    assert set(await _jobs(container, task["id"])) == expected
    booked = await _booked(container, task["id"])
    [(created, _)] = facts.about(task["id"])

    service = _service(container)
    await service.reconcile(created)
    await service.reconcile(CloudEvent.from_json(created.to_json()))
    await container.bus.publish(created)
    await settled(container)

    assert set(await _jobs(container, task["id"])) == expected
    assert await _booked(container, task["id"]) == booked
    assert await container.dead_letters.list() == []


async def test_an_older_event_after_a_newer_one_changes_nothing(
    client: httpx.AsyncClient, container: Container, ada: Headers, facts: Recorder
) -> None:
    task = await _create(client, ada, title="Moved", reminders=[{"at": "2031-03-01T08:00:00Z"}])
    await _ok(
        await client.patch(
            f"/tasks/{task['id']}",
            headers=ada,
            json={"reminders": [{"at": "2031-04-01T08:00:00Z"}]},
        )
    )
    await _ok(await client.post(f"/tasks/{task['id']}/complete", headers=ada))
    await _ok(await client.post(f"/tasks/{task['id']}/reopen", headers=ada))
    newest = {job_name(task["id"], "2031-04-01T08:00:00Z")}
    await settled(container)
    assert set(await _jobs(container, task["id"])) == newest
    booked = await _booked(container, task["id"])
    assert booked == {"version": 4, "jobs": sorted(newest)}
    created, updated, completed, _ = (e for e, _ in facts.about(task["id"]))

    service = _service(container)
    for old in (created, completed, updated):  # would bring back, cancel, keep
        await service.reconcile(old)

    assert set(await _jobs(container, task["id"])) == newest
    assert await _booked(container, task["id"]) == booked


async def test_a_job_the_bookkeeping_does_not_list_fires_nothing(
    client: httpx.AsyncClient, container: Container, ada: Headers, ada_id: str, due: Recorder
) -> None:
    task = await _create(client, ada, title="Stale", reminders=[{"at": "2031-03-01T08:00:00Z"}])
    await settled(container)
    stale = Job(
        job_name(task["id"], "2031-02-01T08:00:00Z"),
        container.clock.now(),
        {"task_id": task["id"], "user_id": ada_id, "remind_at": "2031-02-01T08:00:00Z"},
    )

    await _service(container).fire(stale)  # left behind by a race, say

    assert due.events == []
    listed = job_name(task["id"], "2031-03-01T08:00:00Z")
    assert await _booked(container, task["id"]) == {"version": 1, "jobs": [listed]}


async def test_events_of_a_deleted_task_delivered_again_bring_back_no_reminder(
    client: httpx.AsyncClient, container: Container, ada: Headers, facts: Recorder
) -> None:
    task = await _create(client, ada, title="Gone", reminders=[{"at": "2031-03-01T08:00:00Z"}])
    await _ok(
        await client.patch(
            f"/tasks/{task['id']}",
            headers=ada,
            json={"reminders": [{"at": "2031-04-01T08:00:00Z"}]},
        )
    )
    await _ok(await client.delete(f"/tasks/{task['id']}", headers=ada), 204)
    await settled(container)
    created, updated, deleted = (e for e, _ in facts.about(task["id"]))
    assert deleted.type is EventType.TASK_DELETED
    assert await _jobs(container, task["id"]) == {}

    for old in (updated, created, deleted, updated):  # as the broker redelivers them
        await container.bus.publish(CloudEvent.from_json(old.to_json()))
    await settled(container)

    assert await _jobs(container, task["id"]) == {}
    assert await _booked(container, task["id"]) == {"version": 2, "deleted": True}
    assert await container.dead_letters.list() == []
