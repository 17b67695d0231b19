"""The event backbone's scenarios on the distributed shape: through Kafka and Dapr.

The same stories as the embedded shape's (tests/integration/test_embedded_shape.py): a
reminder from the write to the notification, moved and cancelled reminders, a recurring
task to its next occurrence, a task's whole history in the audit log, and two users kept
apart on their WebSockets. Here each step crosses processes: the API's outbox relay
publishes through its sidecar to Kafka, the reminders service books Dapr jobs in the
scheduler, the notifier and the sync service push through the gateway's WebSocket.

Reminders are set several seconds ahead (the way from a write to a booked job is longer
than in one process); "nothing more" is asserted only after a later marker went through
the same partition (one user's messages keep their order on every topic while nothing fails).
"""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.clients import (
    Json,
    create,
    due_fields,
    history,
    in_,
    now,
    parse,
    post,
    remind_at,
    reminded_at,
    reminders_due,
    successors,
    task_list,
)
from tests.conftest import eventually
from tests.e2e.conftest import RECEIVE_TIMEOUT_S, Distributed, NewUser, OpenFeed, Sql

LEAD_S = 8.0
"""How far ahead reminders are set: the write, the relay, Kafka, the reminders service and
the scheduler all come before the moment, on a busy machine."""


async def test_a_reminder_reaches_its_owners_socket_once_when_its_moment_comes(
    http: httpx.AsyncClient, new_user: NewUser, feeds: OpenFeed
) -> None:
    ada = await new_user("ada")
    feed = await feeds(ada)
    task = await reminded_at(http, ada, "Call the plumber", LEAD_S)
    marker = await reminded_at(http, ada, "marker", LEAD_S + 1)

    (notification,) = await feed.until(lambda: feed.notifications(task["id"]))
    arrived = now()
    moment = remind_at(task)
    assert notification["kind"] == "reminder"
    assert notification["title"] == "Call the plumber"
    assert parse(notification["remind_at"]) == moment
    fired = parse(notification["fired_at"])
    assert fired >= moment, "fired before its moment"
    assert arrived >= moment
    print(
        f"\nreminder: fired {(fired - moment).total_seconds():.3f} s after its moment, "
        f"on the socket {(arrived - moment).total_seconds():.3f} s after it"
    )

    await feed.until(lambda: feed.notifications(marker["id"]))
    assert len(feed.notifications(task["id"])) == 1
    events = [e for e in feed.events() if e["type"] == "notification"]
    assert {e["userid"] for e in events} == {ada.id}
    # Fired once, not only shown once: each firing would log a reminder.due of its own.

    async def audited() -> list[Json]:
        return reminders_due(await history(http, ada, task["id"]), task["id"])

    (due,) = await eventually(audited, within=RECEIVE_TIMEOUT_S)
    assert due["data"]["fired_at"] == notification["fired_at"]
    assert parse(due["time"]) >= moment


