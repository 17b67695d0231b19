"""Unit tests of the pure recurrence arithmetic (RRULE parsing and the next occurrence)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from taskstream.domain.errors import ValidationFailed
from taskstream.domain.recurrence import (
    MAX_COUNT,
    Occurrence,
    Recurrence,
    RecurrenceAnchor,
    next_occurrence,
    parse_rule,
    wall_clock_to_utc,
)

ZULU = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A naive wall-clock time, as the recurrence module works with."""
    return datetime(year, month, day, hour, minute)  # noqa: DTZ001


def following(
    rule: str,
    start: datetime,
    *,
    completed_at: datetime,
    current_due: datetime | None = None,
    number: int = 1,
    tz: ZoneInfo = ZULU,
    all_day: bool = False,
    anchor: RecurrenceAnchor = RecurrenceAnchor.DUE,
) -> Occurrence | None:
    return next_occurrence(
        Recurrence(parse_rule(rule), anchor, start),
        current_due=start if current_due is None else current_due,
        all_day=all_day,
        current_number=number,
        completed_at=completed_at,
        tz=tz,
    )


def chain(
    rule: str, start: datetime, steps: int, *, tz: ZoneInfo = ZULU, all_day: bool = False
) -> list[Occurrence]:
    """Complete each occurrence at its own wall-clock due and collect the ones that follow."""
    occurrences: list[Occurrence] = []
    due, number = start, 1
    for _ in range(steps):
        nxt = following(
            rule,
            start,
            current_due=due,
            number=number,
            completed_at=due.replace(tzinfo=tz),
            tz=tz,
            all_day=all_day,
        )
        assert nxt is not None
        occurrences.append(nxt)
        due, number = nxt.due, nxt.number
    return occurrences


# --- parse_rule: normalisation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FREQ=DAILY", "FREQ=DAILY"),
        ("freq=daily", "FREQ=DAILY"),
        ("RRULE:FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;BYDAY=MO"),
        ("rrule:freq=weekly;byday=mo,we;interval=2", "FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2"),
        ("  RRULE: interval = 2 ; FREQ = daily ; count=5  ", "FREQ=DAILY;COUNT=5;INTERVAL=2"),
        ("UNTIL=20261231t235959z;FREQ=DAILY", "FREQ=DAILY;UNTIL=20261231T235959Z"),
        ("BYMONTHDAY=-1;BYMONTH=2,8;FREQ=YEARLY", "FREQ=YEARLY;BYMONTH=2,8;BYMONTHDAY=-1"),
        (f"FREQ=DAILY;COUNT={MAX_COUNT}", f"FREQ=DAILY;COUNT={MAX_COUNT}"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1,-1", "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1,-1"),
        ("FREQ=HOURLY;BYHOUR=9,17;BYMINUTE=30", "FREQ=HOURLY;BYHOUR=9,17;BYMINUTE=30"),
    ],
)
def test_parse_rule_normalises_case_prefix_spacing_and_order(text: str, expected: str) -> None:
    assert parse_rule(text) == expected


def test_parse_rule_is_idempotent() -> None:
    once = parse_rule("rrule:byday=fr;wkst=su;freq=weekly;interval=3")
    assert parse_rule(once) == once


