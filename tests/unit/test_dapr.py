"""The Dapr adapters' own logic: routing deliveries, answering Dapr, naming jobs.

What goes over the wire to a real daprd is covered by tests/e2e."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from taskstream.adapters.dapr import DaprEventBus, Sidecar, dapr_job_name, dead_letter_topic
from taskstream.app.events import CloudEvent, EventType, Topic
from taskstream.app.ports import Drop
from taskstream.bootstrap import SERVICES, SUBSCRIBED, build
from taskstream.observability import metrics, trace
from taskstream.settings import Settings


@pytest.fixture
async def bus() -> AsyncIterator[DaprEventBus]:
    sidecar = Sidecar(1)  # never called: these tests do not publish
    yield DaprEventBus(sidecar, "pubsub", "audit")
    await sidecar.close()


def _event(type_: EventType = EventType.TASK_CREATED) -> CloudEvent:
    return CloudEvent(
        id="e1",
        type=type_,
        source="taskstream/api",
        userid="u1",
        data={"task": {"id": "t1"}},
        time=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_job_names_become_distinct_dns_names() -> None:
    dns = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    names = [
        "reminder/0b1c-9f/2026-11-23T12:03:40Z",
        "reminder/0b1c-9f/2026-11-23T12:03:41Z",
        "Reminder/0b1c-9f/2026-11-23T12:03:40Z",
        "---",
        "x" * 300,
    ]
    mapped = [dapr_job_name(name) for name in names]
    assert mapped[0].startswith("reminder-0b1c-9f-2026-11-23t12-03-40z.")
    assert all(dns.match(m) and len(m) <= 200 for m in mapped)
    assert len(set(mapped)) == len(names)
    assert dapr_job_name(names[0]) == mapped[0]


async def test_a_delivery_goes_to_the_handlers_of_its_type_only(bus: DaprEventBus) -> None:
    seen: list[str] = []

    async def created(event: CloudEvent) -> None:
        seen.append(f"created:{event.id}")

    async def completed(event: CloudEvent) -> None:
        seen.append(f"completed:{event.id}")

    bus.subscribe("a", Topic.TASK_EVENTS, frozenset({EventType.TASK_CREATED}), created)
    bus.subscribe("b", Topic.TASK_EVENTS, frozenset({EventType.TASK_COMPLETED}), completed)
    assert await bus.deliver("task-events", _event().to_json()) == "SUCCESS"
    assert seen == ["created:e1"]
    assert bus.delivered == 1


async def test_a_failing_handler_asks_for_a_retry_and_drop_is_not_a_failure(
    bus: DaprEventBus,
) -> None:
    async def failing(event: CloudEvent) -> None:
        raise ConnectionError("the database went away")

    async def refusing(event: CloudEvent) -> None:
        raise Drop("not for me")

    types = frozenset({EventType.TASK_CREATED})
    bus.subscribe("refusing", Topic.TASK_EVENTS, types, refusing)
    assert await bus.deliver("task-events", _event().to_json()) == "SUCCESS"
    bus.subscribe("failing", Topic.TASK_EVENTS, types, failing)
    assert await bus.deliver("task-events", _event().to_json()) == "RETRY"


async def test_a_message_that_is_not_one_of_our_events_is_dropped(bus: DaprEventBus) -> None:
    for body in (b"not json", b"[1]", b'{"specversion": "0.3"}'):
        assert await bus.deliver("task-events", body) == "DROP"


async def test_each_topic_is_one_subscription_with_its_dead_letter_topic(
    bus: DaprEventBus,
) -> None:
    async def handler(event: CloudEvent) -> None:
        return None

    bus.subscribe("x", Topic.TASK_EVENTS, frozenset({EventType.TASK_CREATED}), handler)
    bus.subscribe("y", Topic.TASK_EVENTS, frozenset({EventType.TASK_DELETED}), handler)
    bus.subscribe("z", Topic.TASK_UPDATES, frozenset({EventType.TASK_CHANGED}), handler)
    bus.subscribe("r", Topic.REMINDERS, frozenset({EventType.REMINDER_DUE}), handler)
    assert bus.dapr_subscriptions() == [
        {  # in bulk, gathered for longer: work in the background
            "pubsubname": "pubsub",
            "topic": "task-events",
            "route": "/events/task-events/bulk",
            "deadLetterTopic": "dead-letters.audit.task-events",
            "bulkSubscribe": {"enabled": True, "maxMessagesCount": 100, "maxAwaitDurationMs": 250},
        },
        {  # live updates: each event the moment it arrives
            "pubsubname": "pubsub",
            "topic": "task-updates",
            "route": "/events/task-updates",
            "deadLetterTopic": "dead-letters.audit.task-updates",
        },
        {  # in bulk: on their way to a person
            "pubsubname": "pubsub",
            "topic": "reminders",
            "route": "/events/reminders/bulk",
            "deadLetterTopic": "dead-letters.audit.reminders",
            "bulkSubscribe": {"enabled": True, "maxMessagesCount": 100, "maxAwaitDurationMs": 50},
        },
    ]
    assert dead_letter_topic("sync", Topic.TASK_UPDATES) == "dead-letters.sync.task-updates"


def test_the_api_keeps_the_dead_letters_of_every_subscription(tmp_path: object) -> None:
    """SUBSCRIBED (what the api parks) must match what the services subscribe to."""
    container = build(Settings(data_dir=tmp_path, jwt_secret="s" * 40))  # type: ignore[arg-type]
    actual = {
        service.name: tuple(sorted({h.topic for h in service.subscriptions()}))
        for service in container.services
    }
    assert actual == {name: tuple(sorted(topics)) for name, topics in SUBSCRIBED.items()}
    assert set(SUBSCRIBED) | {"api"} == set(SERVICES)


async def test_a_delivery_runs_in_its_events_trace_and_is_counted(bus: DaprEventBus) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    traced = replace(_event(), traceparent=f"00-{trace_id}-00f067aa0ba902b7-01")
    seen: list[str] = []

    async def handler(event: CloudEvent) -> None:
        context = trace.current()
        assert context is not None
        seen.append(context.trace_id)
        # An event made while handling continues the trace of the one handled.
        assert trace.parse(_event().traceparent) is not None
        assert _event().traceparent.split("-")[1] == trace_id

    async def failing(event: CloudEvent) -> None:
        raise ConnectionError("the database went away")

    def count(outcome: str, subscriber: str) -> float:
        sample = metrics.REGISTRY.get_sample_value(
            "taskstream_events_consumed_total",
            {"topic": "task-events", "subscriber": subscriber, "outcome": outcome},
        )
        return sample or 0.0

    types = frozenset({EventType.TASK_CREATED})
    bus.subscribe("traced", Topic.TASK_EVENTS, types, handler)
    bus.subscribe("failing", Topic.TASK_EVENTS, types, failing)
    before = (count("handled", "traced"), count("failed", "failing"))
    assert await bus.deliver("task-events", traced.to_json()) == "RETRY"
    assert seen == [trace_id]
    assert (count("handled", "traced"), count("failed", "failing")) == (
        before[0] + 1,
        before[1] + 1,
    )
    assert trace.current() is None  # the context ends with the delivery


def _bulk(*events: object) -> bytes:
    """A bulk delivery as daprd sends it: an entry per message, the event as JSON."""
    entries = [
        {"entryId": f"entry-{i}", "event": event, "contentType": "application/cloudevents+json"}
        for i, event in enumerate(events)
    ]
    envelope = {"entries": entries, "id": "b1", "pubsubname": "pubsub", "topic": "task-events"}
    return json.dumps(envelope).encode()


async def test_a_bulk_delivery_hands_a_batch_handler_its_events_at_once(
    bus: DaprEventBus,
) -> None:
    batches: list[list[str]] = []
    one_by_one: list[str] = []

    async def one(event: CloudEvent) -> None:
        raise AssertionError("a batch handler takes the events of a bulk delivery")

    async def batch(events: list[CloudEvent]) -> None:
        batches.append([event.id for event in events])

    async def each(event: CloudEvent) -> None:
        one_by_one.append(event.id)

    bus.subscribe("a", Topic.TASK_EVENTS, frozenset({EventType.TASK_CREATED}), one, batch)
    bus.subscribe("b", Topic.TASK_EVENTS, frozenset(EventType), each)
    created = [replace(_event(), id=f"e{i}").to_dict() for i in range(3)]
    deleted = replace(_event(EventType.TASK_DELETED), id="d1").to_dict()
    body = _bulk(created[0], deleted, "not an event", created[1], created[2])
    statuses = await bus.deliver_bulk("task-events", body)
    assert batches == [["e0", "e1", "e2"]]  # in order, of its types only
    assert one_by_one == ["e0", "d1", "e1", "e2"]
    assert statuses == [
        {"entryId": "entry-0", "status": "SUCCESS"},
        {"entryId": "entry-1", "status": "SUCCESS"},
        {"entryId": "entry-2", "status": "DROP"},
        {"entryId": "entry-3", "status": "SUCCESS"},
        {"entryId": "entry-4", "status": "SUCCESS"},
    ]
    assert bus.delivered == 4
    assert await bus.deliver_bulk("task-events", b"not json") == []


async def test_a_failed_batch_goes_one_by_one_and_only_what_fails_is_retried(
    bus: DaprEventBus,
) -> None:
    handled: list[str] = []

    async def one(event: CloudEvent) -> None:
        if event.id == "e1":
            raise ConnectionError("the database went away")
        handled.append(event.id)

    async def batch(events: list[CloudEvent]) -> None:
        raise ConnectionError("the database went away")

    bus.subscribe("a", Topic.TASK_EVENTS, frozenset({EventType.TASK_CREATED}), one, batch)
    body = _bulk(*(replace(_event(), id=f"e{i}").to_dict() for i in range(3)))
    statuses = await bus.deliver_bulk("task-events", body)
    assert handled == ["e0", "e2"]
    assert [status["status"] for status in statuses] == ["SUCCESS", "RETRY", "SUCCESS"]
    assert bus.delivered == 2
