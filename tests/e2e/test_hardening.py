"""Bad input through the gateway of the distributed shape: a NUL character (which PostgreSQL
cannot store) and dates at the calendar's edges are a 422 with a stable code, never a 500,
and leave nothing half-written; a series at the end of the years taken ends cleanly.

The cases are those tests/security runs on the embedded API (tests/security/cases.py).
A %00 in the path never reaches an app: nginx refuses it while reading the request line,
and the gateway answers that refusal as the apps do (422 `nul_character`, a problem).
Each test gathers every case that misbehaves before it fails, so one run shows them all.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.clients import PASSWORD, Json, User, create, post, successors, task_list
from tests.conftest import eventually
from tests.e2e.conftest import RECEIVE_TIMEOUT_S, NewUser, Sql
from tests.security.cases import (
    DUES_OUT_OF_RANGE,
    EDGE_DAYS,
    EDGE_ZONES,
    FILTERS_OUT_OF_RANGE,
    NUL_IN_CHAT,
    NUL_IN_TASK_TEXT,
    NUL_IN_URLS,
    PATCHES_OUT_OF_RANGE,
)

PROBLEM_JSON = "application/problem+json"


def _refused(response: httpx.Response, field: str | None, code: str | None) -> str | None:
    """What is wrong with `response` as a refusal (422 problem details naming `field` with
    `code`, or with `code` at the top when `field` is None); None when nothing is."""
    if response.status_code != 422 or response.headers.get("content-type") != PROBLEM_JSON:
        return f"{response.status_code} {response.text[:300]}"
    body: Json = response.json()
    if field is None:
        return None if code is None or body.get("code") == code else response.text[:300]
    errors = body.get("errors") or []
    if not any(e["field"] == field and (code is None or e["code"] == code) for e in errors):
        return response.text[:300]
    return None


def _refused_as(response: httpx.Response, status: int, code: str) -> str | None:
    if (
        response.status_code != status
        or response.headers.get("content-type") != PROBLEM_JSON
        or response.json().get("code") != code
    ):
        return f"{response.status_code} {response.text[:300]}"
    return None


def _holds_nul(value: object) -> bool:
    if isinstance(value, list):
        return any(_holds_nul(one) for one in value)
    return isinstance(value, str) and "\x00" in value


def _nul_field(body: dict[str, Any]) -> str:
    return next(key for key, value in body.items() if _holds_nul(value))


async def _events(sql: Sql, user: User) -> list[tuple[str, str]]:
    """The task events the API stored for the user: (type, subject)."""
    return [(e["type"], e["subject"]) for e in await sql.events(user.id, "task-events")]


async def test_nul_characters_are_refused_everywhere_and_nothing_is_written(
    http: httpx.AsyncClient, new_user: NewUser, sql: Sql
) -> None:
    ada = await new_user("ada")
    kept = await create(http, ada, "kept as it is", tags=["home"])
    wrong: list[tuple[str, object, str]] = []

    def check(what: str, case: object, problem: str | None) -> None:
        if problem is not None:
            wrong.append((what, case, problem))

    for fields in NUL_IN_TASK_TEXT:
        response = await http.post("/tasks", headers=ada.headers, json=fields)
        check("POST /tasks", fields, _refused(response, _nul_field(fields), "nul_character"))
        changes = {k: v for k, v in fields.items() if _holds_nul(v)}
        response = await http.patch(f"/tasks/{kept['id']}", headers=ada.headers, json=changes)
        check("PATCH /tasks/{id}", changes, _refused(response, _nul_field(changes), None))
    for path, params in NUL_IN_URLS:
        response = await http.get(path, headers=ada.headers, params=params)
        check(f"GET {path}", params, _refused(response, None, "nul_character"))
    for body in NUL_IN_CHAT:
        response = await http.post("/chat", headers=ada.headers, json=body)
        check("POST /chat", body, _refused(response, _nul_field(body), "nul_character"))
    token = {"name": "desk\x00top"}
    response = await http.post("/tokens", headers=ada.headers, json=token)
    check("POST /tokens", token, _refused(response, "name", "nul_character"))
    hook = {"url": "https://example.com/hooks\x00/taskstream"}
    response = await http.post("/webhooks", headers=ada.headers, json=hook)
    check("POST /webhooks", hook, _refused(response, "url", "url_invalid"))
    response = await http.get("/tasks/abc%2", headers=ada.headers)  # a broken escape
    check("GET /tasks/abc%2", None, _refused_as(response, 400, "bad_request"))
    stranger = {"email": "eve\x00@example.com", "password": PASSWORD}
    response = await http.post("/auth/signup", json=stranger)
    check("POST /auth/signup", stranger, _refused(response, "email", None))
    response = await http.post("/auth/login", json=stranger)
    if response.status_code != 401:
        wrong.append(("POST /auth/login", stranger, f"{response.status_code} {response.text}"))
    assert wrong == []

    assert await task_list(http, ada) == [kept]
    assert await _events(sql, ada) == [("task.created", kept["id"])]
    for path in ("/conversations", "/tokens", "/webhooks"):
        listed = await http.get(path, headers=ada.headers)
        assert listed.status_code == 200, listed.text
        assert listed.json()["data"] == [], path


async def test_dates_at_the_calendars_edges_are_refused_and_nothing_is_written(
    http: httpx.AsyncClient, new_user: NewUser, sql: Sql
) -> None:
    ada = await new_user("ada")
    kept = await create(http, ada, "kept as it is", due_date="2026-06-01", due_time="09:00")
    wrong: list[tuple[str, object, str]] = []
    for fields in DUES_OUT_OF_RANGE:
        response = await http.post("/tasks", headers=ada.headers, json={"title": "x", **fields})
        if (problem := _refused(response, None, None)) is not None:
            wrong.append(("POST /tasks", fields, problem))
    for changes in PATCHES_OUT_OF_RANGE:
        response = await http.patch(f"/tasks/{kept['id']}", headers=ada.headers, json=changes)
        if (problem := _refused(response, "due_date", None)) is not None:
            wrong.append(("PATCH /tasks/{id}", changes, problem))
    for path, params in FILTERS_OUT_OF_RANGE:
        response = await http.get(path, headers=ada.headers, params=params)
        if (problem := _refused(response, next(iter(params)), None)) is not None:
            wrong.append((f"GET {path}", params, problem))
    assert wrong == []

    assert await task_list(http, ada) == [kept]
    assert await _events(sql, ada) == [("task.created", kept["id"])]


async def test_the_first_and_last_days_taken_round_trip_in_the_zones_at_the_edges(
    http: httpx.AsyncClient, new_user: NewUser
) -> None:
    ada = await new_user("ada")
    made = []
    for timezone in EDGE_ZONES:
        for day in EDGE_DAYS:
            task = await create(
                http, ada, "edge", due_date=day, due_time="23:59", timezone=timezone
            )
            assert (task["due_date"], task["due_time"], task["timezone"]) == (
                day,
                "23:59:00",
                timezone,
            ), task
            made.append(task)
    for task in made:
        read = await http.get(f"/tasks/{task['id']}", headers=ada.headers)
        assert read.status_code == 200, read.text
        assert read.json()["due_at"] == task["due_at"]
    # The filters take the whole range: every task lies between its first and last moment.
    response = await http.get(
        "/tasks",
        headers=ada.headers,
        params={
            "due_after": "1900-01-01T00:00:00+14:00",
            "due_before": "2200-12-31T23:59:59-12:00",
        },
    )
    assert response.status_code == 200, response.text
    assert {t["id"] for t in response.json()["data"]} == {t["id"] for t in made}


async def test_a_series_at_the_end_of_the_years_taken_ends_cleanly(
    http: httpx.AsyncClient, new_user: NewUser, sql: Sql
) -> None:
    ada = await new_user("ada")
    last = await create(
        http,
        ada,
        "yearly at the end",
        due_date="2200-12-31",
        due_time="23:59",
        timezone="Pacific/Pago_Pago",
        recurrence={"rule": "FREQ=YEARLY"},
    )
    await post(http, ada, f"/tasks/{last['id']}/complete")

    # A later completion of the same user goes through the recurring service after that
    # one (same partition): once its successor is there, the first was handled.
    marker = await create(
        http, ada, "marker", due_date="2026-01-01", recurrence={"rule": "FREQ=WEEKLY"}
    )
    await post(http, ada, f"/tasks/{marker['id']}/complete")

    async def marker_next() -> list[Json]:
        return successors(await task_list(http, ada), marker["series_id"])

    await eventually(marker_next, within=RECEIVE_TIMEOUT_S)
    assert successors(await task_list(http, ada), last["series_id"]) == []
    assert (await sql.series(ada.id))[last["series_id"]] == [1]
    assert await sql.dead_letters(ada.id) == []