# --- parse_rule: refusals ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "rule_empty"),
        ("   ", "rule_empty"),
        ("RRULE:", "rule_empty"),
        ("rrule:  ", "rule_empty"),
        ("INTERVAL=2", "rule_invalid"),  # no FREQ
        ("BYDAY=MO;COUNT=3", "rule_invalid"),  # no FREQ
        ("FREQ=SECONDLY", "rule_invalid"),
        ("FREQ=MINUTELY", "rule_invalid"),
        ("FREQ=FORTNIGHTLY", "rule_invalid"),
        ("FREQ=", "rule_invalid"),
        ("FREQ=DAILY;DTSTART=20260101T090000Z", "rule_invalid"),
        ("DTSTART=20260101;FREQ=DAILY", "rule_invalid"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20261231", "rule_invalid"),
        ("FREQ=DAILY;COUNT=0", "rule_invalid"),
        ("FREQ=DAILY;COUNT=-1", "rule_invalid"),
        ("FREQ=DAILY;COUNT=three", "rule_invalid"),
        ("FREQ=DAILY;COUNT=", "rule_invalid"),
        (f"FREQ=DAILY;COUNT={MAX_COUNT + 1}", "rule_invalid"),
        ("FREQ=DAILY;COUNT=²", "rule_invalid"),  # isdigit() but not int()-able
        ("FREQ=DAILY;COUNT=٣", "rule_invalid"),  # a non-ASCII digit
        ("FREQ=DAILY;INTERVAL=0", "rule_invalid"),
        ("FREQ=DAILY;INTERVAL=-2", "rule_invalid"),
        ("FREQ=DAILY;INTERVAL=1.5", "rule_invalid"),
        ("FREQ=DAILY;INTERVAL=+2", "rule_invalid"),
        ("FREQ=DAILY;INTERVAL=²", "rule_invalid"),
        ("FREQ=DAILY;UNTIL=2026-12-31", "rule_invalid"),
        ("FREQ=DAILY;UNTIL=20261231T2359", "rule_invalid"),
        ("FREQ=DAILY;UNTIL=tomorrow", "rule_invalid"),
        ("FREQ=DAILY;UNTIL=20261332", "rule_invalid"),  # shaped right, not a date
        ("FREQ=DAILY;UNTIL=20261231T256000Z", "rule_invalid"),  # not a time
        ("FREQ=DAILY;UNTIL=18991231", "rule_invalid"),  # before the earliest due taken
        ("FREQ=DAILY;UNTIL=22010101T000000Z", "rule_invalid"),  # after the latest one
        ("FREQ=WEEKLY;BYDAY=XX", "rule_invalid"),
        ("FREQ=WEEKLY;BYDAY=MO,XX", "rule_invalid"),
        ("FREQ=WEEKLY;BYDAY=MO=TU", "rule_invalid"),  # a value holding "="
        ("FREQ=WEEKLY;WKST=XX", "rule_invalid"),
        ("FREQ=DAILY;BYHOUR=24", "rule_invalid"),
        ("FREQ=DAILY;BYMINUTE=60", "rule_invalid"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", "rule_invalid"),
        ("FREQ=YEARLY;BYMONTH=13", "rule_invalid"),
        ("FREQ=YEARLY;BYMONTH=0", "rule_invalid"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "rule_invalid"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "rule_invalid"),
        ("FREQ=MONTHLY;BYMONTHDAY=-32", "rule_invalid"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,,15", "rule_invalid"),
        ("FREQ=YEARLY;BYYEARDAY=367", "rule_invalid"),
        ("FREQ=YEARLY;BYWEEKNO=54", "rule_invalid"),
        ("FREQ=DAILY;EXDATE=20260101", "rule_invalid"),  # unsupported part
        ("FREQ=DAILY;X-NAME=1", "rule_invalid"),
        ("FREQ=DAILY;FREQ=WEEKLY", "rule_invalid"),  # repeated part
        ("FREQ=DAILY;COUNT", "rule_invalid"),  # not NAME=VALUE
        ("FREQ=DAILY;", "rule_invalid"),  # empty part
    ],
)
def test_parse_rule_refuses_with_a_stable_code(text: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_rule(text)
    problems = caught.value.problems
    assert [(p.field, p.code) for p in problems] == [("recurrence.rule", code)]
    assert problems[0].message  # something a person can act on


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "FREQ=MONTHLY;BYMONTHDAY=-31",
        "FREQ=MONTHLY;BYMONTHDAY=+5",
        "FREQ=YEARLY;BYMONTH=12",
        "FREQ=YEARLY;BYYEARDAY=-366",
        "FREQ=YEARLY;BYWEEKNO=53",
        "FREQ=DAILY;UNTIL=19000101",
        "FREQ=DAILY;UNTIL=22001231T235959Z",
    ],
)
def test_parse_rule_accepts_the_edges_of_each_range(text: str) -> None:
    assert parse_rule(text) == text