async def test_a_moved_reminder_fires_at_its_new_moment_and_cancelled_ones_never(
    http: httpx.AsyncClient, new_user: NewUser, feeds: OpenFeed
) -> None:
    ada = await new_user("ada")
    feed = await feeds(ada)
    old_due = in_(60 + LEAD_S)  # its reminder, a minute before, LEAD_S from now
    moved = await create(
        http, ada, "Dentist", **due_fields(old_due), reminders=[{"minutes_before": 1}]
    )
    old_moment = remind_at(moved)
    response = await http.patch(
        f"/tasks/{moved['id']}",
        headers=ada.headers,
        json=due_fields(old_due + timedelta(seconds=4)),
    )
    assert response.status_code == 200, response.text
    new_moment = remind_at(response.json())
    assert new_moment - old_moment == timedelta(seconds=4)

    deleted = await reminded_at(http, ada, "Deleted", LEAD_S)
    response = await http.delete(f"/tasks/{deleted['id']}", headers=ada.headers)
    assert response.status_code == 204, response.text
    completed = await reminded_at(http, ada, "Completed", LEAD_S)
    await post(http, ada, f"/tasks/{completed['id']}/complete")
    dropped = await reminded_at(http, ada, "Reminder removed", LEAD_S)
    response = await http.patch(
        f"/tasks/{dropped['id']}", headers=ada.headers, json={"reminders": []}
    )
    assert response.status_code == 200, response.text
    marker = await reminded_at(http, ada, "marker", (new_moment - now()).total_seconds() + 2)
    assert now() < old_moment, "too slow to change the reminders before their moment"
    cancelled = [deleted["id"], completed["id"], dropped["id"]]

    (notification,) = await feed.until(lambda: feed.notifications(moved["id"]))
    assert now() >= new_moment
    assert parse(notification["remind_at"]) == new_moment
    assert parse(notification["fired_at"]) >= new_moment

    await feed.until(lambda: feed.notifications(marker["id"]))
    assert len(feed.notifications(moved["id"])) == 1
    for task_id in cancelled:
        assert feed.notifications(task_id) == [], task_id

    async def marker_audited() -> list[Json]:
        entries = await history(http, ada)
        return entries if reminders_due(entries, marker["id"]) else []

    entries = await eventually(marker_audited, within=RECEIVE_TIMEOUT_S)
    fired = [e["task_id"] for e in entries if e["type"] == "reminder.due"]
    assert fired == [moved["id"], marker["id"]]
    (due,) = reminders_due(entries, moved["id"])
    assert parse(due["data"]["remind_at"]) == new_moment


async def test_completing_a_daily_task_creates_exactly_one_next_occurrence(
    http: httpx.AsyncClient, new_user: NewUser, feeds: OpenFeed, sql: Sql
) -> None:
    ada = await new_user("ada")
    feed = await feeds(ada)
    today = now().date()
    daily = await create(
        http,
        ada,
        "Water the plants",
        due_date=today.isoformat(),
        due_time="09:00",
        recurrence={"rule": "FREQ=DAILY"},
    )
    series = daily["series_id"]
    assert series is not None
    await post(http, ada, f"/tasks/{daily['id']}/complete")

    async def next_one() -> list[Json]:
        return successors(await task_list(http, ada), series)

    (following,) = await eventually(next_one, within=RECEIVE_TIMEOUT_S)
    assert following["occurrence"] == 2
    assert following["status"] == "open"
    assert following["due_date"] == (today + timedelta(days=1)).isoformat()
    assert following["recurrence"] == {"rule": "FREQ=DAILY", "anchor": "due"}

    # A later completion of the same user went through the recurring service after this
    # one (same partition): had it made a second successor, it would be there by now.
    weekly = await create(
        http, ada, "marker", due_date=today.isoformat(), recurrence={"rule": "FREQ=WEEKLY"}
    )
    await post(http, ada, f"/tasks/{weekly['id']}/complete")

    async def marker_next() -> list[Json]:
        return successors(await task_list(http, ada), weekly["series_id"])

    await eventually(marker_next, within=RECEIVE_TIMEOUT_S)
    listed = await task_list(http, ada)
    assert [t["id"] for t in successors(listed, series)] == [following["id"]]
    assert next(t for t in listed if t["id"] == daily["id"])["status"] == "done"
    assert (await sql.series(ada.id))[series] == [1, 2]
    created = await feed.until(
        lambda: feed.changes("task.created", lambda d: d["task"]["series_id"] == series), count=2
    )
    assert sorted(t["occurrence"] for t in created) == [1, 2]


