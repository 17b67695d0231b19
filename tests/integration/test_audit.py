"""The `audit` service and GET /activity: each user's whole history, append-only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from taskstream.adapters.db.tables import activity
from taskstream.adapters.system import new_id
from taskstream.app.events import CloudEvent, EventFactory, EventType, Topic
from taskstream.bootstrap import Container
from tests.conftest import eventually
from tests.integration.conftest import Login, settled

Headers = dict[str, str]

HISTORY = ["task.deleted", "task.reopened", "task.completed", "task.updated", "task.created"]


async def _activity(client: httpx.AsyncClient, headers: Headers, **params: Any) -> Any:
    response = await client.get("/activity", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def _rows(container: Container) -> int:
    async with container.database.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(activity))).scalar_one())


async def _live_task_history(client: httpx.AsyncClient, headers: Headers) -> str:
    """Create, update, complete, reopen and delete one task; its id."""
    response = await client.post("/tasks", headers=headers, json={"title": "Buy milk"})
    assert response.status_code == 201, response.text
    task_id: str = response.json()["id"]
    response = await client.patch(
        f"/tasks/{task_id}", headers=headers, json={"title": "Buy oat milk", "priority": "high"}
    )
    assert response.status_code == 200, response.text
    for step in ("complete", "reopen"):
        response = await client.post(f"/tasks/{task_id}/{step}", headers=headers)
        assert response.status_code == 200, response.text
    response = await client.delete(f"/tasks/{task_id}", headers=headers)
    assert response.status_code == 204, response.text
    return task_id


@pytest.fixture
async def ada(login: Login) -> Headers:
    return await login()


@pytest.fixture
async def history(
    client: httpx.AsyncClient, container: Container, ada: Headers
) -> tuple[str, list[Any]]:
    """A task's five events as Ada's activity shows them, newest first."""
    task_id = await _live_task_history(client, ada)
    await settled(container)
    entries = (await _activity(client, ada))["data"]
    return task_id, entries


async def test_a_task_s_whole_life_is_in_the_activity_newest_first(
    history: tuple[str, list[Any]],
) -> None:
    task_id, entries = history

    assert [e["type"] for e in entries] == HISTORY
    assert {e["task_id"] for e in entries} == {task_id}
    assert len({e["id"] for e in entries}) == 5
    times = [e["time"] for e in entries]
    assert times == sorted(times, reverse=True)
    deleted, reopened, completed, updated, created = entries
    assert created["data"]["task"]["title"] == "Buy milk"
    assert updated["data"]["task"]["title"] == "Buy oat milk"
    assert updated["data"]["changes"] == {"title": "Buy oat milk", "priority": "high"}
    assert completed["data"]["task"]["status"] == "done"
    assert reopened["data"]["task"]["status"] == "open"
    assert deleted["data"]["task"]["id"] == task_id


async def test_the_activity_filters_by_task_type_and_time(
    client: httpx.AsyncClient, ada: Headers, history: tuple[str, list[Any]]
) -> None:
    task_id, entries = history
    other = await client.post("/tasks", headers=ada, json={"title": "Call mum"})
    other_id = other.json()["id"]

    async def six() -> list[Any]:
        data: list[Any] = (await _activity(client, ada))["data"]
        return data if len(data) == 6 else []

    assert (await eventually(six))[0]["task_id"] == other_id

    def types(page: Any) -> list[str]:
        return [e["type"] for e in page["data"]]

    assert types(await _activity(client, ada, task_id=task_id)) == HISTORY
    assert types(await _activity(client, ada, task_id=other_id)) == ["task.created"]
    chosen = await _activity(client, ada, type=["task.created", "task.completed"])
    assert types(chosen) == ["task.created", "task.completed", "task.created"]
    completed = entries[2]
    assert types(await _activity(client, ada, task_id=task_id, since=completed["time"])) == [
        "task.deleted",
        "task.reopened",
        "task.completed",
    ]
    assert types(await _activity(client, ada, task_id=task_id, until=completed["time"])) == [
        "task.updated",
        "task.created",
    ]
    window = await _activity(
        client, ada, since=entries[3]["time"], until=entries[1]["time"], type="task.completed"
    )
    assert [e["id"] for e in window["data"]] == [completed["id"]]


async def test_pages_walk_the_whole_history_once(
    client: httpx.AsyncClient, ada: Headers, history: tuple[str, list[Any]]
) -> None:
    _, entries = history
    walked: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await _activity(client, ada, **params)
        assert len(page["data"]) <= 2
        walked += [e["id"] for e in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert walked == [e["id"] for e in entries]
    assert pages == 3


async def test_nobody_sees_another_user_s_activity(
    client: httpx.AsyncClient, login: Login, history: tuple[str, list[Any]]
) -> None:
    task_id, _ = history
    bob = await login("bob@example.com")

    assert (await _activity(client, bob))["data"] == []
    assert (await _activity(client, bob, task_id=task_id))["data"] == []
    response = await client.get("/activity")
    assert response.status_code == 401


async def test_a_redelivered_event_adds_nothing(
    client: httpx.AsyncClient, container: Container, ada: Headers
) -> None:
    delivered: list[CloudEvent] = []

    async def record(event: CloudEvent) -> None:
        delivered.append(event)

    container.bus.subscribe(
        "test.recorder", Topic.TASK_EVENTS, frozenset({EventType.TASK_CREATED}), record
    )
    response = await client.post("/tasks", headers=ada, json={"title": "Buy milk"})
    assert response.status_code == 201, response.text
    await settled(container)
    [created] = delivered
    assert await _rows(container) == 1

    await container.bus.publish(created)
    await container.bus.publish(CloudEvent.from_json(created.to_json()))
    audit = container.audit
    await audit.record(created)

    assert await _rows(container) == 1
    assert await container.dead_letters.list() == []  # taken as done, not as failures
    [entry] = (await _activity(client, ada))["data"]
    assert entry["id"] == created.id


async def test_reminders_that_fell_due_are_in_the_activity(
    client: httpx.AsyncClient, container: Container, ada: Headers
) -> None:
    response = await client.post("/tasks", headers=ada, json={"title": "Buy milk"})
    task = response.json()
    await settled(container)
    user_id = (await client.get("/users/me", headers=ada)).json()["id"]
    due = EventFactory("taskstream/reminders", new_id, container.clock).make(
        EventType.REMINDER_DUE, user_id, {"task_id": task["id"]}, subject=task["id"]
    )

    await container.bus.publish(due)

    entries = (await _activity(client, ada))["data"]
    assert [(e["type"], e["task_id"]) for e in entries] == [
        ("reminder.due", task["id"]),
        ("task.created", task["id"]),
    ]
    assert entries[0]["id"] == due.id
    assert entries[0]["data"] == {"task_id": task["id"]}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_nothing_can_change_the_activity(
    client: httpx.AsyncClient, ada: Headers, method: str
) -> None:
    response = await client.request(method, "/activity", headers=ada)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"type": "task.changed"}, "type.0"),
        ({"since": "2031-01-01T00:00:00"}, "since"),
        ({"until": "yesterday"}, "until"),
        ({"since": "2031-01-02T00:00:00Z", "until": "2031-01-01T00:00:00Z"}, "until"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "WyJkdWU6YXNjIixbbnVsbCwxXV0"}, "cursor"),  # a tasks-list cursor
    ],
)
async def test_invalid_parameters_are_refused_with_a_problem(
    client: httpx.AsyncClient, ada: Headers, params: dict[str, Any], field: str
) -> None:
    response = await client.get("/activity", headers=ada, params=params)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_the_activity_is_one_read_only_operation_in_the_schema(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200

    operations = response.json()["paths"]["/api/v1/activity"]
    assert list(operations) == ["get"]
    assert operations["get"]["operationId"] == "activity-list"