# --- next occurrence, anchored to the due ----------------------------------------------


def test_daily_next_occurrence_is_the_following_day_at_the_same_time() -> None:
    start = local(2026, 1, 5, 9, 0)
    nxt = following("FREQ=DAILY", start, completed_at=datetime(2026, 1, 5, 9, 30, tzinfo=UTC))
    assert nxt == Occurrence(local(2026, 1, 6, 9, 0), 2)


def test_completing_early_does_not_pull_the_next_occurrence_forward() -> None:
    start = local(2026, 1, 5, 9, 0)
    nxt = following("FREQ=DAILY", start, completed_at=datetime(2026, 1, 2, 12, 0, tzinfo=UTC))
    assert nxt == Occurrence(local(2026, 1, 6, 9, 0), 2)


def test_weekly_by_day_walks_through_the_listed_days() -> None:
    monday = local(2026, 1, 5, 9, 0)
    assert chain("FREQ=WEEKLY;BYDAY=MO,WE,FR", monday, 4) == [
        Occurrence(local(2026, 1, 7, 9, 0), 2),
        Occurrence(local(2026, 1, 9, 9, 0), 3),
        Occurrence(local(2026, 1, 12, 9, 0), 4),
        Occurrence(local(2026, 1, 14, 9, 0), 5),
    ]


@pytest.mark.parametrize(
    ("completed_at", "expected"),
    [
        # Four days late, after that day's 09:00: the next upcoming one is tomorrow's.
        (datetime(2026, 1, 5, 12, 0, tzinfo=UTC), Occurrence(local(2026, 1, 6, 9, 0), 6)),
        # Four days late but before today's 09:00: today's is still upcoming.
        (datetime(2026, 1, 5, 8, 0, tzinfo=UTC), Occurrence(local(2026, 1, 5, 9, 0), 5)),
        # Exactly at today's moment: today's has come, so tomorrow's is next.
        (datetime(2026, 1, 5, 9, 0, tzinfo=UTC), Occurrence(local(2026, 1, 6, 9, 0), 6)),
    ],
)
def test_missed_occurrences_are_skipped_but_still_counted(
    completed_at: datetime, expected: Occurrence
) -> None:
    start = local(2026, 1, 1, 9, 0)
    assert following("FREQ=DAILY", start, completed_at=completed_at) == expected


def test_skipping_uses_the_wall_clock_of_the_series_time_zone() -> None:
    # 13:30Z on 5 January is 08:30 in New York: that day's 09:00 is still upcoming.
    start = local(2026, 1, 1, 9, 0)
    completed_at = datetime(2026, 1, 5, 13, 30, tzinfo=UTC)
    nxt = following("FREQ=DAILY", start, completed_at=completed_at, tz=NEW_YORK)
    assert nxt == Occurrence(local(2026, 1, 5, 9, 0), 5)


def test_count_ends_the_series_after_its_last_occurrence() -> None:
    start = local(2026, 1, 1, 9, 0)
    rule = "FREQ=DAILY;COUNT=3"
    on_time = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
    second = following(
        rule, start, current_due=local(2026, 1, 2, 9, 0), number=2, completed_at=on_time
    )
    assert second == Occurrence(local(2026, 1, 3, 9, 0), 3)
    last_done = datetime(2026, 1, 3, 9, 0, tzinfo=UTC)
    assert following(rule, start, current_due=second.due, number=3, completed_at=last_done) is None


