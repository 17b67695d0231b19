"""Unit tests of the task listing's cursor codec: what it gives out, it takes back typed;
anything else is refused with a stable code."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from taskstream.app.queries import (
    SEQ_MAX,
    Order,
    SortKey,
    TaskQuery,
    cursor_moment,
    cursor_seq,
    decode_cursor,
    encode_cursor,
)
from taskstream.domain.errors import ValidationFailed

MOMENT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def cursor_of(payload: Any) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def code_of(cursor: str, query: TaskQuery) -> str:
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(cursor, query)
    [problem] = caught.value.problems
    assert problem.field == "cursor"
    return problem.code


@pytest.mark.parametrize(
    ("sort", "after"),
    [
        (SortKey.DUE, (0, MOMENT, 7)),
        (SortKey.DUE, (1, None, 7)),
        (SortKey.PRIORITY, (0, 1)),
        (SortKey.PRIORITY, (4, SEQ_MAX)),
        (SortKey.CREATED, (MOMENT, 0)),
        (SortKey.UPDATED, (MOMENT, 3)),
        (SortKey.TITLE, ("buy milk", 3)),
        (SortKey.TITLE, ("", 3)),
    ],
)
@pytest.mark.parametrize("order", list(Order))
def test_a_cursor_round_trips_with_its_types(
    sort: SortKey, after: tuple[Any, ...], order: Order
) -> None:
    query = TaskQuery(sort=sort, order=order)
    cursor = encode_cursor(query, after)
    assert "=" not in cursor
    assert decode_cursor(cursor, query) == after


def test_a_moment_in_another_offset_comes_back_in_utc() -> None:
    query = TaskQuery(sort=SortKey.CREATED)
    cursor = cursor_of(["created:asc", ["2026-03-01T10:30:00+01:00", 5]])
    assert decode_cursor(cursor, query) == (MOMENT, 5)
    assert decode_cursor(cursor, query)[0].tzinfo is UTC


def test_a_cursor_of_another_sort_or_order_is_a_mismatch() -> None:
    cursor = encode_cursor(TaskQuery(sort=SortKey.CREATED), (MOMENT, 1))
    assert code_of(cursor, TaskQuery(sort=SortKey.UPDATED)) == "cursor_mismatch"
    assert code_of(cursor, TaskQuery(sort=SortKey.CREATED, order=Order.DESC)) == "cursor_mismatch"


@pytest.mark.parametrize(
    ("sort", "values"),
    [
        (SortKey.PRIORITY, [{"x": 1}, 1]),
        (SortKey.PRIORITY, [5, 1]),
        (SortKey.PRIORITY, [-1, 1]),
        (SortKey.PRIORITY, [True, 1]),
        (SortKey.PRIORITY, [1.0, 1]),
        (SortKey.PRIORITY, [1]),
        (SortKey.PRIORITY, [1, 1, 1]),
        (SortKey.TITLE, [["a"], 1]),
        (SortKey.TITLE, ["x" * 201, 1]),
        (SortKey.CREATED, ["2026-03-01T09:30:00", 1]),
        (SortKey.CREATED, ["not a moment", 1]),
        (SortKey.CREATED, ["0001-01-01T00:00:00+14:00", 1]),
        (SortKey.CREATED, ["1899-12-31T23:59:59+00:00", 1]),
        (SortKey.CREATED, ["2201-01-01T00:00:00+00:00", 1]),
        (SortKey.UPDATED, [None, 1]),
        (SortKey.DUE, [0, None, 1]),
        (SortKey.DUE, [1, "2026-03-01T09:30:00+00:00", 1]),
        (SortKey.DUE, [2, None, 1]),
        (SortKey.DUE, [False, "2026-03-01T09:30:00+00:00", 1]),
        (SortKey.CREATED, ["2026-03-01T09:30:00+00:00", SEQ_MAX + 1]),
        (SortKey.CREATED, ["2026-03-01T09:30:00+00:00", -1]),
        (SortKey.CREATED, ["2026-03-01T09:30:00+00:00", "1"]),
        (SortKey.CREATED, ["2026-03-01T09:30:00+00:00", False]),
    ],
)
def test_a_hand_made_value_is_invalid(sort: SortKey, values: list[Any]) -> None:
    query = TaskQuery(sort=sort)
    assert code_of(cursor_of([query.fingerprint(), values]), query) == "cursor_invalid"


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        cursor_of({"created:asc": 1}),
        cursor_of(["created:asc"]),
        cursor_of(["created:asc", ["2026-03-01T09:30:00+00:00", 1], 3]),
        cursor_of(["created:asc", "values"]),
        cursor_of(None),
    ],
)
def test_a_cursor_that_is_not_a_pair_of_sort_and_values_is_invalid(cursor: str) -> None:
    assert code_of(cursor, TaskQuery()) == "cursor_invalid"


def test_the_row_number_and_moment_readers_take_exactly_their_type() -> None:
    assert cursor_seq(0) == 0
    assert cursor_seq(SEQ_MAX) == SEQ_MAX
    assert cursor_moment("1900-01-01T00:00:00+00:00") == datetime(1900, 1, 1, tzinfo=UTC)
    assert cursor_moment("2200-12-31T23:59:59Z") == datetime(2200, 12, 31, 23, 59, 59, tzinfo=UTC)
    for value in (True, 1.0, None, "7"):
        with pytest.raises(ValidationFailed):
            cursor_seq(value)