async def test_the_audit_log_holds_the_whole_history_of_a_task(
    http: httpx.AsyncClient, new_user: NewUser, feeds: OpenFeed, sql: Sql
) -> None:
    ada = await new_user("ada")
    feed = await feeds(ada)
    task = await reminded_at(http, ada, "Book flights", LEAD_S)
    response = await http.patch(
        f"/tasks/{task['id']}", headers=ada.headers, json={"title": "Book the flights"}
    )
    assert response.status_code == 200, response.text
    await feed.until(lambda: feed.notifications(task["id"]))
    await post(http, ada, f"/tasks/{task['id']}/complete")
    await post(http, ada, f"/tasks/{task['id']}/reopen")
    response = await http.delete(f"/tasks/{task['id']}", headers=ada.headers)
    assert response.status_code == 204, response.text

    expected = [
        "task.created",
        "task.updated",
        "reminder.due",
        "task.completed",
        "task.reopened",
        "task.deleted",
    ]

    async def whole() -> list[Json]:
        entries = await history(http, ada, task["id"])
        return entries if len(entries) >= len(expected) else []

    entries = await eventually(whole, within=RECEIVE_TIMEOUT_S)
    assert [e["type"] for e in entries] == expected
    assert {e["task_id"] for e in entries} == {task["id"]}
    created, updated, due, completed, _reopened, deleted = entries
    assert created["data"]["task"]["title"] == "Book flights"
    assert updated["data"]["changes"] == {"title": "Book the flights"}
    assert parse(due["data"]["remind_at"]) == remind_at(task)
    assert parse(due["data"]["fired_at"]) >= remind_at(task)
    assert completed["data"]["task"]["status"] == "done"
    assert deleted["data"]["task"]["id"] == task["id"]

    # One row per event, and the facts are exactly those the API stored in its outbox.
    facts = [e for e in await sql.events(ada.id, "task-events") if e["subject"] == task["id"]]
    rows = [r for r in await sql.activity(ada.id) if r.task_id == task["id"]]
    assert len(rows) == len(expected)
    assert [e["id"] for e in entries if e["type"] != "reminder.due"] == [f["id"] for f in facts]
    assert sorted(e["id"] for e in entries) == sorted(r.event_id for r in rows)


async def test_a_users_socket_receives_nothing_of_another_users(
    http: httpx.AsyncClient, new_user: NewUser, feeds: OpenFeed
) -> None:
    ada, bob = await new_user("ada"), await new_user("bob")
    ada_feed = await feeds(ada)
    bob_feed = await feeds(bob)
    secret = await reminded_at(http, ada, "Ada's secret", LEAD_S)
    await post(http, ada, f"/tasks/{secret['id']}/complete")
    reminded = await reminded_at(http, ada, "Ada's reminder", LEAD_S)
    await ada_feed.until(lambda: ada_feed.notifications(reminded["id"]))

    # Bob's own writes come after all of Ada's were pushed: anything of hers would precede.
    bobs = await reminded_at(http, bob, "Bob's reminder", 3)
    await bob_feed.until(lambda: bob_feed.notifications(bobs["id"]))
    adas = await create(http, ada, "Ada's marker")
    await ada_feed.until(lambda: ada_feed.changed(adas["id"], "task.created"))

    assert {e["userid"] for e in bob_feed.events()} == {bob.id}
    assert {e["data"]["task_id"] for e in bob_feed.events()} == {bobs["id"]}
    assert {e["userid"] for e in ada_feed.events()} == {ada.id}
    assert bobs["id"] not in {e["data"]["task_id"] for e in ada_feed.events()}
    # Both see their own: Ada every write and her reminder, Bob his write and reminder.
    assert len(ada_feed.changed(secret["id"], "task.created")) == 1
    assert len(ada_feed.changed(secret["id"], "task.completed")) == 1
    assert len(ada_feed.notifications(reminded["id"])) == 1
    assert ada_feed.notifications(secret["id"]) == []
    assert len(bob_feed.changed(bobs["id"], "task.created")) == 1
    assert len(bob_feed.notifications(bobs["id"])) == 1
    assert secret["id"] not in {e["task_id"] for e in await history(http, bob)}
    response = await http.get(f"/tasks/{secret['id']}", headers=bob.headers)
    assert response.status_code == 404, response.text


async def test_the_gateway_hides_what_only_sidecars_and_scrapers_may_reach(
    dist: Distributed,
) -> None:
    """Dapr's routes and each service's metrics stay inside; the public API does not."""
    async with httpx.AsyncClient(base_url=dist.gateway, timeout=30, trust_env=False) as client:
        for path in ("/metrics", "/dapr/subscribe", "/events/task-events", "/internal/v1/x"):
            response = await client.get(path)
            assert response.status_code == 404, (path, response.text)
            assert response.json()["code"] == "not_found"
        assert (await client.get("/healthz")).status_code == 200
