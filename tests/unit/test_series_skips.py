"""Unit tests of a series with an INTERVAL completed long after its due: the next
occurrence is found without walking the series from its start, and agrees with dateutil
walking it from the start (the slow way, the oracle here), whatever period the
completion falls in."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from taskstream.domain.recurrence import (
    MAX_COUNT,
    Occurrence,
    Recurrence,
    RecurrenceAnchor,
    next_occurrence,
    parse_rule,
)

START = datetime(2026, 1, 7, 9, 30)  # noqa: DTZ001 - wall clock; a Wednesday


def walked(rule: str, start: datetime, after: datetime) -> Occurrence:
    """The first occurrence after `after` and its number, walking from `start` (the
    number counts at most MAX_COUNT skipped occurrences, as next_occurrence does)."""
    for number, due in enumerate(rrulestr(rule, dtstart=start), start=1):
        if due > after:
            return Occurrence(due, 2 + min(number - 2, MAX_COUNT))
    raise AssertionError("the series ended")


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=HOURLY;INTERVAL=5",
        "FREQ=HOURLY;INTERVAL=7;BYMINUTE=30",
        "FREQ=DAILY;INTERVAL=3",
        "FREQ=DAILY;INTERVAL=4;BYHOUR=9,18;BYMINUTE=30",
        "FREQ=WEEKLY;INTERVAL=2",
        "FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,WE",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE,SU;WKST=SU",
        "FREQ=MONTHLY;INTERVAL=2",
        "FREQ=MONTHLY;INTERVAL=5;BYDAY=1WE",
        "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=7,20",
        "FREQ=YEARLY;INTERVAL=2",
        "FREQ=YEARLY;INTERVAL=3;BYMONTH=1,6;BYMONTHDAY=7",
    ],
)
@pytest.mark.parametrize(
    "late",
    [
        datetime(2026, 1, 8, 2, 15, tzinfo=UTC),
        datetime(2026, 2, 19, 23, 59, tzinfo=UTC),
        datetime(2026, 5, 3, 12, 0, tzinfo=UTC),
        datetime(2027, 8, 16, 0, 0, tzinfo=UTC),
        datetime(2031, 12, 31, 23, 0, tzinfo=UTC),
    ],
)
def test_a_late_completion_lands_where_walking_the_series_does(rule: str, late: datetime) -> None:
    normalised = parse_rule(rule)
    got = next_occurrence(
        Recurrence(normalised, RecurrenceAnchor.DUE, START),
        current_due=START,
        all_day=False,
        current_number=1,
        completed_at=late,
        tz=ZoneInfo("UTC"),
    )
    assert got == walked(normalised, START, late.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("rule", "start"),
    [
        # On the hour: a restart at hh:01 (or hh:00:01) would miss the next one.
        ("FREQ=HOURLY;INTERVAL=5", datetime(2026, 1, 7, 9, 0)),  # noqa: DTZ001
        # Started at :30, but :00 is picked too: the restart is at the top of the hour.
        ("FREQ=HOURLY;INTERVAL=5;BYMINUTE=0,30", datetime(2026, 1, 7, 9, 30)),  # noqa: DTZ001
        # Half past midnight: the restart is at the very start of the day.
        ("FREQ=DAILY;INTERVAL=3", datetime(2026, 1, 7, 0, 30)),  # noqa: DTZ001
        # Started on 15 June, but 1 January is picked too: the restart is on 1 January.
        (
            "FREQ=YEARLY;INTERVAL=3;BYMONTH=1,6;BYMONTHDAY=1,15",
            datetime(2025, 6, 15, 9, 30),  # noqa: DTZ001
        ),
        # Weeks from Sunday: the weeks are counted as weeks, whatever the week start.
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE,SU;WKST=SU", START),
    ],
)
@pytest.mark.parametrize(
    "late",
    [
        datetime(2026, 1, 8, 2, 15, tzinfo=UTC),
        datetime(2026, 5, 3, 12, 0, tzinfo=UTC),
        datetime(2027, 8, 16, 0, 0, tzinfo=UTC),
        datetime(2026, 2, 9, 10, 30, tzinfo=UTC),
    ],
)
def test_a_late_completion_keeps_what_comes_first_in_a_period(
    rule: str, start: datetime, late: datetime
) -> None:
    """Completed in a period the series skips, the next occurrence is the first one of the
    series' next period, even when that comes before the time or day of the start."""
    normalised = parse_rule(rule)
    got = next_occurrence(
        Recurrence(normalised, RecurrenceAnchor.DUE, start),
        current_due=start,
        all_day=False,
        current_number=1,
        completed_at=late,
        tz=ZoneInfo("UTC"),
    )
    assert got == walked(normalised, start, late.replace(tzinfo=None))