def test_a_first_due_off_the_rule_counts_as_the_first_occurrence() -> None:
    # Tuesday 2026-01-06, but the rule says Mondays: the Tuesday task is #1 of 2.
    start = local(2026, 1, 6, 9, 0)
    rule = "FREQ=WEEKLY;BYDAY=MO;COUNT=2"
    second = following(rule, start, completed_at=datetime(2026, 1, 6, 10, 0, tzinfo=UTC))
    assert second == Occurrence(local(2026, 1, 12, 9, 0), 2)
    done = datetime(2026, 1, 12, 10, 0, tzinfo=UTC)
    assert following(rule, start, current_due=second.due, number=2, completed_at=done) is None


def test_a_rule_whose_next_occurrence_is_past_the_last_due_ends_the_series() -> None:
    start = local(2200, 1, 1, 9, 0)
    done = datetime(2200, 1, 2, 10, 0, tzinfo=UTC)
    assert following("FREQ=YEARLY", start, completed_at=done) is None
    assert following("FREQ=MONTHLY", start, completed_at=done) == Occurrence(
        local(2200, 2, 1, 9, 0), 2
    )


def test_a_rule_with_nothing_in_ten_years_ends_the_series() -> None:
    start = local(2026, 2, 28, 9, 0)  # 29 February of a year after 2025 + 4k: never
    rule = "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29"
    assert following(rule, start, completed_at=datetime(2026, 3, 1, tzinfo=UTC)) is None
    leap = local(2028, 2, 29, 9, 0)
    assert following(rule, leap, completed_at=datetime(2028, 3, 1, tzinfo=UTC)) == Occurrence(
        local(2032, 2, 29, 9, 0), 2
    )


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=HOURLY;BYMONTH=4;BYMONTHDAY=31",
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=-30",
        "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6",
        "FREQ=MONTHLY;BYDAY=5MO;BYMONTH=2;BYMONTHDAY=1,2,3",
        "FREQ=DAILY;BYSETPOS=2",
        "FREQ=HOURLY;BYMINUTE=0,30;BYSETPOS=3",
        "FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=-3",
        "FREQ=YEARLY;BYMONTH=2;BYDAY=6MO",  # no February has six Mondays
        "FREQ=YEARLY;BYMONTH=1;BYYEARDAY=366",  # the 366th day is in December
        "FREQ=YEARLY;BYMONTH=6;BYWEEKNO=1",  # week 1 is around New Year
        # Weeks starting on Tuesday: the Monday of week 1 is 4 to 10 January, never December.
        "FREQ=YEARLY;BYWEEKNO=1;BYMONTH=12;BYDAY=MO;WKST=TU",
        # A weekly rule ignores the numbers: that is one Monday a week, never a second entry.
        "FREQ=WEEKLY;BYDAY=1MO,2MO;BYSETPOS=2",
        # An hour holds its two minutes, whatever hours the rule lists.
        "FREQ=HOURLY;BYHOUR=9,17;BYMINUTE=0,30;BYSETPOS=3",
        "FREQ=WEEKLY;BYSETPOS=8",  # a week has seven days
        # A week holds one 3rd of the month (or one 100th day of the year) at most.
        "FREQ=WEEKLY;BYDAY=TU,SA;BYMONTHDAY=3;BYSETPOS=2",
        "FREQ=WEEKLY;BYDAY=TU,SA;BYYEARDAY=100;BYSETPOS=2",
    ],
)
def test_a_rule_that_never_occurs_is_refused(rule: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_rule(rule)
    problems = caught.value.problems
    assert [(p.field, p.code) for p in problems] == [("recurrence.rule", "rule_never_occurs")]
    assert problems[0].message


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=YEARLY;BYDAY=TH;BYWEEKNO=53",
        "FREQ=MONTHLY;BYDAY=5MO",
        "FREQ=DAILY;BYDAY=FR;BYMONTHDAY=13",
        "FREQ=DAILY;BYHOUR=9,17;BYSETPOS=2",
        "FREQ=HOURLY;BYMINUTE=0,30;BYSETPOS=-2",
        "FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=-2",
        # With the default week start (Monday), 29 to 31 December can be in week 1.
        "FREQ=YEARLY;BYDAY=MO;BYMONTH=12;BYWEEKNO=1",
        # A daily rule ignores the number: any Monday in January.
        "FREQ=DAILY;BYDAY=6MO;BYMONTH=1",
        # Two hours times two minutes: four entries on the 1st of each month.
        "FREQ=MONTHLY;BYHOUR=9,17;BYMINUTE=0,30;BYMONTHDAY=1;BYSETPOS=4",
        # 1 January of a leap year that is a Saturday (2028): rare, and the last such day of
        # the calendar is 1 January 9972, at its very first instant.
        "FREQ=YEARLY;BYDAY=SA;BYYEARDAY=-366",
    ],
)
def test_a_rare_rule_is_accepted(rule: str) -> None:
    assert parse_rule(rule) == rule


