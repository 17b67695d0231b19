"""What a task listing asks for, and the page it gets back."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from taskstream.domain.errors import ValidationFailed
from taskstream.domain.tasks import TITLE_MAX, Priority, Status, Task, in_range


class SortKey(StrEnum):
    DUE = "due"
    PRIORITY = "priority"
    CREATED = "created"
    UPDATED = "updated"
    TITLE = "title"


class Order(StrEnum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True, slots=True)
class TaskQuery:
    status: Status | None = None
    priorities: frozenset[Priority] = frozenset()
    tags_all: frozenset[str] = frozenset()
    tags_any: frozenset[str] = frozenset()
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool | None = None
    no_due: bool | None = None
    search: str | None = None
    series_id: str | None = None
    sort: SortKey = SortKey.CREATED
    order: Order = Order.ASC
    limit: int = 50
    after: tuple[Any, ...] | None = field(default=None)
    """The sort values of the last row of the previous page (decoded from a cursor)."""

    def fingerprint(self) -> str:
        return f"{self.sort}:{self.order}"


@dataclass(frozen=True, slots=True)
class Page:
    tasks: list[Task]
    next_after: tuple[Any, ...] | None


@dataclass(frozen=True, slots=True)
class TagCount:
    name: str
    count: int


SEQ_MAX: Final = 2**63 - 1
"""The largest row number a cursor may hold (a signed 64-bit integer in SQL)."""


def encode_cursor(query: TaskQuery, after: tuple[Any, ...]) -> str:
    values = [v.isoformat() if isinstance(v, datetime) else v for v in after]
    raw = json.dumps([query.fingerprint(), values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, query: TaskQuery) -> tuple[Any, ...]:
    """The keyset position in `cursor`, each value of the type its sort key has.

    Refused (`cursor_mismatch`) when it belongs to another sort order, and
    (`cursor_invalid`) when it is not one `encode_cursor` made for this one.
    """
    payload = read_cursor(cursor)
    if not isinstance(payload, list) or len(payload) != 2:
        raise _invalid()
    fingerprint, after = payload
    if fingerprint != query.fingerprint():
        raise ValidationFailed.of(
            "cursor",
            "cursor_mismatch",
            "This cursor belongs to a listing with another sort; start again without it.",
        )
    if not isinstance(after, list):
        raise _invalid()
    kinds = _CURSOR_KINDS[query.sort]
    if len(after) != len(kinds) + 1:
        raise _invalid()
    values = tuple(kind(value) for kind, value in zip(kinds, after, strict=False))
    if query.sort is SortKey.DUE and (values[0] == 1) != (values[1] is None):
        raise _invalid()  # "no due" and a due moment (or neither)
    return (*values, cursor_seq(after[-1]))


def read_cursor(cursor: str) -> Any:
    """The JSON inside a cursor (URL-safe base64, padding optional), or `cursor_invalid`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise _invalid() from exc


def cursor_seq(value: Any) -> int:
    """A row number from a cursor: a whole number from 0 to SEQ_MAX."""
    if type(value) is not int or not 0 <= value <= SEQ_MAX:
        raise _invalid()
    return value


def cursor_moment(value: Any) -> datetime:
    """A moment from a cursor: an ISO 8601 string with an offset, in the dates taken."""
    if not isinstance(value, str):
        raise _invalid()
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise _invalid()
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise _invalid() from exc
    if not in_range(moment.date()):
        raise _invalid()
    return moment


def _optional_moment(value: Any) -> datetime | None:
    return None if value is None else cursor_moment(value)


def _flag(value: Any) -> int:
    if type(value) is not int or value not in (0, 1):
        raise _invalid()
    return value


def _rank(value: Any) -> int:
    if type(value) is not int or not 0 <= value < len(Priority):
        raise _invalid()
    return value


def _title(value: Any) -> str:
    if not isinstance(value, str) or len(value) > TITLE_MAX:
        raise _invalid()
    return value


_CURSOR_KINDS: Final[dict[SortKey, tuple[Callable[[Any], Any], ...]]] = {
    SortKey.DUE: (_flag, _optional_moment),
    SortKey.PRIORITY: (_rank,),
    SortKey.CREATED: (cursor_moment,),
    SortKey.UPDATED: (cursor_moment,),
    SortKey.TITLE: (_title,),
}
"""The type of each sort value a cursor holds before the row number, per sort key."""


def _invalid() -> ValidationFailed:
    return ValidationFailed.of(
        "cursor", "cursor_invalid", "This cursor is not one this API gave out."
    )
