"""The `recurring` service: completing a repeating task brings the next one, exactly once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from taskstream.adapters.system import SystemClock
from taskstream.app.events import CloudEvent, EventFactory, EventType, Topic
from taskstream.app.ports import Drop
from taskstream.app.services.recurring import RecurringService
from taskstream.bootstrap import Container
from tests.conftest import eventually
from tests.integration.conftest import Login, settled

Headers = dict[str, str]

DAILY: dict[str, Any] = {
    "title": "Water the plants",
    "priority": "high",
    "tags": ["home", "garden"],
    "description": "The ones on the balcony too",
    "due_date": "2031-03-10",
    "due_time": "09:00",
    "reminders": [{"minutes_before": 30}, {"at": "2031-03-10T06:00:00Z"}],
    "recurrence": {"rule": "FREQ=DAILY"},
}


async def _series(client: httpx.AsyncClient, headers: Headers, series_id: str) -> list[Any]:
    response = await client.get("/tasks", headers=headers, params={"limit": 200})
    assert response.status_code == 200, response.text
    tasks = [t for t in response.json()["data"] if t["series_id"] == series_id]
    return sorted(tasks, key=lambda t: t["occurrence"])


async def _create(client: httpx.AsyncClient, headers: Headers, body: dict[str, Any]) -> Any:
    response = await client.post("/tasks", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def _post(client: httpx.AsyncClient, headers: Headers, path: str) -> Any:
    response = await client.post(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _recorder(container: Container) -> list[CloudEvent]:
    seen: list[CloudEvent] = []

    async def record(event: CloudEvent) -> None:
        seen.append(event)

    container.bus.subscribe(
        "test.recorder", Topic.TASK_EVENTS, frozenset({EventType.TASK_COMPLETED}), record
    )
    return seen


@pytest.fixture
async def ada(login: Login) -> Headers:
    return await login()


async def test_completing_a_daily_task_creates_the_next_one_like_it(
    client: httpx.AsyncClient, container: Container, ada: Headers
) -> None:
    first = await _create(client, ada, DAILY)
    assert first["series_id"] == first["id"]

    await _post(client, ada, f"/tasks/{first['id']}/complete")

    async def two() -> list[Any]:
        tasks = await _series(client, ada, first["id"])
        return tasks if len(tasks) == 2 else []

    done, following = await eventually(two)
    await settled(container)
    assert len(await _series(client, ada, first["id"])) == 2
    assert done["id"] == first["id"]
    assert done["status"] == "done"
    assert following["status"] == "open"
    assert following["occurrence"] == 2
    assert following["due_date"] == "2031-03-11"
    assert following["due_time"] == "09:00:00"
    assert following["due_at"] == "2031-03-11T08:00:00Z"
    assert following["title"] == DAILY["title"]
    assert following["description"] == DAILY["description"]
    assert following["priority"] == "high"
    assert following["tags"] == ["garden", "home"]
    assert following["recurrence"] == {"rule": "FREQ=DAILY", "anchor": "due"}
    assert following["reminders"] == [
        {"at": None, "minutes_before": 30, "remind_at": "2031-03-11T07:30:00Z"},
        {"at": "2031-03-11T06:00:00Z", "minutes_before": None, "remind_at": "2031-03-11T06:00:00Z"},
    ]

    # Completing the new occurrence brings the third.
    await _post(client, ada, f"/tasks/{following['id']}/complete")

    async def three() -> list[Any]:
        tasks = await _series(client, ada, first["id"])
        return tasks if len(tasks) == 3 else []

    third = (await eventually(three))[2]
    assert third["occurrence"] == 3
    assert third["due_date"] == "2031-03-12"
    assert third["status"] == "open"


async def test_a_completion_delivered_twice_creates_one_next_task(
    client: httpx.AsyncClient, container: Container, ada: Headers
) -> None:
    completions = _recorder(container)
    first = await _create(client, ada, DAILY)
    await _post(client, ada, f"/tasks/{first['id']}/complete")
    await settled(container)
    [completed] = completions
    assert len(await _series(client, ada, first["id"])) == 2

    await container.bus.publish(completed)
    await container.bus.publish(CloudEvent.from_json(completed.to_json()))
    service = container.recurring
    await service.schedule_next_occurrence(completed)
    await settled(container)

    tasks = await _series(client, ada, first["id"])
    assert [t["occurrence"] for t in tasks] == [1, 2]
    assert await container.dead_letters.list() == []  # handled, not failed


async def test_reopening_and_completing_again_creates_no_second_next_task(
    client: httpx.AsyncClient, container: Container, ada: Headers
) -> None:
    first = await _create(client, ada, DAILY)
    await _post(client, ada, f"/tasks/{first['id']}/complete")
    await settled(container)

    await _post(client, ada, f"/tasks/{first['id']}/reopen")
    await _post(client, ada, f"/tasks/{first['id']}/complete")
    await settled(container)

    tasks = await _series(client, ada, first["id"])
    assert [(t["occurrence"], t["status"]) for t in tasks] == [(1, "done"), (2, "open")]
    assert await container.dead_letters.list() == []


async def test_a_rule_with_a_count_stops_after_its_last_occurrence(
    client: httpx.AsyncClient, container: Container, ada: Headers
) -> None:
    first = await _create(client, ada, {**DAILY, "recurrence": {"rule": "FREQ=DAILY;COUNT=2"}})
    await _post(client, ada, f"/tasks/{first['id']}/complete")
    await settled(container)
    _, second = await _series(client, ada, first["id"])
    assert second["occurrence"] == 2

    await _post(client, ada, f"/tasks/{second['id']}/complete")
    await settled(container)

    tasks = await _series(client, ada, first["id"])
    assert [(t["occurrence"], t["status"]) for t in tasks] == [(1, "done"), (2, "done")]


async def test_a_task_whose_rule_was_removed_does_not_come_back(
    client: httpx.AsyncClient, container: Container, ada: Headers
) -> None:
    completions = _recorder(container)
    first = await _create(client, ada, DAILY)
    response = await client.patch(f"/tasks/{first['id']}", headers=ada, json={"recurrence": None})
    assert response.status_code == 200, response.text
    assert response.json()["recurrence"] is None

    await _post(client, ada, f"/tasks/{first['id']}/complete")
    await settled(container)

    assert len(completions) == 1  # the completion was delivered, and ignored
    response = await client.get("/tasks", headers=ada, params={"limit": 200})
    assert [t["id"] for t in response.json()["data"]] == [first["id"]]


class _Calls:
    """Records what the service asks of `api` (the port; the real one is tested above)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def create_next_occurrence(self, owner_id: str, task_id: str) -> dict[str, Any] | None:
        self.calls.append((owner_id, task_id))
        return None


def _completed(data: dict[str, Any]) -> CloudEvent:
    return EventFactory("test", lambda: "e-1", SystemClock()).make(
        EventType.TASK_COMPLETED, "u-1", data, subject="t-1"
    )


async def test_only_completions_of_repeating_tasks_ask_for_a_next_one() -> None:
    commands = _Calls()
    service = RecurringService(commands)

    await service.schedule_next_occurrence(_completed({"task": {"id": "t-1", "recurrence": None}}))
    assert commands.calls == []
    rule = {"rule": "FREQ=DAILY", "anchor": "due"}
    await service.schedule_next_occurrence(_completed({"task": {"id": "t-1", "recurrence": rule}}))
    assert commands.calls == [("u-1", "t-1")]


async def test_an_event_without_a_task_is_dropped() -> None:
    service = RecurringService(_Calls())

    with pytest.raises(Drop):
        await service.schedule_next_occurrence(_completed({"nothing": "here"}))
