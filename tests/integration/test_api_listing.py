"""Filtering, full-text search, sorting, cursor pages and tags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from taskstream.app.queries import SortKey, TaskQuery
from taskstream.bootstrap import Container
from taskstream.domain.tasks import Status
from tests.conftest import AdjustableClock
from tests.integration.conftest import Login, statements

Headers = dict[str, str]

SEED: list[dict[str, Any]] = [
    {"title": "Water the plants", "priority": "low", "tags": ["home"], "due_date": "2031-01-10"},
    {
        "title": "Quarterly tax return",
        "priority": "urgent",
        "tags": ["money", "admin"],
        "due_date": "2031-01-05",
        "due_time": "12:00",
    },
    {
        "title": "Call the plumber",
        "priority": "high",
        "tags": ["home", "admin"],
        "description": "Kitchen sink leaks",
    },
    {
        "title": "Book flights",
        "priority": "medium",
        "tags": ["travel"],
        "due_date": "2031-02-01",
        "due_time": "09:00",
    },
    {
        "title": "Read Crème brûlée recipe",
        "priority": "none",
        "tags": [],
        "description": "For Sunday",
    },
    {
        "title": "renew passport",
        "priority": "high",
        "tags": ["travel", "admin"],
        "due_date": "2031-01-20",
    },
]


async def _seed(client: httpx.AsyncClient, headers: Headers) -> dict[str, str]:
    ids = {}
    for body in SEED:
        response = await client.post("/tasks", headers=headers, json=body)
        assert response.status_code == 201, response.text
        ids[body["title"]] = response.json()["id"]
    return ids


async def _titles(client: httpx.AsyncClient, headers: Headers, query: str) -> list[str]:
    response = await client.get(f"/tasks?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [t["title"] for t in response.json()["data"]]


@pytest.fixture
async def ada(client: httpx.AsyncClient, login: Login) -> Headers:
    headers = await login()
    await _seed(client, headers)
    return headers


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("priority=high&sort=title", ["Call the plumber", "renew passport"]),
        (
            "priority=high&priority=urgent&sort=title",
            ["Call the plumber", "Quarterly tax return", "renew passport"],
        ),
        ("tags_all=admin&tags_all=home", ["Call the plumber"]),
        (
            "tags_any=money&tags_any=travel&sort=title",
            ["Book flights", "Quarterly tax return", "renew passport"],
        ),
        ("tags_all=ADMIN&tags_any=travel", ["renew passport"]),
        ("no_due=true&sort=title", ["Call the plumber", "Read Crème brûlée recipe"]),
        ("due_before=2031-01-10T00:00:00Z&sort=due", ["Quarterly tax return"]),
        (
            "due_after=2031-01-15T00:00:00Z&due_before=2031-02-01T08:00:01Z&sort=due",
            ["renew passport", "Book flights"],
        ),
        ("q=PLUMB", ["Call the plumber"]),
        ("q=sink", ["Call the plumber"]),
        ("q=creme", ["Read Crème brûlée recipe"]),
        ("q=tax%20quart", ["Quarterly tax return"]),
        ("q=tax%20plumber", []),
        # One letter matches whole words only; two or more, words that start so.
        ("q=r&sort=title", []),
        ("q=re&sort=title", ["Quarterly tax return", "Read Crème brûlée recipe", "renew passport"]),
        ("q=br%C3%BBl%C3%A9e", ["Read Crème brûlée recipe"]),
    ],
)
async def test_filters(
    client: httpx.AsyncClient, ada: Headers, query: str, expected: list[str]
) -> None:
    assert await _titles(client, ada, query) == expected


async def test_search_sees_edits_and_deletions(client: httpx.AsyncClient, login: Login) -> None:
    ada = await login()
    ids = await _seed(client, ada)
    plumber = ids["Call the plumber"]
    await client.patch(f"/tasks/{plumber}", headers=ada, json={"description": "Bathroom tap drips"})
    assert await _titles(client, ada, "q=sink") == []
    assert await _titles(client, ada, "q=bathroom") == ["Call the plumber"]
    await client.delete(f"/tasks/{plumber}", headers=ada)
    assert await _titles(client, ada, "q=bathroom") == []


async def test_search_never_crosses_users(
    client: httpx.AsyncClient, ada: Headers, login: Login
) -> None:
    bob = await login("bob@example.com")
    assert await _titles(client, bob, "q=plumber") == []


async def test_listings_of_one_shape_each_get_their_own_values(
    client: httpx.AsyncClient, ada: Headers, login: Login
) -> None:
    """Listings of the same shape share one statement; the values bound differ each time."""
    bob = await login("bob@example.com")
    response = await client.post(
        "/tasks", headers=bob, json={"title": "Bob's chore", "priority": "high", "tags": ["home"]}
    )
    assert response.status_code == 201, response.text
    query = "priority={}&tags_all={}&sort=title"
    assert await _titles(client, ada, query.format("high", "home")) == ["Call the plumber"]
    assert await _titles(client, bob, query.format("high", "home")) == ["Bob's chore"]
    assert await _titles(client, ada, query.format("high", "travel")) == ["renew passport"]
    assert await _titles(client, ada, query.format("low", "home")) == ["Water the plants"]
    assert await _titles(client, bob, query.format("low", "home")) == []


async def test_status_and_overdue(
    client: httpx.AsyncClient, ada: Headers, clock: AdjustableClock
) -> None:
    titles = await _titles(client, ada, "sort=title")
    plants = next(t for t in (await client.get("/tasks?q=plants", headers=ada)).json()["data"])
    await client.post(f"/tasks/{plants['id']}/complete", headers=ada)
    assert await _titles(client, ada, "status=done") == ["Water the plants"]
    assert len(await _titles(client, ada, "status=open")) == len(titles) - 1
    assert await _titles(client, ada, "overdue=true") == []
    clock.offset = datetime(2031, 1, 15, tzinfo=UTC) - datetime.now(UTC)
    # Tax was due on the 5th; the plants (due the 10th) are done, so not overdue.
    assert await _titles(client, ada, "overdue=true") == ["Quarterly tax return"]
    listed = (await client.get("/tasks?q=tax", headers=ada)).json()["data"][0]
    assert listed["overdue"] is True


async def test_sort_by_due_puts_undated_tasks_last_both_ways(
    client: httpx.AsyncClient, ada: Headers
) -> None:
    ascending = await _titles(client, ada, "sort=due&order=asc")
    descending = await _titles(client, ada, "sort=due&order=desc")
    dated_asc = ["Quarterly tax return", "Water the plants", "renew passport", "Book flights"]
    assert ascending[:4] == dated_asc
    assert descending[:4] == dated_asc[::-1]
    assert (
        set(ascending[4:])
        == set(descending[4:])
        == {"Call the plumber", "Read Crème brûlée recipe"}
    )


async def test_the_default_listing_is_read_in_the_order_of_an_index(container: Container) -> None:
    """Open tasks, soonest due first (the web app's default): a page comes from the index
    in its order, with no sort of every open task of the owner."""
    database = container.database
    with statements(container, "SELECT tasks.id") as sent:  # not the relay's or scheduler's
        async with database.reader() as uow:
            query = TaskQuery(status=Status.OPEN, sort=SortKey.DUE)
            await uow.tasks.find("someone", query, datetime.now(UTC))
    statement, parameters = sent[0]
    async with database.engine.connect() as conn:
        if database.dialect == "sqlite":
            explain = "EXPLAIN QUERY PLAN "
        else:  # with sorting priced out, the plan sorts only if no index gives the order
            await conn.exec_driver_sql("SET enable_sort = off")
            explain = "EXPLAIN "
        plan = " ".join(
            str(row[-1]) for row in await conn.exec_driver_sql(explain + statement, parameters)
        )
    assert "ix_tasks_owner_status_due_order" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
    assert "Sort" not in plan, plan


async def test_sort_by_priority_and_title(client: httpx.AsyncClient, ada: Headers) -> None:
    by_priority = await _titles(client, ada, "sort=priority&order=desc")
    assert by_priority[0] == "Quarterly tax return"
    assert by_priority[-1] == "Read Crème brûlée recipe"
    assert await _titles(client, ada, "sort=title&limit=3") == [
        "Book flights",
        "Call the plumber",
        "Quarterly tax return",
    ]


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("due", "asc"),
        ("due", "desc"),
        ("priority", "desc"),
        ("title", "asc"),
        ("created", "desc"),
        ("updated", "asc"),
    ],
)
async def test_cursor_pages_walk_every_task_once_in_order(
    client: httpx.AsyncClient, login: Login, sort: str, order: str
) -> None:
    ada = await login()
    for i in range(23):  # several tasks share each sort value, and some have no due date
        body: dict[str, Any] = {
            "title": f"Task {i % 5}",
            "priority": ["low", "high", "none"][i % 3],
        }
        if i % 4:
            body["due_date"] = f"2031-03-{1 + i % 6:02d}"
        assert (await client.post("/tasks", headers=ada, json=body)).status_code == 201
    whole = (await client.get(f"/tasks?sort={sort}&order={order}&limit=200", headers=ada)).json()
    assert whole["next_cursor"] is None
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = f"sort={sort}&order={order}&limit=4" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(f"/tasks?{query}", headers=ada)).json()
        seen += [t["id"] for t in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 6
    assert seen == [t["id"] for t in whole["data"]]
    assert len(set(seen)) == 23


async def test_a_cursor_from_another_sort_is_refused(
    client: httpx.AsyncClient, ada: Headers
) -> None:
    page = (await client.get("/tasks?sort=title&limit=2", headers=ada)).json()
    response = await client.get(f"/tasks?sort=due&cursor={page['next_cursor']}", headers=ada)
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "cursor_mismatch"


async def test_tags_are_counted_and_renamed(client: httpx.AsyncClient, ada: Headers) -> None:
    tags = (await client.get("/tags", headers=ada)).json()["data"]
    assert tags == [
        {"name": "admin", "count": 3},
        {"name": "home", "count": 2},
        {"name": "money", "count": 1},
        {"name": "travel", "count": 2},
    ]
    renamed = await client.patch("/tags/Admin", headers=ada, json={"name": "Paperwork"})
    assert renamed.status_code == 200
    assert renamed.json() == {"name": "paperwork", "tasks": 3}
    # Renaming onto an existing tag merges them.
    merged = await client.patch("/tags/travel", headers=ada, json={"name": "paperwork"})
    assert merged.json()["tasks"] == 2
    counts = {
        t["name"]: t["count"] for t in (await client.get("/tags", headers=ada)).json()["data"]
    }
    assert counts == {"paperwork": 4, "home": 2, "money": 1}
    passport = (await client.get("/tasks?q=passport", headers=ada)).json()["data"][0]
    assert passport["tags"] == ["paperwork"]
    assert passport["version"] == 3
    assert await _titles(client, ada, "tags_all=paperwork&sort=title") == [
        "Book flights",
        "Call the plumber",
        "Quarterly tax return",
        "renew passport",
    ]


async def test_renaming_a_missing_or_invalid_tag(client: httpx.AsyncClient, ada: Headers) -> None:
    missing = await client.patch("/tags/nothing", headers=ada, json={"name": "x"})
    assert missing.status_code == 404
    assert missing.json()["code"] == "tag_not_found"
    invalid = await client.patch("/tags/home", headers=ada, json={"name": "two words"})
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0] == {
        "field": "name",
        "code": "tag_invalid",
        "message": "Tag 'two words' may not contain spaces or commas.",
    }


async def test_page_size_is_capped(client: httpx.AsyncClient, ada: Headers) -> None:
    assert (await client.get("/tasks?limit=200", headers=ada)).status_code == 200
    assert (await client.get("/tasks?limit=201", headers=ada)).status_code == 422
    assert len(await _titles(client, ada, "limit=2")) == 2


async def test_due_after_filter_uses_the_moment_not_the_text(
    client: httpx.AsyncClient, ada: Headers
) -> None:
    # 2031-01-05 12:00 in Paris is 11:00 UTC.
    moment = datetime(2031, 1, 5, 11, tzinfo=UTC)
    just_after = (moment + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    at = moment.isoformat().replace("+00:00", "Z")
    assert "Quarterly tax return" in await _titles(client, ada, f"due_after={at}")
    assert "Quarterly tax return" not in await _titles(client, ada, f"due_after={just_after}")
