"""Property tests (Hypothesis) of the parsers a client reaches: dates and moments, recurrence
rules, cursors. Whatever they accept round-trips; anything else is a ValidationFailed (a
422), never another exception (a 500); and none of them, nor the next occurrence of an
accepted rule, keeps the CPU for more than 100 ms (the event loop would stall)."""

from __future__ import annotations

import base64
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from taskstream.app.queries import SortKey, TaskQuery, decode_cursor, encode_cursor
from taskstream.domain.errors import ValidationFailed
from taskstream.domain.recurrence import (
    EARLIEST,
    LATEST,
    Recurrence,
    RecurrenceAnchor,
    next_occurrence,
    parse_rule,
)
from taskstream.entrypoints.api.schemas import DueDate, Moment, WallTime

STALL = 0.1  # seconds of CPU; process time, so a busy machine does not make it flaky
PROPERTIES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cpu(call: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    began = time.thread_time()
    result = call(*args, **kwargs)
    return result, time.thread_time() - began


# --- dates and moments -----------------------------------------------------------------------

DUE_DATE: TypeAdapter[date] = TypeAdapter(DueDate)
WALL_TIME: TypeAdapter[Any] = TypeAdapter(WallTime)
MOMENT: TypeAdapter[datetime] = TypeAdapter(Moment)


@PROPERTIES
@given(st.dates(min_value=EARLIEST.date(), max_value=LATEST.date()))
def test_every_date_in_range_round_trips(day: date) -> None:
    assert DUE_DATE.validate_python(day.isoformat()) == day


@PROPERTIES
@given(st.one_of(st.text(max_size=30), st.dates().map(date.isoformat), st.integers()))
def test_any_other_date_is_refused_cleanly(value: Any) -> None:
    try:
        day = DUE_DATE.validate_python(value)
    except ValidationError:
        return
    assert isinstance(value, str)
    assert EARLIEST.date() <= day <= LATEST.date()
    assert day.isoformat() == value


@PROPERTIES
@given(st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=st.timezones()))
def test_every_moment_in_range_round_trips(moment: datetime) -> None:
    text = moment.isoformat()
    if moment.utcoffset() is None or moment.utcoffset() % timedelta(minutes=1):
        return  # offsets in seconds are not RFC 3339
    try:
        parsed = MOMENT.validate_python(text)
    except ValidationError:
        # Only a local date at the range's very edge may be refused (by its UTC date).
        assert moment.year in {EARLIEST.year, LATEST.year}
        return
    # Compared as fixed offsets: a wall-clock time in a DST gap or fold compares unequal
    # across zones by design (PEP 495), though it is the same instant.
    assert parsed == datetime.fromisoformat(text)
    assert parsed.tzinfo is UTC


@PROPERTIES
@given(
    st.one_of(
        st.text(max_size=40),
        st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
        st.floats(allow_nan=True).map(str),
    )
)
def test_any_other_moment_is_refused_cleanly(value: str) -> None:
    try:
        parsed, spent = cpu(MOMENT.validate_python, value)
    except ValidationError:
        return
    assert spent < STALL
    assert parsed.tzinfo is UTC
    assert EARLIEST.year - 1 <= parsed.year <= LATEST.year + 1


@PROPERTIES
@given(st.times())
def test_wall_clock_times_round_trip_without_an_offset(moment: Any) -> None:
    text = moment.replace(microsecond=0).isoformat()
    assert WALL_TIME.validate_python(text) == moment.replace(microsecond=0)
    with pytest.raises(ValidationError):
        WALL_TIME.validate_python(text + "+05:00")


# --- recurrence rules ------------------------------------------------------------------------

_PARTS = st.fixed_dictionaries(
    {"FREQ": st.sampled_from(["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"])},
    optional={
        "INTERVAL": st.integers(1, 12).map(str),
        "COUNT": st.integers(1, 10_000).map(str),
        "BYDAY": st.lists(
            st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU", "1MO", "-1FR", "5TH"]),
            min_size=1,
            max_size=3,
            unique=True,
        ).map(",".join),
        "BYMONTHDAY": st.lists(
            st.integers(-31, 31).filter(bool), min_size=1, max_size=3, unique=True
        ).map(lambda days: ",".join(map(str, days))),
        "BYMONTH": st.lists(st.integers(1, 12), min_size=1, max_size=3, unique=True).map(
            lambda months: ",".join(map(str, months))
        ),
        "BYHOUR": st.lists(st.integers(0, 23), min_size=1, max_size=24, unique=True).map(
            lambda hours: ",".join(map(str, hours))
        ),
        "BYMINUTE": st.lists(st.integers(0, 59), min_size=1, max_size=60, unique=True).map(
            lambda minutes: ",".join(map(str, minutes))
        ),
        "BYSETPOS": st.sampled_from(["1", "-1", "2", "6"]),
    },
)


