"""The routes serialise tasks straight from the domain: the JSON must be TaskPublic's."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from pydantic_core import to_json

from taskstream.domain.recurrence import Recurrence, RecurrenceAnchor
from taskstream.domain.tasks import Due, Priority, Reminder, Status, Task
from taskstream.entrypoints.api.schemas import TaskPublic, task_fields

NOW = datetime(2031, 1, 10, 12, 0, tzinfo=UTC)
CREATED = datetime(2030, 12, 24, 8, 30, 15, 123456, tzinfo=UTC)


def _task(**fields: object) -> Task:
    base: dict[str, object] = {
        "id": "6c1b0f5e-1111-4b53-9a77-3a4f0c2f9d10",
        "owner_id": "0d5c7a55-2222-4c0e-8a39-6e0d5f3f0a21",
        "title": "Read Crème brûlée recipe",
        "timezone": "Europe/Paris",
        "created_at": CREATED,
        "updated_at": CREATED,
    }
    return Task(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "task",
    [
        _task(),
        _task(
            description='Kitchen "sink" leaks\n',
            priority=Priority.URGENT,
            tags=frozenset({"home", "admin"}),
            due=Due(date(2031, 1, 5), time(12, 0)),
            reminders=(
                Reminder(minutes_before=15),
                Reminder(at=datetime(2031, 1, 4, 18, 0, tzinfo=UTC)),
            ),
            version=7,
        ),
        _task(
            due=Due(date(2031, 3, 30)),
            recurrence=Recurrence(
                "FREQ=WEEKLY;BYDAY=MO", RecurrenceAnchor.DUE, Due(date(2031, 3, 30)).local
            ),
            series_id="6c1b0f5e-1111-4b53-9a77-3a4f0c2f9d10",
            occurrence=3,
        ),
        _task(
            status=Status.DONE,
            due=Due(date(2031, 1, 1), time(9, 15)),
            completed_at=datetime(2031, 1, 2, 0, 0, tzinfo=UTC),
        ),
    ],
)
def test_task_json_is_task_public(task: Task) -> None:
    fields = task_fields(task, NOW)
    assert to_json(fields) == TaskPublic.of(task, NOW).model_dump_json().encode()
    assert TaskPublic.model_validate_json(to_json(fields)) == TaskPublic.of(task, NOW)
