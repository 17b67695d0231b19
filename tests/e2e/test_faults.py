"""Faults of the distributed shape: no acknowledged write and no event is lost, none acts twice.

Each test breaks one part while one user keeps writing through the gateway (a `Writer`),
mends it, then checks every effect against the outbox, the API's record of every event it
made: each fact has exactly one audit row, each update reached the user's WebSocket once,
each completed daily task has exactly one next occurrence, nothing sits unsent or among
the dead letters. The reminder tests count notifications and `reminder.due` entries. Each
test prints what it counted and how long the shape took to catch up.

Every test leaves the shape whole again (the parts it broke are restarted in `finally`),
so the others can run after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
import pytest

from taskstream.adapters.dapr import dapr_job_name
from taskstream.app.services.reminders import job_name
from tests.clients import (
    Feed,
    Json,
    User,
    create,
    history,
    iso,
    now,
    parse,
    post,
    remind_at,
    reminded_at,
    reminders_due,
)
from tests.conftest import eventually
from tests.e2e.conftest import RECEIVE_TIMEOUT_S, Distributed, NewUser, OpenFeed, Sql

CATCH_UP_S = 120.0
"""The longest the shape may take to handle everything once the broken part is back."""
WRITES_WHILE_BROKEN = 30
"""Writes acknowledged while a part is down (before it is started again)."""


# --- a user who keeps writing ---------------------------------------------------------------


class Writer:
    """One user's writes in the background, one after the other, until stopped.

    A round creates a plain task, then a daily task and completes it: 3 acknowledged
    writes, 4 facts on `task-events` (the completion's next occurrence is the 4th) and as
    many updates on `task-updates`. None of the faults here touches the api app or
    PostgreSQL, so every write must succeed; anything else is recorded as a failure.
    """

    def __init__(self, http: httpx.AsyncClient, user: User, pause: float = 0.05) -> None:
        self._http = http
        self._user = user
        self._pause = pause
        self.created: list[str] = []
        self.completed: list[str] = []
        """The series of the daily tasks completed."""
        self.failures: list[str] = []
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @property
    def acknowledged(self) -> int:
        return len(self.created) + len(self.completed)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop after the round in progress (a daily task is never left uncompleted)."""
        self._stopping = True
        if self._task is not None:
            await asyncio.wait_for(self._task, 60)

    async def written(self, more: int) -> None:
        """Wait until `more` further writes were acknowledged."""
        target = self.acknowledged + more

        async def enough() -> bool:
            assert self._task is not None
            assert not self._task.done(), "the writer stopped"
            return self.acknowledged >= target

        await eventually(enough, within=RECEIVE_TIMEOUT_S * 2, interval=0.1)

    async def _run(self) -> None:
        number = 0
        while not self._stopping:
            number += 1
            await self._round(number)
            await asyncio.sleep(self._pause)

    async def _round(self, number: int) -> None:
        plain = await self._send("POST", "/tasks", json={"title": f"plain {number}"})
        if plain is not None:
            self.created.append(plain["id"])
        daily = await self._send(
            "POST",
            "/tasks",
            json={
                "title": f"daily {number}",
                "due_date": now().date().isoformat(),
                "recurrence": {"rule": "FREQ=DAILY"},
            },
        )
        if daily is None:
            return
        self.created.append(daily["id"])
        if await self._send("POST", f"/tasks/{daily['id']}/complete") is not None:
            self.completed.append(daily["series_id"])

    async def _send(self, method: str, path: str, **kwargs: Any) -> Json | None:
        try:
            response = await self._http.request(method, path, headers=self._user.headers, **kwargs)
        except httpx.HTTPError as exc:
            self.failures.append(f"{method} {path}: {exc!r}")
            return None
        if response.status_code not in (200, 201):
            self.failures.append(f"{method} {path}: {response.status_code} {response.text}")
            return None
        body: Json = response.json()
        return body


@pytest.fixture
async def writers(http: httpx.AsyncClient) -> AsyncIterator[Callable[[User], Writer]]:
    """Starts writers (stopped at the end of the test, even a failed one)."""
    started: list[Writer] = []

    def start(user: User) -> Writer:
        writer = Writer(http, user)
        writer.start()
        started.append(writer)
        return writer

    yield start
    for writer in started:
        with contextlib.suppress(Exception):
            await writer.stop()


# --- everything handled, exactly once -------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    writes: int
    facts: int
    updates: int
    audit_rows: int
    ws_messages: int
    next_occurrences: int
    completions: int
    caught_up_s: float
    audit_out_of_order: int
    ws_out_of_order: int

    def line(self, what: str) -> str:
        return (
            f"\n{what}: {self.writes} writes acknowledged; {self.facts} facts and "
            f"{self.updates} updates in the outbox; {self.audit_rows} audit rows "
            f"({self.audit_out_of_order} out of order); {self.ws_messages} WebSocket messages "
            f"({self.ws_out_of_order} out of order); {self.next_occurrences} next occurrences "
            f"for {self.completions} completions; no dead letters; caught up "
            f"{self.caught_up_s:.1f} s after the repair"
        )


async def _poll(probe: Callable[[], Awaitable[Any]]) -> Any:
    return await eventually(probe, within=CATCH_UP_S, interval=0.25)


async def all_handled(sql: Sql, user: User, writer: Writer, feed: Feed, since: float) -> Tally:
    """Wait until every event of the user's writes was handled, then check it was once.

    `since` is the monotonic time the broken part was back: the tally says how long after
    it everything was handled."""

    async def occurrences_made() -> bool:
        series = await sql.series(user.id)
        return all(len(series.get(s, [])) >= 2 for s in writer.completed)

    try:
        await _poll(occurrences_made)
    except AssertionError:
        series = await sql.series(user.id)
        alone = [s for s in writer.completed if len(series.get(s, [])) < 2]
        raise AssertionError(
            f"{len(alone)} of {len(writer.completed)} completions have no next occurrence "
            f"(series {', '.join(alone[:5])}); dead letters: {await sql.dead_letters(user.id)}"
        ) from None

    async def all_sent() -> bool:  # the next occurrences' events included
        return await sql.unsent(user.id) == 0

    await _poll(all_sent)
    facts = [e["id"] for e in await sql.events(user.id, "task-events")]
    updates = [e["id"] for e in await sql.events(user.id, "task-updates")]

    async def audited() -> list[Any]:
        rows = await sql.activity(user.id)
        return rows if len(rows) >= len(facts) else []

    try:
        rows = await _poll(audited)
    except AssertionError:
        seen = {r.event_id for r in await sql.activity(user.id)}
        raise AssertionError(
            f"{_missing(await sql.events(user.id, 'task-events'), seen)} never reached the "
            f"audit log; dead letters: {await sql.dead_letters(user.id)}"
        ) from None

    async def pushed() -> bool:
        assert feed.closed is None, f"the socket closed: {feed.closed!r}"
        return set(feed.ids("task.changed")) >= set(updates)

    try:
        await _poll(pushed)
    except AssertionError:
        seen = set(feed.ids("task.changed"))
        raise AssertionError(
            f"{_missing(await sql.events(user.id, 'task-updates'), seen)} never reached the "
            f"socket; dead letters: {await sql.dead_letters(user.id)}"
        ) from None
    caught_up = time.monotonic() - since

    assert writer.failures == [], writer.failures[:5]
    created, completed = len(writer.created), len(writer.completed)
    assert len(facts) == created + 2 * completed, "an acknowledged write has no event"
    assert len(updates) == len(facts)
    audited_ids = [r.event_id for r in rows]
    assert sorted(audited_ids) == sorted(facts), "the audit rows are not the facts, once each"
    series = await sql.series(user.id)
    assert sorted(series) == sorted(writer.completed)
    assert all(occurrences == [1, 2] for occurrences in series.values()), series
    pushed_ids = feed.ids("task.changed")
    twice = [i for i, n in Counter(pushed_ids).items() if n > 1]
    assert twice == [], f"{len(twice)} updates reached the socket twice"
    assert sorted(pushed_ids) == sorted(updates)
    assert await sql.dead_letters(user.id) == [], "events were parked among the dead letters"
    return Tally(
        writes=writer.acknowledged,
        facts=len(facts),
        updates=len(updates),
        audit_rows=len(rows),
        ws_messages=len(pushed_ids),
        next_occurrences=sum(len(o) - 1 for o in series.values()),
        completions=completed,
        caught_up_s=caught_up,
        audit_out_of_order=_out_of_order(audited_ids, facts),
        ws_out_of_order=_out_of_order(pushed_ids, updates),
    )


def _missing(events: list[Json], seen: set[str]) -> str:
    """The events not in `seen`, described for a failure message."""
    missing = [
        f"{e['type']} {e['id']} (task {e.get('subject')})" for e in events if e["id"] not in seen
    ]
    return f"{len(missing)} of {len(events)} events ({', '.join(missing[:10])})"


def _out_of_order(seen: list[str], made: list[str]) -> int:
    """How many of `seen` came after an event made later than them (0: all in order).

    Around a fault the relay publishes again what it could not confirm, so a consumer may
    see a later event before the copy of an earlier one it handles first."""
    position = {event_id: i for i, event_id in enumerate(made)}
    latest, late = -1, 0
    for event_id in seen:
        if position[event_id] < latest:
            late += 1
        latest = max(latest, position[event_id])
    return late


async def _waiting_in_outbox(sql: Sql, user: User) -> int:
    """Wait until some of the user's events wait in the outbox; how many."""

    async def waiting() -> int:
        return await sql.unsent(user.id)

    count: int = await eventually(waiting, within=RECEIVE_TIMEOUT_S, interval=0.1)
    return count


# --- the broker stopped ---------------------------------------------------------------------

KAFKA_OUTAGE_S = 20.0


async def test_writes_go_on_while_kafka_is_down_and_every_event_arrives_afterwards(
    dist: Distributed,
    new_user: NewUser,
    feeds: OpenFeed,
    sql: Sql,
    writers: Callable[[User], Writer],
) -> None:
    ada = await new_user("ada")
    feed = await feeds(ada)
    writer = writers(ada)
    await writer.written(WRITES_WHILE_BROKEN)
    try:
        await dist.stop_kafka()
        stopped = time.monotonic()
        before = writer.acknowledged
        await writer.written(WRITES_WHILE_BROKEN)
        waiting = await _waiting_in_outbox(sql, ada)
        # The outage itself lasts a set time: the writes go on meanwhile.
        await asyncio.sleep(max(0.0, KAFKA_OUTAGE_S - (time.monotonic() - stopped)))
        during = writer.acknowledged - before
        waiting = max(waiting, await sql.unsent(ada.id))
    finally:
        restart_s = await dist.start_kafka()
    back = time.monotonic()
    await writer.written(WRITES_WHILE_BROKEN)
    await writer.stop()

    tally = await all_handled(sql, ada, writer, feed, back)
    print(
        tally.line(
            f"Kafka down {KAFKA_OUTAGE_S:.0f} s ({during} writes acknowledged meanwhile, "
            f"{waiting} events waiting in the outbox at most), restarted in {restart_s:.1f} s"
        )
    )


# --- sidecars killed ------------------------------------------------------------------------


async def test_killed_sidecars_lose_nothing_once_restarted(
    dist: Distributed,
    new_user: NewUser,
    feeds: OpenFeed,
    sql: Sql,
    writers: Callable[[User], Writer],
) -> None:
    ada = await new_user("ada")
    feed = await feeds(ada)
    writer = writers(ada)
    await writer.written(WRITES_WHILE_BROKEN)
    figures = []
    # The api's: its relay cannot publish, events wait in the outbox. The sync's: a
    # consumer whose uncommitted deliveries come again from Kafka.
    for service in ("api", "sync"):
        try:
            await dist.kill_sidecar(service)
            await writer.written(WRITES_WHILE_BROKEN)
            if service == "api":
                waiting = await _waiting_in_outbox(sql, ada)
                figures.append(f"{waiting} events waiting in the outbox")
        finally:
            restart_s = await dist.start_sidecar(service)
        figures.append(f"daprd of {service} restarted in {restart_s:.1f} s")
    back = time.monotonic()
    await writer.written(WRITES_WHILE_BROKEN)
    await writer.stop()

    tally = await all_handled(sql, ada, writer, feed, back)
    print(tally.line(f"kill -9 of sidecars ({'; '.join(figures)})"))


# --- the scheduler killed with reminders pending --------------------------------------------


async def _booked(dist: Distributed, sql: Sql, user: User, task_id: str) -> bool:
    """Whether the scheduler holds the job of the task's reminder (asked through the
    reminders service's sidecar, by the name that service gives it)."""
    facts = [e for e in await sql.events(user.id, "task-events") if e["subject"] == task_id]
    if not facts:
        return False
    (reminder,) = facts[-1]["data"]["task"]["reminders"]
    name = dapr_job_name(job_name(task_id, reminder["remind_at"]))
    async with dist.sidecar("reminders") as sidecar:
        response = await sidecar.get(f"/v1.0-alpha1/jobs/{name}")
    return response.status_code == 200


async def test_reminders_pending_while_the_scheduler_is_killed_fire_once_after_restart(
    dist: Distributed, http: httpx.AsyncClient, new_user: NewUser, feeds: OpenFeed, sql: Sql
) -> None:
    ada = await new_user("ada")
    feed = await feeds(ada)
    pending = [
        await reminded_at(http, ada, "due during the outage", 8),
        await reminded_at(http, ada, "due during the outage too", 9),
        await reminded_at(http, ada, "due right after it", 20),
    ]
    moments = {task["id"]: remind_at(task) for task in pending}
    for task in pending:
        await eventually(partial(_booked, dist, sql, ada, task["id"]), within=RECEIVE_TIMEOUT_S)
    assert now() < min(moments.values()), "the jobs were booked too late for the test"

    try:
        await dist.kill_scheduler()
        killed = now()
        # Down until the first two have fallen due.
        last = max(moments[t["id"]] for t in pending[:2]) + timedelta(seconds=1)
        await asyncio.sleep(max(0.0, (last - now()).total_seconds()))
    finally:
        restarting = now()
        restart_s = await dist.start_scheduler()
    restarted = now()
    during = [t for t, moment in moments.items() if moment < restarted]
    assert len(during) >= 2

    for task_id, moment in moments.items():
        (notification,) = await feed.until(partial(feed.notifications, task_id), within=CATCH_UP_S)
        fired = parse(notification["fired_at"])
        assert fired >= moment, "fired before its moment"
        if task_id in during:  # no scheduler, no trigger
            assert fired >= restarting
    lateness = {
        task_id: (parse(feed.notifications(task_id)[0]["fired_at"]) - moment).total_seconds()
        for task_id, moment in moments.items()
    }

    # A later reminder, booked after the restart, fires: the others had their chance to
    # fire again by then.
    marker = await reminded_at(http, ada, "marker", 4)
    await feed.until(lambda: feed.notifications(marker["id"]), within=CATCH_UP_S)
    for task_id in moments:
        assert len(feed.notifications(task_id)) == 1, task_id

    async def audited() -> list[Json]:
        entries = await history(http, ada)
        return entries if reminders_due(entries, marker["id"]) else []

    entries = await eventually(audited, within=RECEIVE_TIMEOUT_S)
    for task_id, moment in moments.items():
        (due,) = reminders_due(entries, task_id)
        assert parse(due["data"]["remind_at"]) == moment
    assert await sql.dead_letters(ada.id) == []
    print(
        f"\nscheduler killed {(restarted - killed).total_seconds():.1f} s (restart took "
        f"{restart_s:.1f} s); {len(during)} reminders fell due meanwhile, "
        f"{len(moments) - len(during)} after; each fired once, late by "
        + ", ".join(f"{lateness[t]:.1f} s" for t in moments)
    )


# --- every event delivered twice ------------------------------------------------------------


async def _publish(sidecar: httpx.AsyncClient, topic: str, event: Json) -> None:
    """Publish a CloudEvent as it is (same id) to `topic`, in its user's partition."""
    response = await sidecar.post(
        f"/v1.0/publish/pubsub/{topic}",
        content=json.dumps(event),
        headers={"content-type": "application/cloudevents+json"},
        params={"metadata.partitionKey": event["userid"]},
    )
    assert response.status_code == 204, response.text


def _reminder_due_event(row: Any, user: User) -> Json:
    """The `reminder.due` CloudEvent an audit row recorded, rebuilt with its id."""
    return {
        "specversion": "1.0",
        "id": row.event_id,
        "source": "taskstream/reminders",
        "type": "reminder.due",
        "time": iso(row.time),
        "datacontenttype": "application/json",
        "userid": user.id,
        "subject": row.task_id,
        "data": row.data,
    }


async def test_every_event_published_twice_is_acted_on_once(
    dist: Distributed, http: httpx.AsyncClient, new_user: NewUser, feeds: OpenFeed, sql: Sql
) -> None:
    ada = await new_user("ada")
    feed = await feeds(ada)
    # One of each effect: a notification, a next occurrence, audit rows, socket updates.
    reminded = await reminded_at(http, ada, "Call the plumber", 6)
    daily = await create(
        http, ada, "Daily", due_date=now().date().isoformat(), recurrence={"rule": "FREQ=DAILY"}
    )
    await post(http, ada, f"/tasks/{daily['id']}/complete")
    plain = await create(http, ada, "Plain")
    response = await http.patch(
        f"/tasks/{plain['id']}", headers=ada.headers, json={"title": "Plain, renamed"}
    )
    assert response.status_code == 200, response.text
    await feed.until(lambda: feed.notifications(reminded["id"]))

    async def settled() -> bool:
        series = await sql.series(ada.id)
        if series.get(daily["series_id"]) != [1, 2] or await sql.unsent(ada.id):
            return False
        facts = await sql.events(ada.id, "task-events")
        updates = await sql.events(ada.id, "task-updates")
        rows = await sql.activity(ada.id)
        return len(rows) == len(facts) + 1 and set(feed.ids("task.changed")) >= {
            e["id"] for e in updates
        }

    await eventually(settled, within=RECEIVE_TIMEOUT_S)
    facts = await sql.events(ada.id, "task-events")
    updates = await sql.events(ada.id, "task-updates")
    rows = await sql.activity(ada.id)
    (due_row,) = [r for r in rows if r.type == "reminder.due"]
    (notification,) = [e for e in feed.events() if e["type"] == "notification"]
    again = (
        [("task-events", e) for e in facts]
        + [("task-updates", e) for e in updates]
        + [("reminders", _reminder_due_event(due_row, ada))]
        + [("task-updates", notification)]
    )
    async with dist.sidecar("api") as sidecar:
        for topic, event in again:
            await _publish(sidecar, topic, event)

    # Markers after the duplicates, in the same partitions: one per consumer.
    marker_daily = await create(
        http, ada, "marker", due_date=now().date().isoformat(), recurrence={"rule": "FREQ=DAILY"}
    )
    await post(http, ada, f"/tasks/{marker_daily['id']}/complete")
    marker_reminder = await reminded_at(http, ada, "marker reminder", 4)
    await feed.until(lambda: feed.notifications(marker_reminder["id"]), within=CATCH_UP_S)

    async def markers_through() -> bool:
        series = await sql.series(ada.id)
        audited = {r.task_id for r in await sql.activity(ada.id) if r.type == "reminder.due"}
        return (
            series.get(marker_daily["series_id"]) == [1, 2]
            and marker_reminder["id"] in audited
            and len(feed.changed(marker_daily["id"], "task.completed")) > 0
        )

    await eventually(markers_through, within=CATCH_UP_S)

    # Nothing acted twice: no audit row, occurrence, notification or socket message more.
    after = await sql.activity(ada.id)
    original = {r.event_id for r in rows}
    assert [r.event_id for r in after][: len(rows)] == [r.event_id for r in rows]
    assert not original & {r.event_id for r in after[len(rows) :]}
    assert (await sql.series(ada.id))[daily["series_id"]] == [1, 2]
    assert len(feed.notifications(reminded["id"])) == 1
    assert len(reminders_due(await history(http, ada), reminded["id"])) == 1
    counted = Counter(e["id"] for e in feed.events())
    assert [i for i, n in counted.items() if n > 1] == []
    assert {e["id"] for e in updates} | {notification["id"]} <= set(counted)
    assert await sql.dead_letters(ada.id) == []
    print(
        f"\nredelivery: {len(again)} events published a second time ({len(facts)} facts, "
        f"{len(updates)} updates, 1 reminder.due, 1 notification); acted on again: 0 "
        f"(audit rows {len(rows)}, next occurrences 1, notifications 1, each socket message "
        "once)"
    )


# --- consumers killed mid-stream -------------------------------------------------------------
# Last of all (this file runs after test_event_flows.py): when a consumer's Kafka subscription
# does not come back after its app restarts (dapr/components-contrib#4349, app health checks
# on), this test fails and that consumer stays stuck, which would fail the tests after it.


async def test_consumers_killed_mid_stream_handle_every_event_once_after_restart(
    dist: Distributed,
    new_user: NewUser,
    feeds: OpenFeed,
    sql: Sql,
    writers: Callable[[User], Writer],
) -> None:
    ada = await new_user("ada")
    feed = await feeds(ada)
    writer = writers(ada)
    await writer.written(WRITES_WHILE_BROKEN)
    figures = []
    # One after the other, each started again at once, as a supervisor would: the writes
    # go on while it starts. (An event in flight when its consumer died is retried by its
    # sidecar only for a while, see resiliency.yaml, then parked among the dead letters,
    # which count as lost here.)
    for service in ("audit", "recurring"):
        before = writer.acknowledged
        killed = time.monotonic()
        try:
            await dist.kill(service)
        finally:
            restart_s = await dist.start(service)
        down_s = time.monotonic() - killed
        during = writer.acknowledged - before
        assert during > 0, "no write went through while the consumer was down"
        figures.append(
            f"{service} down {down_s:.1f} s (its start took {restart_s:.1f} s), "
            f"{during} writes meanwhile"
        )
        await writer.written(WRITES_WHILE_BROKEN)
    back = time.monotonic()
    await writer.written(WRITES_WHILE_BROKEN)
    await writer.stop()

    tally = await all_handled(sql, ada, writer, feed, back)
    print(tally.line(f"kill -9 of consumers: {'; '.join(figures)}"))
