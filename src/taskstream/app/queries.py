"""What a task listing asks for, and the page it gets back."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from taskstream.domain.errors import ValidationFailed
from taskstream.domain.tasks import Priority, Status, Task


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


def encode_cursor(query: TaskQuery, after: tuple[Any, ...]) -> str:
    raw = json.dumps([query.fingerprint(), list(after)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, query: TaskQuery) -> tuple[Any, ...]:
    """The keyset position in `cursor`; refused when it belongs to another sort order."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        fingerprint, after = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ValidationFailed.of(
            "cursor", "cursor_invalid", "This cursor is not one this API gave out."
        ) from exc
    if fingerprint != query.fingerprint() or not isinstance(after, list):
        raise ValidationFailed.of(
            "cursor",
            "cursor_mismatch",
            "This cursor belongs to a listing with another sort; start again without it.",
        )
    return tuple(after)
