"""Unit tests of the cursor codec's exact output and edges (its round trips and refusals
are in test_queries.py): cursors stay short and the same from one release to the next."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from taskstream.app.queries import Order, SortKey, TaskQuery, decode_cursor, encode_cursor
from taskstream.domain.errors import ValidationFailed
from taskstream.domain.tasks import TITLE_MAX


def text_of(cursor: str) -> str:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()


def test_a_cursor_is_compact_json_of_the_sort_and_the_values() -> None:
    cursor = encode_cursor(TaskQuery(sort=SortKey.PRIORITY), (2, 7))
    assert cursor == "WyJwcmlvcml0eTphc2MiLFsyLDddXQ"
    assert text_of(cursor) == '["priority:asc",[2,7]]'


def test_a_moment_is_written_in_iso_8601_with_its_offset() -> None:
    query = TaskQuery(sort=SortKey.UPDATED, order=Order.DESC)
    moment = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert text_of(encode_cursor(query, (moment, 12))) == (
        '["updated:desc",["2026-03-01T09:30:00+00:00",12]]'
    )


def test_a_title_of_the_longest_length_taken_round_trips() -> None:
    query = TaskQuery(sort=SortKey.TITLE)
    title = "t" * TITLE_MAX
    assert decode_cursor(encode_cursor(query, (title, 1)), query) == (title, 1)


@pytest.mark.parametrize(
    ("cursor", "code"),
    [
        ("!!!", "cursor_invalid"),
        (encode_cursor(TaskQuery(sort=SortKey.TITLE), ("a", 1)), "cursor_mismatch"),
    ],
)
def test_a_refused_cursor_says_what_to_do(cursor: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(cursor, TaskQuery())
    [problem] = caught.value.problems
    assert (problem.field, problem.code) == ("cursor", code)
    assert isinstance(problem.message, str)
    assert problem.message.endswith(".")