def test_count_ends_the_series_when_the_remaining_occurrences_were_missed() -> None:
    start = local(2026, 1, 1, 9, 0)
    late = datetime(2026, 1, 3, 10, 0, tzinfo=UTC)
    assert following("FREQ=DAILY;COUNT=3", start, completed_at=late) is None
    assert following("FREQ=DAILY;COUNT=4", start, completed_at=late) == Occurrence(
        local(2026, 1, 4, 9, 0), 4
    )


def test_until_as_a_date_includes_that_whole_day() -> None:
    start = local(2026, 1, 1, 21, 0)
    rule = "FREQ=DAILY;UNTIL=20260103"
    day2 = local(2026, 1, 2, 21, 0)
    completed = datetime(2026, 1, 2, 21, 0, tzinfo=UTC)
    nxt = following(rule, start, current_due=day2, number=2, completed_at=completed)
    assert nxt == Occurrence(local(2026, 1, 3, 21, 0), 3)
    after_last = datetime(2026, 1, 3, 21, 0, tzinfo=UTC)
    assert following(rule, start, current_due=nxt.due, number=3, completed_at=after_last) is None


@pytest.mark.parametrize(
    ("until", "last_day"),
    [
        # 09:00 in New York in January is 14:00Z: UNTIL is an instant, compared as such.
        ("20260103T140000Z", 3),
        ("20260103T135959Z", 2),
        # Without Z, UNTIL is a wall-clock time in the series' zone.
        ("20260103T090000", 3),
        ("20260103T085959", 2),
    ],
)
def test_until_as_a_utc_instant_or_a_wall_clock_time(until: str, last_day: int) -> None:
    start = local(2026, 1, 1, 9, 0)
    rule = f"FREQ=DAILY;UNTIL={until}"
    due = local(2026, 1, 2, 9, 0)
    completed = datetime(2026, 1, 2, 14, 0, tzinfo=UTC)  # 09:00 New York
    nxt = following(rule, start, current_due=due, number=2, completed_at=completed, tz=NEW_YORK)
    if last_day == 3:
        assert nxt == Occurrence(local(2026, 1, 3, 9, 0), 3)
    else:
        assert nxt is None


def test_every_other_week() -> None:
    monday = local(2026, 1, 5, 9, 0)
    assert chain("FREQ=WEEKLY;INTERVAL=2", monday, 2) == [
        Occurrence(local(2026, 1, 19, 9, 0), 2),
        Occurrence(local(2026, 2, 2, 9, 0), 3),
    ]


def test_every_other_week_on_two_days() -> None:
    tuesday = local(2026, 1, 6, 18, 0)
    assert chain("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", tuesday, 3) == [
        Occurrence(local(2026, 1, 8, 18, 0), 2),
        Occurrence(local(2026, 1, 20, 18, 0), 3),
        Occurrence(local(2026, 1, 22, 18, 0), 4),
    ]


# --- month ends -------------------------------------------------------------------------


def test_monthly_from_the_31st_clamps_to_feb_29_in_a_leap_year_and_remembers_the_31st() -> None:
    assert [o.due for o in chain("FREQ=MONTHLY", local(2028, 1, 31, 9, 0), 5)] == [
        local(2028, 2, 29, 9, 0),
        local(2028, 3, 31, 9, 0),
        local(2028, 4, 30, 9, 0),
        local(2028, 5, 31, 9, 0),
        local(2028, 6, 30, 9, 0),
    ]


