"""The notification inbox: fed by the notifier, read and marked through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from taskstream.adapters.system import new_id
from taskstream.app.events import CloudEvent, EventType
from taskstream.bootstrap import Container
from tests.conftest import eventually
from tests.integration.conftest import Login

Headers = dict[str, str]


@pytest.fixture
async def ada(login: Login) -> Headers:
    return await login()


@pytest.fixture
async def bob(login: Login) -> Headers:
    return await login("bob@example.com")


async def _user_id(client: httpx.AsyncClient, headers: Headers) -> str:
    response = await client.get("/users/me", headers=headers)
    assert response.status_code == 200, response.text
    user_id: str = response.json()["id"]
    return user_id


def _reminder(user_id: str, task_id: str, remind_at: str, title: str = "Call mum") -> CloudEvent:
    """A `reminder.due` as the reminders service publishes it (a new event id each time)."""
    now = datetime.now(UTC)
    return CloudEvent(
        id=new_id(),
        type=EventType.REMINDER_DUE,
        source="taskstream/reminders",
        userid=user_id,
        data={
            "task_id": task_id,
            "user_id": user_id,
            "title": title,
            "due_at": None,
            "remind_at": remind_at,
            "fired_at": now.isoformat(),
        },
        time=now,
        subject=task_id,
    )


async def _inbox(client: httpx.AsyncClient, headers: Headers, **params: Any) -> Any:
    response = await client.get("/notifications", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_reminder_that_fires_with_no_client_open_waits_in_the_inbox(
    client: httpx.AsyncClient, container: Container, ada: Headers
) -> None:
    at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    created = await client.post(
        "/tasks", headers=ada, json={"title": "Take the cake out", "reminders": [{"at": at}]}
    )
    assert created.status_code == 201, created.text
    task = created.json()

    async def arrived() -> Any:
        return (await _inbox(client, ada))["data"]

    [entry] = await eventually(arrived, within=15)
    assert entry["kind"] == "reminder"
    assert entry["task_id"] == task["id"]
    assert entry["title"] == "Take the cake out"
    assert entry["read_at"] is None
    assert entry["data"]["remind_at"] == task["reminders"][0]["remind_at"].replace("+00:00", "Z")
    assert (await _inbox(client, ada))["unread"] == 1


async def test_a_reminder_delivered_twice_is_in_the_inbox_once(
    client: httpx.AsyncClient, container: Container, ada: Headers
) -> None:
    user_id = await _user_id(client, ada)
    task_id = new_id()
    await container.bus.publish(_reminder(user_id, task_id, "2031-03-10T07:30:00Z"))
    await container.bus.publish(_reminder(user_id, task_id, "2031-03-10T07:30:00Z"))

    inbox = await _inbox(client, ada)
    assert [e["task_id"] for e in inbox["data"]] == [task_id]
    assert inbox["unread"] == 1


async def test_pages_go_newest_first_and_end(
    client: httpx.AsyncClient, container: Container, ada: Headers
) -> None:
    user_id = await _user_id(client, ada)
    titles = ["first", "second", "third"]
    for minute, title in enumerate(titles):
        remind_at = f"2031-03-10T07:3{minute}:00Z"
        await container.bus.publish(_reminder(user_id, new_id(), remind_at, title))

    first = await _inbox(client, ada, limit=2)
    assert [e["title"] for e in first["data"]] == ["third", "second"]
    assert first["unread"] == 3
    assert first["next_cursor"]
    rest = await _inbox(client, ada, limit=2, cursor=first["next_cursor"])
    assert [e["title"] for e in rest["data"]] == ["first"]
    assert rest["next_cursor"] is None

    refused = await client.get("/notifications", headers=ada, params={"cursor": "nonsense"})
    assert refused.status_code == 422
    assert refused.json()["code"] == "validation_failed"
    assert refused.json()["errors"][0]["code"] == "cursor_invalid"


async def test_marking_read_one_and_all_and_only_ones_own(
    client: httpx.AsyncClient, container: Container, ada: Headers, bob: Headers
) -> None:
    ada_id, bob_id = await _user_id(client, ada), await _user_id(client, bob)
    for minute in range(3):
        await container.bus.publish(_reminder(ada_id, new_id(), f"2031-03-10T07:3{minute}:00Z"))
    await container.bus.publish(_reminder(bob_id, new_id(), "2031-03-10T07:30:00Z"))
    newest, *_ = (await _inbox(client, ada))["data"]
    bobs = (await _inbox(client, bob))["data"][0]

    marked = await client.post(f"/notifications/{newest['id']}/read", headers=ada)
    assert marked.status_code == 200, marked.text
    read_at = marked.json()["read_at"]
    assert read_at is not None
    again = await client.post(f"/notifications/{newest['id']}/read", headers=ada)
    assert again.json()["read_at"] == read_at
    unread = await _inbox(client, ada, unread=True)
    assert unread["unread"] == 2
    assert newest["id"] not in [e["id"] for e in unread["data"]]

    # Another user's notification answers as a missing one.
    for missing in (bobs["id"], new_id()):
        response = await client.post(f"/notifications/{missing}/read", headers=ada)
        assert response.status_code == 404
        assert response.json()["code"] == "notification_not_found"

    everything = await client.post("/notifications/read", headers=ada)
    assert everything.json() == {"marked": 2}
    assert (await _inbox(client, ada))["unread"] == 0
    assert (await _inbox(client, ada, unread=True))["data"] == []
    assert (await _inbox(client, bob))["unread"] == 1


async def test_the_inbox_needs_a_log_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/notifications")
    assert response.status_code == 401
