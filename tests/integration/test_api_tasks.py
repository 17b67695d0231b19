"""Task create / read / update / complete / reopen / delete, and who may touch what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Login

Headers = dict[str, str]


async def _create(client: httpx.AsyncClient, headers: Headers, **fields: Any) -> dict[str, Any]:
    response = await client.post("/tasks", json={"title": "Buy milk", **fields}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_returns_the_task_with_etag_and_location(
    client: httpx.AsyncClient, login: Login
) -> None:
    ada = await login()
    response = await client.post(
        "/tasks",
        headers=ada,
        json={
            "title": "  Pay rent  ",
            "description": "Transfer before noon",
            "priority": "high",
            "tags": ["Home", "home", "Money"],
            "due_date": "2031-03-01",
            "due_time": "11:00",
            "reminders": [{"minutes_before": 60}, {"at": "2031-02-28T09:00:00+01:00"}],
            "recurrence": {"rule": "freq=monthly", "anchor": "due"},
        },
    )
    assert response.status_code == 201
    task = response.json()
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/api/v1/tasks/{task['id']}"
    assert task["title"] == "Pay rent"
    assert task["tags"] == ["home", "money"]
    assert task["timezone"] == "Europe/Paris"  # the user's zone by default
    assert task["due_at"] == "2031-03-01T10:00:00Z"
    assert [r["remind_at"] for r in task["reminders"]] == [
        "2031-03-01T09:00:00Z",
        "2031-02-28T08:00:00Z",
    ]
    assert task["recurrence"] == {"rule": "FREQ=MONTHLY", "anchor": "due"}
    assert task["series_id"] == task["id"]
    assert (task["status"], task["version"], task["overdue"]) == ("open", 1, False)


async def test_an_all_day_task_is_due_at_the_end_of_its_day(
    client: httpx.AsyncClient, login: Login
) -> None:
    ada = await login(timezone="America/New_York")
    task = await _create(client, ada, due_date="2031-07-04")
    assert task["due_time"] is None
    assert task["due_at"] == "2031-07-05T04:00:00Z"


async def test_invalid_tasks_are_refused_with_every_problem(
    client: httpx.AsyncClient, login: Login
) -> None:
    ada = await login()
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    response = await client.post(
        "/tasks",
        headers=ada,
        json={
            "title": "x" * 201,
            "tags": ["ok", "y" * 41],
            "reminders": [{"at": past}, {"minutes_before": 5}],
            "recurrence": {"rule": "FREQ=SECONDLY"},
        },
    )
    assert response.status_code == 422
    problems = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert problems == {
        ("title", "title_too_long"),
        ("tags", "tag_length"),
        ("reminders.0", "reminder_in_past"),
        ("reminders.1", "reminder_needs_due"),
        ("recurrence.rule", "rule_invalid"),
    }
    listed = await client.get("/tasks", headers=ada)
    assert listed.json()["data"] == []  # nothing half-written


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "a", "priority": "extreme"}, "priority"),
        ({"title": "a", "due_date": "2031-02-30"}, "due_date"),
        ({"title": "a", "due_time": "10:00"}, "due_time"),
        ({"title": "a", "reminders": [{"at": "2031-01-01T10:00:00"}]}, "reminders.0.at"),
        ({"title": "a", "unknown": 1}, "unknown"),
        ({}, "title"),
    ],
)
async def test_malformed_fields_name_the_field(
    client: httpx.AsyncClient, login: Login, body: dict[str, Any], field: str
) -> None:
    ada = await login()
    response = await client.post("/tasks", headers=ada, json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_read_update_complete_reopen_delete(client: httpx.AsyncClient, login: Login) -> None:
    ada = await login()
    task = await _create(client, ada, due_date="2031-05-01", due_time="09:30", tags=["a"])
    url = f"/tasks/{task['id']}"

    read = await client.get(url, headers=ada)
    assert read.status_code == 200
    assert read.headers["etag"] == '"1"'

    patched = await client.patch(
        url,
        headers={**ada, "If-Match": '"1"'},
        json={"title": "Buy oat milk", "priority": "urgent", "due_time": None, "tags": ["b"]},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["title"], body["priority"], body["due_date"], body["due_time"], body["tags"]) == (
        "Buy oat milk",
        "urgent",
        "2031-05-01",
        None,
        ["b"],
    )
    assert body["version"] == 2
    assert patched.headers["etag"] == '"2"'
    assert body["updated_at"] >= task["updated_at"]

    done = await client.post(f"{url}/complete", headers=ada)
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    assert done.json()["completed_at"] is not None
    again = await client.post(f"{url}/complete", headers=ada)
    assert again.json()["version"] == done.json()["version"]  # completing twice changes nothing

    reopened = await client.post(f"{url}/reopen", headers=ada)
    assert reopened.json()["status"] == "open"
    assert reopened.json()["completed_at"] is None

    assert (await client.delete(url, headers=ada)).status_code == 204
    gone = await client.get(url, headers=ada)
    assert gone.status_code == 404
    assert gone.json()["code"] == "task_not_found"


async def test_a_stale_if_match_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, login: Login
) -> None:
    ada = await login()
    task = await _create(client, ada)
    url = f"/tasks/{task['id']}"
    await client.patch(url, headers=ada, json={"title": "Second"})
    stale = await client.patch(
        url, headers={**ada, "If-Match": '"1"'}, json={"title": "Lost update"}
    )
    assert stale.status_code == 412
    assert stale.json()["code"] == "version_mismatch"
    for method, path in (("POST", f"{url}/complete"), ("POST", f"{url}/reopen"), ("DELETE", url)):
        refused = await client.request(method, path, headers={**ada, "If-Match": 'W/"1"'})
        assert refused.status_code == 412
    current = (await client.get(url, headers=ada)).json()
    assert (current["title"], current["version"], current["status"]) == ("Second", 2, "open")
    bad = await client.patch(url, headers={**ada, "If-Match": "yesterday"}, json={"title": "x"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "If-Match"


async def test_patch_validates_like_create(client: httpx.AsyncClient, login: Login) -> None:
    ada = await login()
    task = await _create(client, ada, due_date="2031-05-01", reminders=[{"minutes_before": 30}])
    url = f"/tasks/{task['id']}"
    for body, code in (
        ({"title": "   "}, "title_blank"),
        ({"title": None}, "required"),
        ({"due_date": None}, "reminder_needs_due"),
        ({"timezone": "Atlantis/Capital"}, "timezone_unknown"),
        ({"recurrence": {"rule": "FREQ=DAILY;COUNT=2;UNTIL=20320101"}}, "rule_invalid"),
    ):
        response = await client.patch(url, headers=ada, json=body)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["code"] == code
    unchanged = (await client.get(url, headers=ada)).json()
    assert unchanged["version"] == 1


async def test_patch_sets_and_clears_recurrence_and_reminders(
    client: httpx.AsyncClient, login: Login
) -> None:
    ada = await login()
    task = await _create(client, ada, due_date="2031-05-01", due_time="08:00")
    url = f"/tasks/{task['id']}"
    repeating = await client.patch(
        url,
        headers=ada,
        json={
            "recurrence": {"rule": "FREQ=WEEKLY;BYDAY=TH"},
            "reminders": [{"minutes_before": 10}],
        },
    )
    assert repeating.json()["recurrence"] == {"rule": "FREQ=WEEKLY;BYDAY=TH", "anchor": "due"}
    assert repeating.json()["series_id"] == task["id"]
    cleared = await client.patch(url, headers=ada, json={"recurrence": None, "reminders": []})
    assert cleared.json()["recurrence"] is None
    assert cleared.json()["reminders"] == []


async def test_another_users_task_answers_exactly_like_a_missing_one(
    client: httpx.AsyncClient, login: Login
) -> None:
    ada = await login("ada@example.com")
    bob = await login("bob@example.com")
    task = await _create(client, ada, tags=["secret"])
    url = f"/tasks/{task['id']}"
    missing = "/tasks/00000000-0000-0000-0000-000000000000"
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "", None),
        ("PATCH", "", {"title": "mine now"}),
        ("POST", "/complete", None),
        ("POST", "/reopen", None),
        ("DELETE", "", None),
    ]
    for method, suffix, body in calls:
        theirs = await client.request(method, url + suffix, headers=bob, json=body)
        nothing = await client.request(method, missing + suffix, headers=bob, json=body)
        assert theirs.status_code == nothing.status_code == 404, (method, suffix)
        assert theirs.json()["code"] == nothing.json()["code"] == "task_not_found"
        # Same bytes apart from the id in the path: the answer reveals nothing.
        assert theirs.json()["detail"].replace(task["id"], "X") == nothing.json()["detail"].replace(
            missing.rsplit("/", 1)[1], "X"
        )
    assert (await client.get("/tasks", headers=bob)).json()["data"] == []
    assert (await client.get("/tags", headers=bob)).json()["data"] == []
    renamed = await client.patch("/tags/secret", headers=bob, json={"name": "mine"})
    assert renamed.status_code == 404
    # Ada's task is untouched by all of it.
    mine = (await client.get(url, headers=ada)).json()
    assert (mine["title"], mine["status"], mine["version"], mine["tags"]) == (
        "Buy milk",
        "open",
        1,
        ["secret"],
    )


async def test_every_task_endpoint_needs_a_token(client: httpx.AsyncClient) -> None:
    some = "/tasks/00000000-0000-0000-0000-000000000000"
    for method, path in (
        ("GET", "/tasks"),
        ("POST", "/tasks"),
        ("GET", some),
        ("PATCH", some),
        ("POST", f"{some}/complete"),
        ("POST", f"{some}/reopen"),
        ("DELETE", some),
        ("GET", "/tags"),
        ("PATCH", "/tags/x"),
    ):
        response = await client.request(method, path, json={})
        assert response.status_code == 401, (method, path)
        assert response.json()["code"] == "not_authenticated"
