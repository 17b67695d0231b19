"""Bad inputs the API must refuse with a 422, never a 500 and never a half-written change.

Shared by the tests of both shapes: tests/security runs them on the embedded API (SQLite
and PostgreSQL), tests/e2e through the gateway of the distributed shape.
"""

from __future__ import annotations

from typing import Any, Final

NUL_IN_TASK_TEXT: Final[list[dict[str, Any]]] = [
    {"title": "a\x00b"},
    {"title": "ok", "description": "a\x00b"},
    {"title": "ok", "tags": ["a\x00b"]},
]
"""Task bodies with a NUL character: 422 with the field's `nul_character`."""

NUL_IN_URLS: Final[list[tuple[str, dict[str, str]]]] = [
    ("/tasks/abc%00def", {}),
    ("/tasks", {"tags_all": "a\x00"}),
    ("/tasks", {"q": "milk\x00"}),
    ("/activity", {"task_id": "a\x00"}),
]
"""GETs with a NUL character in the path or a parameter: 422 `nul_character`."""

NUL_IN_CHAT: Final[list[dict[str, Any]]] = [
    {"message": "add milk\x00 tomorrow"},
    {"message": "\x00"},
    {"message": "show my tasks", "conversation_id": "a\x00"},
]
"""Chat bodies with a NUL character: 422 with the field's `nul_character`."""

DUES_OUT_OF_RANGE: Final[list[dict[str, Any]]] = [
    {"due_date": "9999-12-31"},
    {"due_date": "0001-01-01"},
    {"due_date": "9999-12-31", "due_time": "23:59", "timezone": "Pacific/Pago_Pago"},
    {"due_date": "2201-01-01"},
    {"due_date": "1899-12-31"},
    {"due_date": "9999-12-31", "recurrence": {"rule": "FREQ=YEARLY"}},
    {"reminders": [{"at": "9999-12-31T23:59:59-12:00"}]},
    {"reminders": [{"at": "0001-01-01T00:00:00+14:00"}]},
    {"recurrence": {"rule": "FREQ=DAILY;UNTIL=99991231T235959Z"}, "due_date": "2026-01-01"},
    {"recurrence": {"rule": "FREQ=DAILY;UNTIL=00010101T000000Z"}, "due_date": "2026-01-01"},
    {"due_time": "09:00:00+05:00", "due_date": "2026-01-01"},
    {"due_date": 0},
    {"due_date": "2026-02-30"},
]
"""Fields of a new task with a date out of the years taken (1900-2200) or not a date."""

PATCHES_OUT_OF_RANGE: Final[list[dict[str, Any]]] = [
    {"due_date": "9999-12-31"},
    {"due_date": "0001-01-01", "due_time": "00:00"},
]
"""Changes to a task's due out of range: 422 on `due_date`."""

FILTERS_OUT_OF_RANGE: Final[list[tuple[str, dict[str, str]]]] = [
    ("/tasks", {"due_before": "0001-01-01T00:00:00+14:00"}),
    ("/tasks", {"due_after": "9999-12-31T23:59:59-12:00"}),
    ("/tasks", {"due_before": "0.5"}),
    ("/tasks", {"due_after": "1700000000"}),
    ("/tasks", {"due_before": "2026-01-01T00:00:00"}),
    ("/activity", {"since": "0001-01-01T00:00:00+14:00"}),
    ("/activity", {"until": "9999-12-31T23:59:59-12:00"}),
    ("/activity", {"since": "0.5"}),
]
"""Moments out of range or not ISO 8601 with an offset: 422 on the parameter."""

EDGE_ZONES: Final = ("Pacific/Pago_Pago", "Pacific/Kiritimati")
"""The zones furthest behind and ahead of UTC."""
EDGE_DAYS: Final = ("1900-01-01", "2200-12-31")
"""The first and the last day of the years taken."""
