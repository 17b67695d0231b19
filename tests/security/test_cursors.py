"""Defect 4: a hand-made pagination cursor is a 422 `cursor_invalid`, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.conftest import Login
from tests.security.conftest import cursor_of

MOMENT = "2026-01-01T00:00:00+00:00"


@pytest.mark.parametrize(
    ("sort", "payload"),
    [
        ("priority", ["priority:asc", [{"x": 1}, 1]]),
        ("priority", ["priority:asc", [1, {"x": 1}]]),
        ("priority", ["priority:asc", [True, 1]]),
        ("priority", ["priority:asc", [99, 1]]),
        ("priority", ["priority:asc", [1, 2**70]]),
        ("priority", ["priority:asc", [1, -1]]),
        ("priority", ["priority:asc", [1, 1.5]]),
        ("title", ["title:asc", [["a"], 1]]),
        ("title", ["title:asc", [None, 1]]),
        ("created", ["created:asc", ["0001-01-01T00:00:00+14:00", 1]]),
        ("created", ["created:asc", ["2026-01-01T00:00:00", 1]]),
        ("created", ["created:asc", [12, 1]]),
        ("due", ["due:asc", [0, None, 1]]),
        ("due", ["due:asc", [1, MOMENT, 1]]),
        ("due", ["due:asc", [2, MOMENT, 1]]),
        ("due", ["due:asc", [0, MOMENT]]),
        ("created", ["created:asc", {"a": 1}]),
        ("created", "just a string"),
        ("created", ["created:asc"]),
    ],
)
async def test_a_hand_made_task_cursor_is_refused(
    client: httpx.AsyncClient, login: Login, sort: str, payload: Any
) -> None:
    headers = await login()
    await client.post("/tasks", headers=headers, json={"title": "a", "priority": "high"})
    response = await client.get(
        "/tasks", headers=headers, params={"sort": sort, "cursor": cursor_of(payload)}
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_failed"
    assert response.json()["errors"][0]["code"] == "cursor_invalid"


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", cursor_of([1, 2, 3, 4])])
async def test_a_cursor_that_is_not_base64_json_is_refused(
    client: httpx.AsyncClient, login: Login, cursor: str
) -> None:
    headers = await login()
    response = await client.get("/tasks", headers=headers, params={"cursor": cursor})
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "payload",
    [
        ["activity", MOMENT, 2**70],
        ["activity", MOMENT, -1],
        ["activity", MOMENT, True],
        ["activity", "0001-01-01T00:00:00+14:00", 1],
        ["activity", "9999-12-31T23:59:59-12:00", 1],
        ["activity", ["x"], 1],
        ["activity", MOMENT],
        ["other", MOMENT, 1],
    ],
)
async def test_a_hand_made_activity_cursor_is_refused(
    client: httpx.AsyncClient, login: Login, payload: Any
) -> None:
    headers = await login()
    response = await client.get("/activity", headers=headers, params={"cursor": cursor_of(payload)})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == "cursor_invalid"


@pytest.mark.parametrize("sort", ["due", "priority", "created", "updated", "title"])
async def test_cursors_the_api_gives_out_page_through_every_task(
    client: httpx.AsyncClient, login: Login, sort: str
) -> None:
    headers = await login()
    made = set()
    for i, priority in enumerate(["low", "high", "none", "urgent", "medium"]):
        fields: dict[str, Any] = {"title": f"T{i % 2}", "priority": priority}
        if i % 2:
            fields["due_date"] = f"2026-0{i}-01"
        made.add((await client.post("/tasks", headers=headers, json=fields)).json()["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"sort": sort, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/tasks", headers=headers, params=params)).json()
        seen += [t["id"] for t in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made)