def test_monthly_from_the_31st_clamps_to_feb_28_in_a_common_year() -> None:
    assert chain("FREQ=MONTHLY", local(2027, 1, 31, 9, 0), 3) == [
        Occurrence(local(2027, 2, 28, 9, 0), 2),
        Occurrence(local(2027, 3, 31, 9, 0), 3),
        Occurrence(local(2027, 4, 30, 9, 0), 4),
    ]


def test_monthly_from_the_30th_stays_on_the_30th_after_february() -> None:
    assert [o.due for o in chain("FREQ=MONTHLY", local(2027, 1, 30, 9, 0), 3)] == [
        local(2027, 2, 28, 9, 0),
        local(2027, 3, 30, 9, 0),
        local(2027, 4, 30, 9, 0),
    ]


def test_monthly_from_the_31st_every_other_month() -> None:
    assert [o.due for o in chain("FREQ=MONTHLY;INTERVAL=2", local(2027, 8, 31, 9, 0), 3)] == [
        local(2027, 10, 31, 9, 0),
        local(2027, 12, 31, 9, 0),
        local(2028, 2, 29, 9, 0),
    ]


def test_explicit_bymonthday_31_skips_months_without_a_31st() -> None:
    assert chain("FREQ=MONTHLY;BYMONTHDAY=31", local(2027, 1, 31, 9, 0), 4) == [
        Occurrence(local(2027, 3, 31, 9, 0), 2),
        Occurrence(local(2027, 5, 31, 9, 0), 3),
        Occurrence(local(2027, 7, 31, 9, 0), 4),
        Occurrence(local(2027, 8, 31, 9, 0), 5),
    ]


def test_bymonthday_minus_one_is_the_last_day_of_each_month() -> None:
    assert [o.due for o in chain("FREQ=MONTHLY;BYMONTHDAY=-1", local(2027, 1, 31, 9, 0), 4)] == [
        local(2027, 2, 28, 9, 0),
        local(2027, 3, 31, 9, 0),
        local(2027, 4, 30, 9, 0),
        local(2027, 5, 31, 9, 0),
    ]


def test_yearly_from_feb_29_clamps_to_feb_28_in_common_years() -> None:
    assert chain("FREQ=YEARLY", local(2028, 2, 29, 9, 0), 4) == [
        Occurrence(local(2029, 2, 28, 9, 0), 2),
        Occurrence(local(2030, 2, 28, 9, 0), 3),
        Occurrence(local(2031, 2, 28, 9, 0), 4),
        Occurrence(local(2032, 2, 29, 9, 0), 5),
    ]


# --- daylight saving --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "before", "after", "utc_before", "utc_after"),
    [
        # New York springs forward on 8 March 2026 and falls back on 1 November 2026.
        (NEW_YORK, local(2026, 3, 7, 9, 0), local(2026, 3, 8, 9, 0), 14, 13),
        (NEW_YORK, local(2026, 10, 31, 9, 0), local(2026, 11, 1, 9, 0), 13, 14),
        # Berlin springs forward on 29 March 2026 and falls back on 25 October 2026.
        (BERLIN, local(2026, 3, 28, 9, 0), local(2026, 3, 29, 9, 0), 8, 7),
        (BERLIN, local(2026, 10, 24, 9, 0), local(2026, 10, 25, 9, 0), 7, 8),
    ],
)
def test_daily_0900_keeps_its_wall_clock_time_across_dst(
    tz: ZoneInfo, before: datetime, after: datetime, utc_before: int, utc_after: int
) -> None:
    start = before.replace(day=before.day - 3)
    completed = wall_clock_to_utc(before, tz)
    nxt = following(
        "FREQ=DAILY", start, current_due=before, number=4, completed_at=completed, tz=tz
    )
    assert nxt == Occurrence(after, 5)
    assert wall_clock_to_utc(before, tz).hour == utc_before
    assert wall_clock_to_utc(nxt.due, tz).hour == utc_after
    assert wall_clock_to_utc(nxt.due, tz) - wall_clock_to_utc(before, tz) != after - before