@PROPERTIES
@given(_PARTS, st.text(max_size=20))
def test_a_rule_is_normalised_idempotently_or_refused_cleanly(
    parts: dict[str, str], noise: str
) -> None:
    text = ";".join(f"{k}={v}" for k, v in parts.items())
    for candidate in (text, text + noise, noise):
        try:
            rule, spent = cpu(parse_rule, candidate)
        except ValidationFailed:
            continue
        assert spent < STALL
        assert parse_rule(rule) == rule


OUT_OF_PHASE = [
    # INTERVAL out of phase with the weekdays, hours or months picked: nothing ever comes
    # again, which dateutil finds only by walking every period to the year 9999 (1 to 4 s).
    ("FREQ=DAILY;INTERVAL=7;BYDAY=TU", datetime(2026, 1, 1, 9)),  # noqa: DTZ001
    ("FREQ=DAILY;INTERVAL=7;BYDAY=TU;BYMONTHDAY=13", datetime(2026, 1, 1, 9)),  # noqa: DTZ001
    ("FREQ=HOURLY;INTERVAL=7;BYDAY=TU;BYHOUR=3", datetime(2026, 1, 1, 9)),  # noqa: DTZ001
    ("FREQ=MONTHLY;INTERVAL=4;BYMONTH=3", datetime(2026, 5, 1, 9)),  # noqa: DTZ001
]


@pytest.mark.parametrize(("rule", "start"), OUT_OF_PHASE)
@pytest.mark.parametrize("anchor", list(RecurrenceAnchor))
def test_a_series_that_never_comes_again_is_found_to_have_ended_at_once(
    rule: str, start: datetime, anchor: RecurrenceAnchor
) -> None:
    recurrence = Recurrence(parse_rule(rule), anchor, start)
    following, spent = cpu(
        next_occurrence,
        recurrence,
        current_due=start,
        all_day=False,
        current_number=1,
        completed_at=datetime(2026, 6, 1, tzinfo=UTC),
        tz=ZoneInfo("UTC"),
    )
    assert following is None
    assert spent < STALL


# --- cursors ---------------------------------------------------------------------------------

_SORT_VALUES = {
    SortKey.PRIORITY: st.tuples(st.integers(0, 4)),
    SortKey.TITLE: st.tuples(st.text(max_size=200)),
    SortKey.CREATED: st.tuples(
        st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=st.just(UTC))
    ),
    SortKey.DUE: st.one_of(
        st.tuples(
            st.just(0), st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=st.just(UTC))
        ),
        st.tuples(st.just(1), st.none()),
    ),
}


@PROPERTIES
@given(st.data())
def test_every_cursor_given_out_comes_back(data: st.DataObject) -> None:
    sort = data.draw(st.sampled_from(list(_SORT_VALUES)))
    values = data.draw(_SORT_VALUES[sort])
    after = (*values, data.draw(st.integers(0, 2**63 - 1)))
    query = TaskQuery(sort=sort)
    assert decode_cursor(encode_cursor(query, after), query) == after


@PROPERTIES
@given(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=150).map(lambda raw: base64.urlsafe_b64encode(raw).decode()),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
            lambda inner: st.lists(inner, max_size=4),
            max_leaves=8,
        ).map(lambda value: base64.urlsafe_b64encode(repr(value).encode()).decode()),
    ),
    st.sampled_from(list(SortKey)),
)
def test_any_other_cursor_is_refused_cleanly(cursor: str, sort: SortKey) -> None:
    try:
        cpu(decode_cursor, cursor, TaskQuery(sort=sort))
    except ValidationFailed as refused:
        code = refused.problems[0].code
    else:
        return
    assert code in {"cursor_invalid", "cursor_mismatch"}
