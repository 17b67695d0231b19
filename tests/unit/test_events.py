"""The CloudEvents wire format: what goes out comes back the same; what is not ours is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from taskstream.app.events import CloudEvent, EventFactory, EventType, MalformedEvent, Topic
from taskstream.domain.tasks import Task

MOMENT = datetime(2031, 3, 10, 8, 30, 15, 123456, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return MOMENT


def _ids() -> Any:
    counter = iter(range(1, 1000))
    return lambda: f"id-{next(counter)}"


def _event(**overrides: Any) -> CloudEvent:
    fields: dict[str, Any] = {
        "id": "e-1",
        "type": EventType.TASK_UPDATED,
        "source": "taskstream/api",
        "userid": "u-1",
        "data": {"task": {"id": "t-1", "title": "Crème brûlée", "tags": ["home"]}, "changes": {}},
        "time": MOMENT,
        "subject": "t-1",
        "traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01",
    }
    return CloudEvent(**(fields | overrides))


def _envelope(**overrides: Any) -> dict[str, Any]:
    return _event().to_dict() | overrides


def test_an_event_survives_the_trip_through_json() -> None:
    event = _event()

    assert CloudEvent.from_json(event.to_json()) == event
    assert CloudEvent.from_json(event.to_json().decode()) == event


def test_the_envelope_is_cloudevents_1_0_with_our_extensions() -> None:
    envelope = json.loads(_event().to_json())

    assert envelope["specversion"] == "1.0"
    assert envelope["type"] == "task.updated"
    assert envelope["time"] == "2031-03-10T08:30:15.123456Z"
    assert envelope["datacontenttype"] == "application/json"
    assert envelope["dataschema"] == "urn:taskstream:task.updated:v1"
    assert envelope["userid"] == "u-1"
    assert envelope["subject"] == "t-1"
    assert envelope["traceparent"].startswith("00-")


def test_an_event_without_a_subject_leaves_it_out_and_comes_back_without_one() -> None:
    event = _event(subject=None)

    assert "subject" not in event.to_dict()
    assert CloudEvent.from_dict(event.to_dict()) == event


def test_a_time_in_another_offset_comes_back_in_utc() -> None:
    paris = MOMENT.astimezone(timezone(timedelta(hours=1))).isoformat()

    event = CloudEvent.from_dict(_envelope(time=paris))

    assert event.time == MOMENT
    assert event.time.utcoffset() == timedelta(0)


def test_data_handed_over_as_a_json_string_is_read() -> None:
    event = CloudEvent.from_dict(_envelope(data=json.dumps({"task": {"id": "t-1"}})))

    assert event.data == {"task": {"id": "t-1"}}


def test_a_missing_traceparent_gets_a_fresh_one() -> None:
    envelope = _envelope()
    del envelope["traceparent"]

    assert CloudEvent.from_dict(envelope).traceparent.startswith("00-")


def test_each_type_has_its_topic_and_the_user_is_the_partition_key() -> None:
    assert EventType.TASK_COMPLETED.topic is Topic.TASK_EVENTS
    assert EventType.REMINDER_DUE.topic is Topic.REMINDERS
    assert EventType.TASK_CHANGED.topic is Topic.TASK_UPDATES
    assert EventType.NOTIFICATION.topic is Topic.TASK_UPDATES
    assert _event().partition_key == "u-1"


def _without(key: str) -> dict[str, Any]:
    envelope = _envelope()
    del envelope[key]
    return envelope


@pytest.mark.parametrize(
    "envelope",
    [
        pytest.param(_envelope(specversion="0.3"), id="another spec version"),
        pytest.param(_without("specversion"), id="no spec version"),
        pytest.param(_without("id"), id="no id"),
        pytest.param(_without("type"), id="no type"),
        pytest.param(_without("userid"), id="no user"),
        pytest.param(_without("data"), id="no data"),
        pytest.param(_without("time"), id="no time"),
        pytest.param(_envelope(type="task.exploded"), id="unknown type"),
        pytest.param(_envelope(time="tuesday"), id="time that is not one"),
        pytest.param(_envelope(time=12), id="time as a number"),
        pytest.param(_envelope(data=[1, 2]), id="data as a list"),
        pytest.param(_envelope(data="not json"), id="data as a string that is not JSON"),
        pytest.param(_envelope(data='"a string"'), id="data as a JSON string of a string"),
    ],
)
def test_an_envelope_that_is_not_ours_is_malformed(envelope: dict[str, Any]) -> None:
    with pytest.raises(MalformedEvent):
        CloudEvent.from_dict(envelope)


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"42", b"\xff\xfe", '"text"'])
def test_bytes_that_are_not_a_json_object_are_malformed(raw: bytes | str) -> None:
    with pytest.raises(MalformedEvent):
        CloudEvent.from_json(raw)


def test_a_task_change_is_a_fact_and_an_update_sharing_one_trace() -> None:
    task = Task(
        id="t-1",
        owner_id="u-1",
        title="Buy milk",
        timezone="Europe/Paris",
        created_at=MOMENT,
        updated_at=MOMENT,
        tags=frozenset({"home"}),
    )
    factory = EventFactory("taskstream/api", _ids(), FixedClock())

    fact, update = factory.task_change(EventType.TASK_UPDATED, task, {"tags": task.tags})

    assert (fact.id, update.id) == ("id-1", "id-2")
    assert fact.type is EventType.TASK_UPDATED
    assert update.type is EventType.TASK_CHANGED
    assert fact.topic is Topic.TASK_EVENTS
    assert update.topic is Topic.TASK_UPDATES
    assert fact.traceparent == update.traceparent
    assert fact.subject == update.subject == "t-1"
    assert fact.userid == update.userid == "u-1"
    assert fact.time == MOMENT
    assert fact.data["changes"] == {"tags": ["home"]}
    assert fact.data["task"]["title"] == "Buy milk"
    assert update.data["change"] == "task.updated"
    assert update.data["task_id"] == "t-1"
    assert CloudEvent.from_json(fact.to_json()) == fact
