"""The event backbone of the embedded shape: outbox and relay, in-process bus, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from taskstream.adapters.bus import InProcessEventBus
from taskstream.adapters.db.outbox import OutboxRelay
from taskstream.adapters.db.tables import activity, outbox
from taskstream.adapters.system import new_id
from taskstream.app.events import CloudEvent, EventFactory, EventType, Topic
from taskstream.app.ports import Drop, EventHandler
from taskstream.bootstrap import Container, build
from taskstream.domain.tasks import NewTask
from taskstream.entrypoints.api.app import create_app
from taskstream.settings import Settings
from tests.conftest import AdjustableClock, eventually
from tests.integration.conftest import TEST_SECRET, Login, settled, statements

Headers = dict[str, str]
Lanes = dict[tuple[str, str], list[str]]

TASKSTREAM = Path(sys.executable).parent / "taskstream"


class Recorder:
    """A subscriber to every topic that remembers what it was given, in order."""

    def __init__(self, bus: InProcessEventBus) -> None:
        self.events: list[CloudEvent] = []
        for topic in Topic:
            types = frozenset(t for t in EventType if t.topic is topic)
            bus.subscribe(f"test.recorder.{topic}", topic, types, self.record)

    async def record(self, event: CloudEvent) -> None:
        self.events.append(event)

    def lanes(self) -> Lanes:
        return _lanes((e.topic.value, e.userid, e.id) for e in self.events)


def _lanes(rows: Iterable[tuple[str, str, str]]) -> Lanes:
    """Event ids per (topic, user): the order that must be kept."""
    lanes: Lanes = defaultdict(list)
    for topic, user_id, event_id in rows:
        lanes[(topic, user_id)].append(event_id)
    return dict(lanes)


async def _outbox(container: Container) -> list[Any]:
    async with container.database.engine.connect() as conn:
        rows = await conn.execute(select(outbox).order_by(outbox.c.seq))
        return list(rows.all())


def _outbox_lanes(rows: list[Any]) -> Lanes:
    return _lanes((row.topic, row.partition_key, row.event_id) for row in rows)


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


# --- the outbox, relayed by the running container -----------------------------------------


async def test_every_task_write_leaves_events_in_the_outbox_that_are_published_once(
    client: httpx.AsyncClient, container: Container, login: Login
) -> None:
    recorder = Recorder(container.bus)
    ada = await login()
    written: list[tuple[str, str]] = []  # (fact type, task id), in write order
    rows_before = len(await _outbox(container))

    task = await _ok(await client.post("/tasks", headers=ada, json={"title": "Buy milk"}), 201)
    written.append(("task.created", task["id"]))
    await _ok(await client.patch(f"/tasks/{task['id']}", headers=ada, json={"tags": ["home"]}))
    written.append(("task.updated", task["id"]))
    await _ok(await client.post(f"/tasks/{task['id']}/complete", headers=ada))
    written.append(("task.completed", task["id"]))
    await _ok(await client.post(f"/tasks/{task['id']}/reopen", headers=ada))
    written.append(("task.reopened", task["id"]))
    await _ok(await client.patch("/tags/home", headers=ada, json={"name": "house"}))
    written.append(("task.updated", task["id"]))
    await _ok(await client.delete(f"/tasks/{task['id']}", headers=ada), 204)
    written.append(("task.deleted", task["id"]))

    rows = (await _outbox(container))[rows_before:]
    facts = [r.payload for r in rows if r.topic == "task-events"]
    updates = [r.payload for r in rows if r.topic == "task-updates"]
    assert len(rows) == 2 * len(written)
    assert [(p["type"], p["subject"]) for p in facts] == written
    assert [(p["data"]["change"], p["data"]["task_id"]) for p in updates] == written
    assert {p["type"] for p in updates} == {"task.changed"}

    await settled(container)
    rows = (await _outbox(container))[rows_before:]
    assert all(row.sent_at is not None for row in rows)
    assert sorted(e.id for e in recorder.events) == sorted(row.event_id for row in rows)
    assert recorder.lanes() == _outbox_lanes(rows)


async def test_each_user_s_events_arrive_in_the_order_of_their_writes(
    client: httpx.AsyncClient, container: Container, login: Login
) -> None:
    recorder = Recorder(container.bus)
    users = {"ada@example.com": await login(), "bob@example.com": await login("bob@example.com")}

    async def busy_day(headers: Headers) -> list[tuple[str, str]]:
        written: list[tuple[str, str]] = []
        ids = []
        for title in ("Buy milk", "Call mum", "File taxes"):
            task = await _ok(
                await client.post("/tasks", headers=headers, json={"title": title}), 201
            )
            ids.append(task["id"])
            written.append(("task.created", task["id"]))
        for task_id in reversed(ids):
            await _ok(await client.post(f"/tasks/{task_id}/complete", headers=headers))
            written.append(("task.completed", task_id))
            await _ok(
                await client.patch(f"/tasks/{task_id}", headers=headers, json={"priority": "low"})
            )
            written.append(("task.updated", task_id))
        await _ok(await client.delete(f"/tasks/{ids[1]}", headers=headers), 204)
        written.append(("task.deleted", ids[1]))
        return written

    written = dict(
        zip(users, await asyncio.gather(*(busy_day(h) for h in users.values())), strict=True)
    )
    await settled(container)

    for headers, expected in zip(users.values(), written.values(), strict=True):
        me = await _ok(await client.get("/users/me", headers=headers))
        mine = [e for e in recorder.events if e.userid == me["id"]]
        facts = [(e.type.value, e.subject) for e in mine if e.topic is Topic.TASK_EVENTS]
        updates = [
            (e.data["change"], e.data["task_id"]) for e in mine if e.topic is Topic.TASK_UPDATES
        ]
        assert facts == expected
        assert updates == expected


# --- the relay, over a bus that fails for a while -------------------------------------------


class FlakyBus:
    """The in-process bus behind a link that may go down: while it is down, `publish`
    raises after letting `budget` more events through; the events in `hiccups` are
    refused once each, down or not."""

    def __init__(self, inner: InProcessEventBus) -> None:
        self.inner = inner
        self.down = False
        self.budget = 0
        self.hiccups: set[str] = set()
        self.refused = 0

    async def publish(self, event: CloudEvent) -> None:
        if event.id in self.hiccups:
            self.hiccups.discard(event.id)
            self.refused += 1
            raise ConnectionError("the broker lost the connection")
        if self.down:
            if self.budget <= 0:
                self.refused += 1
                raise ConnectionError("the broker does not answer")
            self.budget -= 1
        await self.inner.publish(event)

    async def publish_all(self, events: list[CloudEvent]) -> set[str]:
        not_taken: set[str] = set()
        stopped: set[str] = set()
        for event in events:
            if event.partition_key in stopped:
                not_taken.add(event.id)
                continue
            try:
                await self.publish(event)
            except ConnectionError:
                stopped.add(event.partition_key)
                not_taken.add(event.id)
        return not_taken

    def subscribe(
        self, name: str, topic: Topic, types: frozenset[EventType], handler: EventHandler
    ) -> None:
        self.inner.subscribe(name, topic, types, handler)


@pytest.fixture
async def idle(settings: Settings, clock: AdjustableClock) -> AsyncIterator[Container]:
    """A container whose own relay and scheduler do not run."""
    built = build(settings, clock=clock)
    yield built
    await built.stop()


@pytest.fixture
async def idle_client(idle: Container) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(idle, migrate=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as http:
        yield http


async def _sign_up(client: httpx.AsyncClient, email: str) -> Headers:
    body = {"email": email, "password": "correct horse battery"}
    await _ok(await client.post("/auth/signup", json=body), 201)
    tokens = await _ok(await client.post("/auth/login", json=body))
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_writes_succeed_while_the_bus_is_down_and_their_events_follow_once_in_order(
    idle_client: httpx.AsyncClient, idle: Container
) -> None:
    client = idle_client
    bus = FlakyBus(InProcessEventBus(idle.dead_letters))
    recorder = Recorder(bus.inner)
    relay = OutboxRelay(idle.database, bus, idle.clock, poll=0.1)
    ada = await _sign_up(client, "ada@example.com")
    bob = await _sign_up(client, "bob@example.com")
    runner = asyncio.create_task(relay.run())
    try:
        milk = await _ok(await client.post("/tasks", headers=ada, json={"title": "Milk"}), 201)

        async def relayed() -> bool:
            return await relay.pending() == 0

        await eventually(relayed)
        assert len(recorder.events) == 2
        milk_rows = await _outbox(idle)

        bus.down, bus.budget = True, 1  # one more event gets through, then none
        await _ok(await client.post(f"/tasks/{milk['id']}/complete", headers=ada))
        await _ok(await client.post("/tasks", headers=bob, json={"title": "Taxes"}), 201)
        await _ok(await client.post(f"/tasks/{milk['id']}/reopen", headers=ada))
        await _ok(await client.delete(f"/tasks/{milk['id']}", headers=ada), 204)

        async def stuck() -> bool:
            return bus.refused >= 2 and await relay.pending() == 7

        await eventually(stuck)
        assert len(recorder.events) == 3

        # Back up, but the link drops once in the middle of Ada's facts.
        pending = [r for r in await _outbox(idle) if r.sent_at is None]
        ada_id = milk_rows[0].partition_key
        ada_facts = [r for r in pending if (r.topic, r.partition_key) == ("task-events", ada_id)]
        bus.hiccups = {ada_facts[-2].event_id}
        bus.down = False
        await eventually(relayed)
        assert bus.hiccups == set()
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner

    rows = await _outbox(idle)
    assert len(rows) == 10
    assert all(row.sent_at is not None for row in rows)
    ids = [e.id for e in recorder.events]
    assert len(ids) == len(set(ids)) == 10
    assert recorder.lanes() == _outbox_lanes(rows)


async def _unmarked(container: Container) -> set[str]:
    return {row.event_id for row in await _outbox(container) if row.sent_at is None}


async def test_rounds_of_every_topic_are_marked_sent_together_and_never_published_twice(
    idle: Container,
) -> None:
    bus = FlakyBus(InProcessEventBus(idle.dead_letters))
    recorder = Recorder(bus.inner)
    relay = OutboxRelay(idle.database, bus, idle.clock, mark_every=3600)
    ada = await idle.auth.sign_up("ada@example.com", "correct horse battery")
    milk = await idle.tasks.create(ada.id, NewTask("Milk"))
    for topic in (Topic.TASK_EVENTS, Topic.TASK_UPDATES):
        assert await relay.relay_once(topic) == (1, False)
    bread = await idle.tasks.create(ada.id, NewTask("Bread"))
    (bread_update,) = [
        r.event_id for r in await _outbox(idle) if r.topic == "task-updates" and r.sent_at is None
    ][-1:]
    bus.hiccups = {bread_update}  # the bus fails to take this one once
    assert await relay.relay_once(Topic.TASK_EVENTS) == (1, False)
    assert await relay.relay_once(Topic.TASK_UPDATES) == (0, True)

    # Published, not marked yet: a round does not take them again.
    rows = await _outbox(idle)
    assert len(rows) == 4
    assert await _unmarked(idle) == {row.event_id for row in rows}
    assert await relay.relay_once(Topic.TASK_EVENTS) == (0, False)
    assert [e.subject for e in recorder.events] == [milk.id, milk.id, bread.id]

    with statements(idle, "UPDATE outbox") as updates:
        await relay.mark_published()
    assert len(updates) == 1, "one transaction marks the rounds of every topic"
    assert await _unmarked(idle) == {bread_update}, "the row not taken stays unsent"

    assert await relay.relay_once(Topic.TASK_UPDATES) == (1, False)
    await relay.mark_published()
    assert await _unmarked(idle) == set()
    ids = [e.id for e in recorder.events]
    assert sorted(ids) == sorted(row.event_id for row in rows)
    assert recorder.lanes() == _outbox_lanes(rows)


async def test_a_backlog_of_many_batches_drains_in_order_while_marks_wait(
    idle: Container,
) -> None:
    recorder = Recorder(idle.bus)
    relay = OutboxRelay(idle.database, idle.bus, idle.clock, batch=2, mark_every=3600)
    ada = await idle.auth.sign_up("ada@example.com", "correct horse battery")
    for title in ("Milk", "Bread", "Eggs"):
        await idle.tasks.create(ada.id, NewTask(title))
    sent = [await relay.relay_once() for _ in range(5)]
    assert sent == [(2, False), (2, False), (2, False), (0, False), (0, False)]
    rows = await _outbox(idle)
    ids = [e.id for e in recorder.events]
    assert len(ids) == len(set(ids)) == 6
    assert recorder.lanes() == _outbox_lanes(rows)


async def test_a_stopping_relay_marks_what_it_published(idle: Container) -> None:
    recorder = Recorder(idle.bus)
    relay = OutboxRelay(idle.database, idle.bus, idle.clock, mark_every=3600)
    runner = asyncio.create_task(relay.run())
    ada = await idle.auth.sign_up("ada@example.com", "correct horse battery")
    await idle.tasks.create(ada.id, NewTask("Milk"))

    async def published() -> bool:
        return len(recorder.events) == 2

    await eventually(published)
    assert len(await _unmarked(idle)) == 2
    relay.stop()
    await asyncio.wait_for(runner, 5)
    assert await _unmarked(idle) == set()


async def test_a_batch_subscriber_gets_its_events_of_a_round_at_once_in_order(
    idle: Container,
) -> None:
    bus = InProcessEventBus(idle.dead_letters)
    one_by_one: list[str] = []
    batches: list[list[str]] = []

    async def each(event: CloudEvent) -> None:
        one_by_one.append(event.id)

    async def at_once(events: list[CloudEvent]) -> None:
        batches.append([e.id for e in events])

    async def not_this_way(event: CloudEvent) -> None:
        raise AssertionError("a round goes to the batch handler")

    facts = frozenset({EventType.TASK_CREATED, EventType.TASK_COMPLETED})
    bus.subscribe("test.each", Topic.TASK_EVENTS, facts, each)
    bus.subscribe("test.batch", Topic.TASK_EVENTS, facts, not_this_way, at_once)
    events = [
        _event(idle),
        _event(idle, EventType.TASK_DELETED),  # a type neither takes
        _event(idle, EventType.TASK_COMPLETED),
        _event(idle),
    ]

    assert await bus.publish_all(events) == set()

    taken = [events[0].id, events[2].id, events[3].id]
    assert batches == [taken]
    assert one_by_one == taken


async def test_a_failed_batch_goes_one_by_one_and_loses_nothing(idle: Container) -> None:
    bus = InProcessEventBus(idle.dead_letters, max_attempts=2, first_backoff=0.01)
    handled: list[str] = []
    events = [_event(idle) for _ in range(3)]
    broken = events[1].id

    async def each(event: CloudEvent) -> None:
        if event.id == broken:
            raise RuntimeError("this one cannot be written")
        handled.append(event.id)

    async def at_once(events: list[CloudEvent]) -> None:
        raise RuntimeError("the write of the batch failed")

    bus.subscribe(
        "test.batch", Topic.TASK_EVENTS, frozenset({EventType.TASK_CREATED}), each, at_once
    )

    assert await bus.publish_all(events) == set()

    assert handled == [events[0].id, events[2].id]
    [letter] = await idle.dead_letters.list()
    assert (letter.subscription, letter.event) == ("test.batch", events[1])


async def test_the_audit_records_a_round_in_one_write_and_a_redelivery_adds_nothing(
    idle: Container,
) -> None:
    for handles in idle.audit.subscriptions():
        idle.bus.subscribe(
            handles.name, handles.topic, handles.types, handles.handler, handles.batch
        )
    relay = OutboxRelay(idle.database, idle.bus, idle.clock)
    ada = await idle.auth.sign_up("ada@example.com", "correct horse battery")
    written = [(await idle.tasks.create(ada.id, NewTask(title))).id for title in ("A", "B", "C")]

    with statements(idle, "INSERT INTO activity") as inserts:
        assert await relay.relay_once(Topic.TASK_EVENTS) == (3, False)
    assert len(inserts) == 1

    facts = [
        CloudEvent.from_dict(r.payload) for r in await _outbox(idle) if r.topic == "task-events"
    ]
    assert await idle.bus.publish_all(facts) == set()  # delivered again: recorded once
    async with idle.database.engine.connect() as conn:
        rows = (await conn.execute(select(activity).order_by(activity.c.seq))).all()
    assert [(row.type, row.task_id) for row in rows] == [("task.created", t) for t in written]


# --- dead letters -------------------------------------------------------------------------


def _event(container: Container, type_: EventType = EventType.TASK_CREATED) -> CloudEvent:
    factory = EventFactory("taskstream/test", new_id, container.clock)
    return factory.make(type_, "u-1", {"task": {"id": "t-1", "title": "Milk"}}, subject="t-1")


async def test_a_handler_that_keeps_failing_parks_the_event_until_it_is_replayed(
    idle: Container,
) -> None:
    bus = InProcessEventBus(idle.dead_letters, max_attempts=2, first_backoff=0.01)
    fragile: list[str] = []
    healthy: list[str] = []
    broken = True

    async def fragile_handler(event: CloudEvent) -> None:
        fragile.append(event.id)
        if broken:
            raise RuntimeError("the mail server is down")

    async def healthy_handler(event: CloudEvent) -> None:
        healthy.append(event.id)

    created = frozenset({EventType.TASK_CREATED})
    bus.subscribe("test.fragile", Topic.TASK_EVENTS, created, fragile_handler)
    bus.subscribe("test.healthy", Topic.TASK_EVENTS, created, healthy_handler)
    event = _event(idle)

    await bus.publish(event)

    assert fragile == [event.id, event.id]
    assert healthy == [event.id]
    [letter] = await idle.dead_letters.list()
    assert letter.subscription == "test.fragile"
    assert letter.attempts == 2
    assert "the mail server is down" in letter.error
    assert letter.event == event
    assert letter.replayed_at is None
    assert bus.dead == 1

    assert await bus.replay(letter.id) is False  # still broken: the same letter, updated
    [again] = await idle.dead_letters.list()
    assert (again.id, again.attempts, again.replayed_at) == (letter.id, 4, None)
    assert bus.dead == 1

    broken = False
    assert await bus.replay(letter.id) is True

    assert fragile == [event.id] * 5
    assert healthy == [event.id]  # the replay goes to the subscriber that failed only
    assert await idle.dead_letters.list() == []
    replayed = await idle.dead_letters.get(letter.id)
    assert replayed is not None
    assert replayed.replayed_at is not None
    assert await bus.replay(letter.id) is False  # once is enough
    assert fragile == [event.id] * 5


async def test_a_dropped_event_is_neither_retried_nor_parked(idle: Container) -> None:
    bus = InProcessEventBus(idle.dead_letters, max_attempts=3, first_backoff=0.01)
    calls: list[str] = []

    async def refuse(event: CloudEvent) -> None:
        calls.append(event.id)
        raise Drop("not for me")

    bus.subscribe("test.refusing", Topic.TASK_EVENTS, frozenset({EventType.TASK_CREATED}), refuse)
    event = _event(idle)

    await bus.publish(event)

    assert calls == [event.id]
    assert await idle.dead_letters.list() == []
    assert bus.dead == 0


async def test_an_event_of_another_type_or_topic_is_not_delivered(idle: Container) -> None:
    bus = InProcessEventBus(idle.dead_letters)
    calls: list[str] = []

    async def record(event: CloudEvent) -> None:
        calls.append(event.id)

    bus.subscribe("test.created", Topic.TASK_EVENTS, frozenset({EventType.TASK_CREATED}), record)
    await bus.publish(_event(idle, EventType.TASK_DELETED))
    await bus.publish(_event(idle, EventType.REMINDER_DUE))
    created = _event(idle)
    await bus.publish(created)

    assert calls == [created.id]


# --- the dead-letters command ----------------------------------------------------------------


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKSTREAM_")}
    env |= {"TASKSTREAM_DATA_DIR": str(data_dir), "COLUMNS": "250"}
    return subprocess.run(  # noqa: S603 -- our own executable, arguments are literals
        [str(TASKSTREAM), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=data_dir,
        timeout=60,
        check=False,
    )


def test_dead_letters_are_listed_and_replayed_from_the_command_line(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, jwt_secret=TEST_SECRET)  # type: ignore[call-arg, arg-type]

    async def park() -> tuple[list[str], list[str]]:
        container = build(settings)
        try:
            await container.database.migrate()
            events = [_event(container), _event(container, EventType.TASK_DELETED)]
            letters = [
                await container.dead_letters.park("audit.task-events", e, "RuntimeError()", 5)
                for e in events
            ]
            return letters, [e.id for e in events]
        finally:
            await container.database.dispose()

    async def recorded() -> list[str]:
        container = build(settings)
        try:
            async with container.database.engine.connect() as conn:
                rows = await conn.execute(select(activity.c.event_id).order_by(activity.c.seq))
                return [row.event_id for row in rows]
        finally:
            await container.database.dispose()

    async def waiting() -> list[str]:
        container = build(settings)
        try:
            return [letter.id for letter in await container.dead_letters.list()]
        finally:
            await container.database.dispose()

    (first, second), event_ids = asyncio.run(park())

    listed = _cli(tmp_path, "dead-letters", "list")
    assert listed.returncode == 0, listed.stderr
    for letter_id, event_id in zip((first, second), event_ids, strict=True):
        [row] = [line for line in listed.stdout.splitlines() if letter_id in line]
        assert "audit.task-events" in row
        assert event_id in row

    replayed = _cli(tmp_path, "dead-letters", "replay", first)
    assert replayed.returncode == 0, replayed.stderr
    assert f"Replayed {first}." in replayed.stdout
    assert asyncio.run(recorded()) == event_ids[:1]
    assert asyncio.run(waiting()) == [second]

    again = _cli(tmp_path, "dead-letters", "replay", first)
    assert again.returncode == 1
    assert "waiting for a replay" in again.stderr
    assert "Traceback" not in again.stderr

    every = _cli(tmp_path, "dead-letters", "replay", "--all")
    assert every.returncode == 0, every.stderr
    assert f"Replayed {second}." in every.stdout
    assert asyncio.run(recorded()) == event_ids

    assert asyncio.run(waiting()) == []