def test_a_completion_instant_is_read_in_the_zone_after_the_change() -> None:
    # 13:30Z on 8 March 2026 is 09:30 EDT (it would be 08:30 in EST): 09:00 has passed.
    start = local(2026, 3, 7, 9, 0)
    completed = datetime(2026, 3, 8, 13, 30, tzinfo=UTC)
    nxt = following("FREQ=DAILY", start, completed_at=completed, tz=NEW_YORK)
    assert nxt == Occurrence(local(2026, 3, 9, 9, 0), 3)


@pytest.mark.parametrize(
    ("tz", "gap", "expected_utc", "expected_local"),
    [
        (
            NEW_YORK,
            local(2026, 3, 8, 2, 30),
            datetime(2026, 3, 8, 7, 30, tzinfo=UTC),
            local(2026, 3, 8, 3, 30),
        ),
        (
            BERLIN,
            local(2026, 3, 29, 2, 30),
            datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
            local(2026, 3, 29, 3, 30),
        ),
    ],
)
def test_a_wall_clock_time_in_the_spring_forward_gap_resolves_to_the_instant_after(
    tz: ZoneInfo, gap: datetime, expected_utc: datetime, expected_local: datetime
) -> None:
    moment = wall_clock_to_utc(gap, tz)
    assert moment == expected_utc
    assert moment.tzinfo is UTC
    assert moment.astimezone(tz).replace(tzinfo=None) == expected_local


def test_daily_0230_falls_in_the_gap_once_and_then_returns_to_0230() -> None:
    occurrences = chain("FREQ=DAILY", local(2026, 3, 7, 2, 30), 2, tz=NEW_YORK)
    assert [o.due for o in occurrences] == [local(2026, 3, 8, 2, 30), local(2026, 3, 9, 2, 30)]
    gap_day, after = (wall_clock_to_utc(o.due, NEW_YORK).astimezone(NEW_YORK) for o in occurrences)
    assert (gap_day.hour, gap_day.minute) == (3, 30)
    assert (after.hour, after.minute) == (2, 30)


# --- next occurrence, anchored to the completion ---------------------------------------


def test_completion_anchor_adds_the_interval_to_the_completion_date_at_the_due_time() -> None:
    start = local(2026, 1, 5, 9, 0)
    completed = datetime(2026, 1, 10, 17, 45, tzinfo=UTC)
    nxt = following(
        "FREQ=DAILY;INTERVAL=3",
        start,
        completed_at=completed,
        anchor=RecurrenceAnchor.COMPLETION,
    )
    assert nxt == Occurrence(local(2026, 1, 13, 9, 0), 2)


def test_completion_anchor_uses_the_local_completion_date() -> None:
    # 04:30Z on 11 January is still 10 January, 23:30 in New York.
    start = local(2026, 1, 5, 9, 0)
    completed = datetime(2026, 1, 11, 4, 30, tzinfo=UTC)
    nxt = following(
        "FREQ=DAILY;INTERVAL=3",
        start,
        completed_at=completed,
        tz=NEW_YORK,
        anchor=RecurrenceAnchor.COMPLETION,
    )
    assert nxt == Occurrence(local(2026, 1, 13, 9, 0), 2)


def test_completion_anchor_counts_from_an_early_completion_too() -> None:
    start = local(2026, 1, 20, 9, 0)
    completed = datetime(2026, 1, 14, 8, 0, tzinfo=UTC)  # a Wednesday, six days early
    nxt = following(
        "FREQ=WEEKLY", start, completed_at=completed, anchor=RecurrenceAnchor.COMPLETION
    )
    assert nxt == Occurrence(local(2026, 1, 21, 9, 0), 2)


