"""Unit tests of series that start on the 29th to the 31st: where the month-end clamp
applies (a day taken from the start) and where a rule's own parts keep RFC 5545's meaning
(months without that day are skipped)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from taskstream.domain.recurrence import (
    Occurrence,
    Recurrence,
    RecurrenceAnchor,
    next_occurrence,
    parse_rule,
)
from taskstream.domain.tasks import Due, NewTask, Task, TaskChanges, create_task

ZULU = ZoneInfo("UTC")


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute)  # noqa: DTZ001 - wall clock


def dues(rule: str, start: datetime, steps: int) -> list[datetime]:
    """The wall-clock dues that follow `start`, each completed on time."""
    recurrence = Recurrence(parse_rule(rule), RecurrenceAnchor.DUE, start)
    found: list[datetime] = []
    due, number = start, 1
    for _ in range(steps):
        nxt = next_occurrence(
            recurrence,
            current_due=due,
            all_day=False,
            current_number=number,
            completed_at=due.replace(tzinfo=UTC),
            tz=ZULU,
        )
        assert nxt is not None
        found.append(nxt.due)
        due, number = nxt.due, nxt.number
    return found


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("FREQ=MONTHLY", [local(2026, 2, 28), local(2026, 3, 31), local(2026, 4, 30)]),
        ("FREQ=MONTHLY;BYMONTH=1,7", [local(2026, 7, 31), local(2027, 1, 31), local(2027, 7, 31)]),
        ("FREQ=MONTHLY;BYMONTH=2,4", [local(2026, 2, 28), local(2026, 4, 30), local(2027, 2, 28)]),
        ("FREQ=YEARLY", [local(2027, 1, 31), local(2028, 1, 31), local(2029, 1, 31)]),
    ],
)
def test_a_day_taken_from_the_start_clamps_to_the_months_last_day(
    rule: str, expected: list[datetime]
) -> None:
    assert dues(rule, local(2026, 1, 31), 3) == expected


def test_yearly_in_the_listed_months_keeps_every_listed_month() -> None:
    """BYMONTH=1,7 names the months: both stay (the clamp would keep the start's only)."""
    assert dues("FREQ=YEARLY;BYMONTH=1,7", local(2026, 1, 31), 3) == [
        local(2026, 7, 31),
        local(2027, 1, 31),
        local(2027, 7, 31),
    ]


def test_yearly_in_listed_months_skips_a_month_without_the_day() -> None:
    assert dues("FREQ=YEARLY;BYMONTH=2,7", local(2026, 7, 31), 2) == [
        local(2027, 7, 31),
        local(2028, 7, 31),
    ]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("FREQ=MONTHLY;BYHOUR=9,17", [local(2026, 1, 31, 17), local(2026, 3, 31, 9)]),
        ("FREQ=MONTHLY;BYMINUTE=0,30", [local(2026, 1, 31, 9, 30), local(2026, 3, 31, 9)]),
        ("FREQ=MONTHLY;BYHOUR=9", [local(2026, 3, 31, 9), local(2026, 5, 31, 9)]),
    ],
)
def test_a_monthly_rule_with_its_own_times_keeps_every_time_and_skips_short_months(
    rule: str, expected: list[datetime]
) -> None:
    """With BYHOUR or BYMINUTE the month-end clamp does not apply (it would keep only the
    last time of each month): months without the start's day are skipped, as in RFC 5545."""
    assert dues(rule, local(2026, 1, 31), 2) == expected


def test_a_start_on_the_28th_or_earlier_is_never_clamped() -> None:
    assert dues("FREQ=MONTHLY", local(2026, 1, 28), 2) == [local(2026, 2, 28), local(2026, 3, 28)]


def test_from_the_29th_a_common_february_gets_its_28th() -> None:
    assert dues("FREQ=MONTHLY", local(2026, 1, 29), 2) == [local(2026, 2, 28), local(2026, 3, 29)]


# --- through the task: a rule sent again -----------------------------------------------


def monthly_from_the_31st() -> Task:
    created = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    return create_task(
        NewTask(
            title="Pay rent", due=Due(date(2026, 1, 31), time(9, 0)), recurrence_rule="FREQ=MONTHLY"
        ),
        task_id="t1",
        owner_id="u1",
        default_timezone="UTC",
        now=created,
    )


def next_of(task: Task, new_id: str) -> Task:
    done_at = task.due_at
    assert done_at is not None
    task.complete(done_at)
    nxt = task.next_occurrence(new_id, done_at)
    assert nxt is not None
    return nxt


def test_sending_the_same_rule_again_on_a_clamped_occurrence_keeps_the_31st() -> None:
    february = next_of(monthly_from_the_31st(), "t2")
    assert february.due == Due(date(2026, 2, 28), time(9, 0))

    # A client saving the whole form sends the rule (and the due) unchanged.
    changed = february.apply(
        TaskChanges(recurrence_rule="FREQ=MONTHLY", due_date=date(2026, 2, 28)),
        datetime(2026, 2, 1, tzinfo=UTC),
    )

    assert changed == {}
    assert february.recurrence is not None
    assert february.recurrence.start == local(2026, 1, 31)
    assert next_of(february, "t3").due == Due(date(2026, 3, 31), time(9, 0))


def test_sending_a_new_rule_on_a_clamped_occurrence_starts_the_series_there() -> None:
    february = next_of(monthly_from_the_31st(), "t2")

    changed = february.apply(
        TaskChanges(recurrence_rule="FREQ=MONTHLY;INTERVAL=1"), datetime(2026, 2, 1, tzinfo=UTC)
    )

    assert list(changed) == ["recurrence"]
    assert february.recurrence is not None
    assert february.recurrence.start == local(2026, 2, 28)
    assert next_of(february, "t3").due == Due(date(2026, 3, 28), time(9, 0))


def test_interval_1_is_the_same_series_as_no_interval() -> None:
    recurrence = Recurrence(
        parse_rule("FREQ=MONTHLY;INTERVAL=1"), RecurrenceAnchor.DUE, local(2026, 1, 31)
    )
    nxt = next_occurrence(
        recurrence,
        current_due=local(2026, 1, 31),
        all_day=False,
        current_number=1,
        completed_at=datetime(2026, 1, 31, 9, tzinfo=UTC),
        tz=ZULU,
    )
    assert nxt == Occurrence(local(2026, 2, 28), 2)
