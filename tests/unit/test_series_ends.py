"""Unit tests of how a series ends: by COUNT or UNTIL under either anchor, at the last due
the system takes, or because its rule has nothing left to give."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from taskstream.domain.errors import ValidationFailed
from taskstream.domain.recurrence import (
    LATEST,
    MAX_COUNT,
    Occurrence,
    Recurrence,
    RecurrenceAnchor,
    next_occurrence,
    parse_rule,
)

ZULU = ZoneInfo("UTC")
COMPLETION = RecurrenceAnchor.COMPLETION


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute)  # noqa: DTZ001 - wall clock


def following(
    rule: str,
    start: datetime,
    completed_at: datetime,
    *,
    current_due: datetime | None = None,
    number: int = 1,
    anchor: RecurrenceAnchor = RecurrenceAnchor.DUE,
    all_day: bool = False,
) -> Occurrence | None:
    return next_occurrence(
        Recurrence(parse_rule(rule), anchor, start),
        current_due=start if current_due is None else current_due,
        all_day=all_day,
        current_number=number,
        completed_at=completed_at,
        tz=ZULU,
    )


# --- anchored to the completion ---------------------------------------------------------


def test_a_completion_anchored_series_ends_at_until() -> None:
    rule = "FREQ=DAILY;UNTIL=20260110"
    start = local(2026, 1, 5)
    on_the_9th = datetime(2026, 1, 9, 12, 0, tzinfo=UTC)
    on_the_10th = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    assert following(rule, start, on_the_9th, anchor=COMPLETION) == Occurrence(
        local(2026, 1, 10), 2
    )
    assert following(rule, start, on_the_10th, anchor=COMPLETION) is None


def test_a_completion_anchored_series_ends_after_count() -> None:
    rule = "FREQ=WEEKLY;COUNT=3"
    start = local(2026, 1, 5)
    done = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
    assert following(rule, start, done, number=2, anchor=COMPLETION) == Occurrence(
        local(2026, 2, 8), 3
    )
    assert following(rule, start, done, number=3, anchor=COMPLETION) is None


def test_a_completion_anchored_series_ends_before_the_last_due_taken() -> None:
    start = local(2200, 6, 1)
    assert following(
        "FREQ=MONTHLY", start, datetime(2200, 11, 15, 12, 0, tzinfo=UTC), anchor=COMPLETION
    ) == Occurrence(local(2200, 12, 15), 2)
    assert (
        following("FREQ=YEARLY", start, datetime(2200, 6, 1, 12, 0, tzinfo=UTC), anchor=COMPLETION)
        is None
    )
    # Completed (by a clock gone wrong) after the last day the system takes: no next one.
    assert (
        following("FREQ=DAILY", start, datetime(2201, 1, 2, 12, 0, tzinfo=UTC), anchor=COMPLETION)
        is None
    )


def test_a_completion_anchored_series_with_nothing_in_ten_years_ends() -> None:
    rule = "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO"  # Mondays 29 February: 2044, 2072
    start = local(2016, 2, 29)
    done = datetime(2033, 3, 1, 12, 0, tzinfo=UTC)
    assert following(rule, start, done, anchor=COMPLETION) is None
    sooner = datetime(2035, 3, 1, 12, 0, tzinfo=UTC)
    assert following(rule, start, sooner, anchor=COMPLETION) == Occurrence(local(2044, 2, 29), 2)


# --- anchored to the due ----------------------------------------------------------------


def test_count_1_is_a_series_of_one() -> None:
    start = local(2026, 1, 5)
    assert following("FREQ=DAILY;COUNT=1", start, datetime(2026, 1, 5, 9, tzinfo=UTC)) is None
    assert (
        following(
            "FREQ=DAILY;COUNT=1", start, datetime(2026, 1, 5, 9, tzinfo=UTC), anchor=COMPLETION
        )
        is None
    )


def test_the_last_occurrence_of_a_count_is_still_given() -> None:
    start = local(2026, 1, 5)
    done = datetime(2026, 1, 6, 9, tzinfo=UTC)
    assert following(
        "FREQ=DAILY;COUNT=3", start, done, current_due=local(2026, 1, 6), number=2
    ) == Occurrence(local(2026, 1, 7), 3)


def test_a_count_reached_by_skipping_still_gives_its_last_occurrence() -> None:
    start = local(2026, 1, 5)
    late = datetime(2026, 1, 8, 12, tzinfo=UTC)  # the 6th, 7th and 8th are missed
    assert following("FREQ=DAILY;COUNT=5", start, late) == Occurrence(local(2026, 1, 9), 5)
    assert following("FREQ=DAILY;COUNT=4", start, late) is None


def test_a_series_without_count_numbers_at_most_max_count_skipped_occurrences() -> None:
    start = local(2000, 1, 1, 0)
    late = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    assert following("FREQ=HOURLY", start, late) == Occurrence(local(2026, 1, 1, 1), 2 + MAX_COUNT)
    few = datetime(2000, 1, 1, 3, 30, tzinfo=UTC)  # 01:00, 02:00 and 03:00 missed
    assert following("FREQ=HOURLY", start, few) == Occurrence(local(2000, 1, 1, 4), 5)


def test_a_due_anchored_series_with_nothing_in_ten_years_ends() -> None:
    rule = "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO"
    start = local(2016, 2, 29)
    assert following(rule, start, datetime(2016, 2, 29, 12, tzinfo=UTC)) is None
    later = local(2034, 3, 1)  # the series moved on: 2044 is within ten years
    assert following(
        rule, start, datetime(2034, 3, 1, 12, tzinfo=UTC), current_due=later
    ) == Occurrence(local(2044, 2, 29), 2)


@pytest.mark.parametrize("anchor", list(RecurrenceAnchor))
def test_no_series_goes_past_the_last_due_taken(anchor: RecurrenceAnchor) -> None:
    start = local(2200, 12, 31, 23, 59)
    assert datetime(2200, 12, 31, 23, 59, 59) == LATEST  # noqa: DTZ001 - wall clock
    done = datetime(2200, 12, 31, 23, 59, tzinfo=UTC)
    assert following("FREQ=HOURLY", start, done, anchor=anchor) is None
    assert following("FREQ=MONTHLY", local(2200, 11, 30), done, anchor=anchor) is None


def test_a_due_anchored_series_completed_after_the_last_due_taken_ends() -> None:
    start = local(2200, 12, 1)
    assert following("FREQ=DAILY", start, datetime(2201, 1, 1, 12, tzinfo=UTC)) is None


def test_the_search_for_the_next_due_stops_at_the_last_due_taken() -> None:
    """Ten years from 2199 would reach 29 February 2208, a Monday: past the end of 2200."""
    rule = "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO"
    start = local(2196, 2, 29)
    done = datetime(2199, 3, 1, 12, tzinfo=UTC)
    assert following(rule, start, done) is None
    assert following(rule, start, done, anchor=COMPLETION) is None


# --- an INTERVAL out of phase with what the rule picks ------------------------------------

THURSDAY = local(2026, 1, 1)  # 1 January 2026 is a Thursday


@pytest.mark.parametrize(
    ("rule", "start"),
    [
        # Every 7th day from a Thursday is a Thursday: never a Tuesday.
        ("FREQ=DAILY;INTERVAL=7;BYDAY=TU", THURSDAY),
        # The same with a day of the month too: never a Tuesday the 13th either.
        ("FREQ=DAILY;INTERVAL=7;BYDAY=TU;BYMONTHDAY=13", THURSDAY),
        # Every 7th hour from Thursday 9:00 never lands on a Tuesday at 3:00 (168 = 24 x 7).
        ("FREQ=HOURLY;INTERVAL=7;BYDAY=TU;BYHOUR=3", THURSDAY),
        # Every other hour from 1:00 is an odd hour: never midnight (dateutil refuses it).
        ("FREQ=HOURLY;INTERVAL=2;BYHOUR=0", local(2026, 1, 1, 1)),
        # Every 4th month from May: May, September, January; never March.
        ("FREQ=MONTHLY;INTERVAL=4;BYMONTH=3", local(2026, 5, 1)),
    ],
)
@pytest.mark.parametrize("anchor", list(RecurrenceAnchor))
def test_a_series_out_of_phase_with_what_it_picks_has_ended(
    rule: str, start: datetime, anchor: RecurrenceAnchor
) -> None:
    done = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert following(rule, start, done, anchor=anchor) is None


@pytest.mark.parametrize(
    ("rule", "start", "expected"),
    [
        ("FREQ=DAILY;INTERVAL=7;BYDAY=TH", THURSDAY, local(2026, 1, 8)),
        ("FREQ=DAILY;INTERVAL=7;BYDAY=TH;BYMONTHDAY=12", THURSDAY, local(2026, 2, 12)),
        # Thursday 11:00 + 7 h x 16 = Tuesday 3:00.
        ("FREQ=HOURLY;INTERVAL=7;BYDAY=TU;BYHOUR=3", local(2026, 1, 1, 11), local(2026, 1, 6, 3)),
        ("FREQ=HOURLY;INTERVAL=2;BYHOUR=0", local(2026, 1, 1, 0), local(2026, 1, 2, 0)),
        ("FREQ=MONTHLY;INTERVAL=4;BYMONTH=9", local(2026, 5, 1), local(2026, 9, 1)),
    ],
)
def test_a_series_in_phase_goes_on(rule: str, start: datetime, expected: datetime) -> None:
    done = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert following(rule, start, done) == Occurrence(expected, 2)


def test_a_weekly_rule_whose_position_no_week_can_hold_is_refused() -> None:
    # A week holds one 3rd of the month at most: two times of day make two entries, not six.
    with pytest.raises(ValidationFailed) as refused:
        parse_rule("FREQ=WEEKLY;BYDAY=TU,SA;BYMINUTE=5,31;BYMONTHDAY=3;BYSETPOS=6")
    assert refused.value.problems[0].code == "rule_never_occurs"


@pytest.mark.parametrize("anchor", list(RecurrenceAnchor))
def test_an_until_in_utc_ends_the_series_at_that_instant_in_the_task_zone(
    anchor: RecurrenceAnchor,
) -> None:
    """20260104T190000Z is 09:00 on 5 January in Kiritimati (UTC+14), whatever the zone
    of the machine: the occurrence at that moment is the last."""
    kiritimati = ZoneInfo("Pacific/Kiritimati")
    series = Recurrence(parse_rule("FREQ=DAILY;UNTIL=20260104T190000Z"), anchor, local(2026, 1, 3))

    def after(due: datetime, number: int) -> Occurrence | None:
        done = due.replace(hour=10, tzinfo=kiritimati)
        return next_occurrence(
            series,
            current_due=due,
            all_day=False,
            current_number=number,
            completed_at=done,
            tz=kiritimati,
        )

    assert after(local(2026, 1, 4), 2) == Occurrence(local(2026, 1, 5), 3)
    assert after(local(2026, 1, 5), 3) is None


# --- an INTERVAL so long that the calendar's end is near ----------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;INTERVAL=1000000",  # about 2,700 years
        "FREQ=MONTHLY;INTERVAL=100003;BYMONTH=3",  # about 8,300 years
    ],
)
@pytest.mark.parametrize("anchor", list(RecurrenceAnchor))
def test_a_step_past_the_calendars_end_ends_the_series(rule: str, anchor: RecurrenceAnchor) -> None:
    start = local(2026, 3, 1)
    assert following(rule, start, datetime(2026, 3, 1, 12, tzinfo=UTC), anchor=anchor) is None


@pytest.mark.parametrize(
    ("rule", "done"),
    [
        ("FREQ=HOURLY;INTERVAL=100000000", datetime(2026, 3, 1, 12, tzinfo=UTC)),
        ("FREQ=DAILY;INTERVAL=5000000", datetime(2026, 3, 3, 12, tzinfo=UTC)),
        ("FREQ=WEEKLY;INTERVAL=1000000", datetime(2026, 3, 13, 12, tzinfo=UTC)),
        ("FREQ=MONTHLY;INTERVAL=100003;BYMONTH=3", datetime(2026, 4, 15, 12, tzinfo=UTC)),
        ("FREQ=YEARLY;INTERVAL=10000", datetime(2027, 4, 15, 12, tzinfo=UTC)),
    ],
)
@pytest.mark.parametrize("anchor", list(RecurrenceAnchor))
def test_a_late_completion_of_a_step_past_the_calendars_end_ends_the_series(
    rule: str, done: datetime, anchor: RecurrenceAnchor
) -> None:
    """Completed in a later period than its due's, the series' next period would start
    after the year 9999: the series has ended (it is not an error)."""
    assert following(rule, local(2026, 3, 1), done, anchor=anchor) is None


def test_a_long_monthly_step_reaches_the_listed_month_in_its_own_time() -> None:
    """Every 13 months from May: June, July, then August 2029."""
    start = local(2026, 5, 1)
    done = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert following("FREQ=MONTHLY;INTERVAL=13;BYMONTH=8", start, done) == Occurrence(
        local(2029, 8, 1), 2
    )


@pytest.mark.parametrize(
    ("rule", "start", "done", "expected"),
    [
        # Every 2,671 months (about 223 years) from January 1900: August 2122.
        (
            "FREQ=MONTHLY;INTERVAL=2671;BYMONTH=8",
            local(1900, 1, 1),
            datetime(2120, 1, 1, 12, tzinfo=UTC),
            local(2122, 8, 1),
        ),
        # Every 139,001 hours (about 16 years) from midnight, 1 January 2000.
        (
            "FREQ=HOURLY;INTERVAL=139001",
            local(2000, 1, 1, 0),
            datetime(2015, 6, 1, 12, tzinfo=UTC),
            local(2015, 11, 9, 17),
        ),
    ],
)
def test_a_step_of_centuries_or_decades_still_comes_round(
    rule: str, start: datetime, done: datetime, expected: datetime
) -> None:
    assert following(rule, start, done) == Occurrence(expected, 2)


def test_a_long_step_may_come_in_the_last_year_searched() -> None:
    """Every 11 years from March 2026, completed in April 2027: the search runs to April
    2037, and March 2037 is in it, in the year the search ends."""
    done = datetime(2027, 4, 15, 12, tzinfo=UTC)
    assert following("FREQ=YEARLY;INTERVAL=11", local(2026, 3, 1), done) == Occurrence(
        local(2037, 3, 1), 2
    )