def test_completion_anchor_all_day_is_the_day_after_the_interval() -> None:
    start = local(2026, 1, 5)
    completed = datetime(2026, 1, 9, 15, 0, tzinfo=UTC)
    nxt = following(
        "FREQ=DAILY;INTERVAL=2",
        start,
        completed_at=completed,
        all_day=True,
        anchor=RecurrenceAnchor.COMPLETION,
    )
    assert nxt == Occurrence(local(2026, 1, 11), 2)


def test_completion_anchor_counts_by_occurrence_numbers_not_by_the_calendar() -> None:
    start = local(2026, 1, 1, 9, 0)
    rule = "FREQ=DAILY;COUNT=2"
    # Two months late: under the due anchor the series would be over; here #2 still comes.
    late = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    completion = RecurrenceAnchor.COMPLETION
    assert following(rule, start, completed_at=late, anchor=completion) == Occurrence(
        local(2026, 3, 2, 9, 0), 2
    )
    assert following(rule, start, completed_at=late) is None
    second_due = local(2026, 3, 2, 9, 0)
    done = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert (
        following(
            rule, start, current_due=second_due, number=2, completed_at=done, anchor=completion
        )
        is None
    )


# --- all-day series ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("completed_at", "expected"),
    [
        # On time (during 1 January): the next is 2 January.
        (datetime(2026, 1, 1, 15, 0, tzinfo=UTC), Occurrence(local(2026, 1, 2), 2)),
        # One day late: 2 January's own day has not ended yet, so it is next.
        (datetime(2026, 1, 2, 15, 0, tzinfo=UTC), Occurrence(local(2026, 1, 2), 2)),
        # Late on 5 January: the first occurrence on or after 5 January.
        (datetime(2026, 1, 5, 23, 59, tzinfo=UTC), Occurrence(local(2026, 1, 5), 5)),
        (datetime(2026, 1, 5, 0, 0, tzinfo=UTC), Occurrence(local(2026, 1, 5), 5)),
    ],
)
def test_all_day_occurrences_stay_upcoming_until_their_day_ends(
    completed_at: datetime, expected: Occurrence
) -> None:
    start = local(2026, 1, 1)
    assert following("FREQ=DAILY", start, completed_at=completed_at, all_day=True) == expected


def test_all_day_weekly_skips_only_the_days_that_have_ended() -> None:
    monday = local(2026, 1, 5)
    rule = "FREQ=WEEKLY;BYDAY=MO"
    on_next_monday = datetime(2026, 1, 12, 20, 0, tzinfo=UTC)
    on_tuesday = datetime(2026, 1, 13, 8, 0, tzinfo=UTC)
    assert following(rule, monday, completed_at=on_next_monday, all_day=True) == Occurrence(
        local(2026, 1, 12), 2
    )
    assert following(rule, monday, completed_at=on_tuesday, all_day=True) == Occurrence(
        local(2026, 1, 19), 3
    )


def test_all_day_completion_day_is_read_in_the_series_time_zone() -> None:
    # 03:00Z on 6 January is 22:00 on 5 January in New York.
    start = local(2026, 1, 1)
    completed = datetime(2026, 1, 6, 3, 0, tzinfo=UTC)
    nxt = following("FREQ=DAILY", start, completed_at=completed, all_day=True, tz=NEW_YORK)
    assert nxt == Occurrence(local(2026, 1, 5), 5)


def test_every_other_hour_at_odd_hours_from_an_odd_hour() -> None:
    """Whether an HOURLY INTERVAL reaches the listed hours depends on the series' start:
    from 01:00, every other hour is an odd hour, so this rule is taken and goes on."""
    rule = "FREQ=HOURLY;BYHOUR=1,3,5;INTERVAL=2"
    assert parse_rule(rule) == rule
    assert [o.due for o in chain(rule, local(2026, 1, 5, 1, 0), 3)] == [
        local(2026, 1, 5, 3, 0),
        local(2026, 1, 5, 5, 0),
        local(2026, 1, 6, 1, 0),
    ]
