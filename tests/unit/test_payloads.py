"""Typed payloads: parsed once from an event's data, or the event is dropped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from taskstream.app.events import CloudEvent, EventType
from taskstream.app.payloads import TaskFact
from taskstream.app.ports import Drop


def _event(data: dict[str, object], type_: EventType = EventType.TASK_UPDATED) -> CloudEvent:
    return CloudEvent(
        id="e-1",
        type=type_,
        source="test",
        userid="u-1",
        data=data,
        time=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_a_task_fact_reads_the_task_and_the_fields_changed() -> None:
    fact = TaskFact.of(
        _event(
            {
                "task": {
                    "id": "t-1",
                    "owner_id": "u-1",
                    "title": "Milk",
                    "status": "open",
                    "version": 3,
                    "due_at": "2026-01-02T09:00:00Z",
                    "reminders": [
                        {"remind_at": "2026-01-02T08:45:00Z"},
                        {"remind_at": None},
                        "junk",
                    ],
                    "recurrence": {"rule": "FREQ=DAILY", "anchor": "due"},
                },
                "changes": {"due_date": "2026-01-02"},
            }
        )
    )
    assert fact.task_id == "t-1"
    assert fact.owner_id == "u-1"
    assert fact.open
    assert fact.version == 3
    assert fact.remind_at == ("2026-01-02T08:45:00Z",)
    assert fact.repeats
    assert fact.changed == frozenset({"due_date"})


def test_an_event_without_a_task_is_dropped() -> None:
    with pytest.raises(Drop):
        TaskFact.of(_event({"task": "t-1"}))
    with pytest.raises(Drop):
        TaskFact.of(_event({"task": {"title": "no id"}}))


def test_a_task_of_another_user_is_dropped() -> None:
    with pytest.raises(Drop):
        TaskFact.of(_event({"task": {"id": "t-1", "owner_id": "u-2"}}))


def test_a_version_that_is_not_a_number_is_none() -> None:
    assert TaskFact.of(_event({"task": {"id": "t-1", "version": "3"}})).version is None
    assert TaskFact.of(_event({"task": {"id": "t-1", "version": True}})).version is None
