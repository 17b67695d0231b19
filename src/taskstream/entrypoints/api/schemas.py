"""Request and response bodies of the HTTP API, in families (Create, Update, Public)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Final

from fastapi import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import to_json

from taskstream.domain.errors import Problems, ValidationFailed
from taskstream.domain.recurrence import RecurrenceAnchor
from taskstream.domain.tasks import (
    EARLIEST_DAY,
    LATEST_DAY,
    REMINDER_BEFORE_MAX,
    Due,
    NewTask,
    Priority,
    Reminder,
    Status,
    Task,
    TaskChanges,
    overdue,
)
from taskstream.domain.users import User

# --- dates and times, as the wire carries them ---------------------------------------------
# Only the forms written here are taken (no Unix times, no offset on a wall-clock time), and
# only in the years the system works with: the OpenAPI document states the same patterns.

_YEAR: Final = f"(19[0-9]{{2}}|2[01][0-9]{{2}}|{LATEST_DAY.year})"
_DAY: Final = f"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_CLOCK: Final = "([01][0-9]|2[0-3]):[0-5][0-9]"
_DATE_PATTERN: Final = f"^{_DAY}$"
_TIME_PATTERN: Final = f"^{_CLOCK}(:[0-5][0-9])?$"
_MOMENT_PATTERN: Final = f"^{_DAY}T{_CLOCK}:[0-5][0-9](\\.[0-9]{{1,6}})?(Z|[+-]{_CLOCK})$"
_RANGE: Final = f"from {EARLIEST_DAY.year} to {LATEST_DAY.year}"


def _matching(pattern: str, value: object, what: str) -> str:
    if not isinstance(value, str) or re.fullmatch(pattern[1:-1], value) is None:
        raise ValueError(f"give {what}")
    return value


def _date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = _matching(_DATE_PATTERN, value, f"a date such as 2026-05-01, in the years {_RANGE}")
    return date.fromisoformat(text)  # ValueError for 2026-02-30


def _time(value: object) -> time:
    if isinstance(value, time):
        return value
    return time.fromisoformat(
        _matching(_TIME_PATTERN, value, "a wall-clock time such as 09:30, without an offset")
    )


def _moment(value: object) -> datetime:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    text = _matching(
        _MOMENT_PATTERN,
        value,
        f"a date and time with an offset, such as 2026-05-01T09:00:00Z, in the years {_RANGE}",
    )
    return datetime.fromisoformat(text).astimezone(UTC)


DueDate = Annotated[
    date,
    BeforeValidator(_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": _DATE_PATTERN}),
]
"""A calendar date in the years the system takes."""
WallTime = Annotated[
    time,
    BeforeValidator(_time),
    WithJsonSchema({"type": "string", "pattern": _TIME_PATTERN, "examples": ["09:30"]}),
]
"""A wall-clock time of day, HH:MM or HH:MM:SS, without an offset."""
Moment = Annotated[
    datetime,
    BeforeValidator(_moment),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": _MOMENT_PATTERN}),
]
"""An instant: RFC 3339 with an offset, in the years the system takes; read as UTC."""

# Generous outer bounds; the domain gives the precise rule and its message.
_Title = Annotated[str, Field(max_length=1_000, examples=["Buy milk"])]
_Description = Annotated[str, Field(max_length=20_000)]
_Tags = Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=100)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReminderIn(_In):
    """Exactly one of `at` (an absolute moment) or `minutes_before` (the due moment)."""

    at: Moment | None = None
    minutes_before: int | None = Field(default=None, ge=0, le=REMINDER_BEFORE_MAX)

    def to_domain(self) -> Reminder:
        at = None if self.at is None else self.at.astimezone(UTC)
        return Reminder(at=at, minutes_before=self.minutes_before)


class RecurrenceIn(_In):
    rule: str = Field(max_length=500, examples=["FREQ=WEEKLY;BYDAY=MO,WE"])
    anchor: RecurrenceAnchor = RecurrenceAnchor.DUE


class TaskCreate(_In):
    title: _Title
    description: _Description = ""
    priority: Priority = Priority.NONE
    tags: _Tags = Field(default_factory=list)
    due_date: DueDate | None = None
    due_time: WallTime | None = Field(default=None, description="Empty for an all-day task.")
    timezone: str | None = Field(
        default=None, max_length=64, description="IANA zone; defaults to the user's."
    )
    reminders: list[ReminderIn] = Field(default_factory=list, max_length=50)
    recurrence: RecurrenceIn | None = None

    def to_domain(self) -> NewTask:
        if self.due_date is None and self.due_time is not None:
            raise ValidationFailed.of(
                "due_time", "due_time_needs_date", "A due time needs a due date."
            )
        return NewTask(
            title=self.title,
            description=self.description,
            priority=self.priority,
            tags=self.tags,
            due=None if self.due_date is None else Due(self.due_date, self.due_time),
            timezone=self.timezone,
            reminders=tuple(r.to_domain() for r in self.reminders),
            recurrence_rule=self.recurrence.rule if self.recurrence else None,
            recurrence_anchor=(self.recurrence.anchor if self.recurrence else RecurrenceAnchor.DUE),
        )


class TaskUpdate(_In):
    """Only the fields present change; `null` clears a field that may be empty."""

    title: _Title | None = None
    description: _Description | None = None
    priority: Priority | None = None
    tags: _Tags | None = None
    due_date: DueDate | None = None
    due_time: WallTime | None = None
    timezone: str | None = Field(default=None, max_length=64)
    reminders: list[ReminderIn] | None = Field(default=None, max_length=50)
    recurrence: RecurrenceIn | None = None

    def to_domain(self) -> TaskChanges:
        given = self.model_fields_set
        problems = Problems()
        changes: dict[str, Any] = {}
        for name in ("title", "description", "priority", "tags", "timezone", "reminders"):
            if name in given:
                value = getattr(self, name)
                if value is None:
                    problems.add(name, "required", f"{name} cannot be null; leave it out instead.")
                elif name == "tags":
                    changes[name] = frozenset(value)
                elif name == "reminders":
                    changes[name] = tuple(r.to_domain() for r in value)
                else:
                    changes[name] = value
        for name in ("due_date", "due_time"):
            if name in given:
                changes[name] = getattr(self, name)
        if "recurrence" in given:
            changes["recurrence_rule"] = self.recurrence.rule if self.recurrence else None
            if self.recurrence is not None:
                changes["recurrence_anchor"] = self.recurrence.anchor
        problems.raise_if_any()
        return TaskChanges(**changes)


class ReminderPublic(BaseModel):
    at: datetime | None
    minutes_before: int | None
    remind_at: datetime | None = Field(description="When the reminder fires (UTC).")


class RecurrencePublic(BaseModel):
    rule: str
    anchor: RecurrenceAnchor


class TaskPublic(BaseModel):
    id: str
    title: str
    description: str
    status: Status
    priority: Priority
    tags: list[str]
    due_date: DueDate | None
    due_time: WallTime | None
    due_at: datetime | None = Field(description="The moment the task falls due (UTC).")
    timezone: str
    overdue: bool
    reminders: list[ReminderPublic]
    recurrence: RecurrencePublic | None
    series_id: str | None
    occurrence: int
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    version: int

    @classmethod
    def of(cls, task: Task, now: datetime) -> TaskPublic:
        return cls.model_validate(task_fields(task, now))


def task_fields(task: Task, now: datetime) -> dict[str, Any]:
    """A task as TaskPublic's fields, in its order, as plain values, each worked out once.

    The routes serialise this straight to JSON (`public_json`): the values come from a valid
    domain object, so building and validating a model per task first would only repeat work.
    """
    due, due_at, recurrence = task.due, task.due_at, task.recurrence
    return {
        "id": task.id,
        "title": task.title,
        "description": task.description,
        "status": task.status,
        "priority": task.priority,
        "tags": sorted(task.tags),
        "due_date": due.date if due else None,
        "due_time": due.time if due else None,
        "due_at": due_at,
        "timezone": task.timezone,
        "overdue": overdue(task.status, due_at, now),
        "reminders": [
            {"at": r.at, "minutes_before": r.minutes_before, "remind_at": r.moment(due_at)}
            for r in task.reminders
        ],
        "recurrence": (
            {"rule": recurrence.rule, "anchor": recurrence.anchor} if recurrence else None
        ),
        "series_id": task.series_id,
        "occurrence": task.occurrence,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "completed_at": task.completed_at,
        "version": task.version,
    }


def public_json(
    content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response of plain values (dates, enums and all), as a model would render them."""
    return Response(to_json(content), status_code, headers, media_type="application/json")


class TasksPublic(BaseModel):
    data: list[TaskPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class TagPublic(BaseModel):
    name: str
    count: int


class TagsPublic(BaseModel):
    data: list[TagPublic]


class TagRename(_In):
    name: str = Field(max_length=100, description="The tag's new name.")


class TagRenamed(BaseModel):
    name: str
    tasks: int = Field(description="How many tasks were changed.")


class SignUp(_In):
    email: str = Field(max_length=320, examples=["ada@example.com"])
    password: str = Field(max_length=1_000)
    timezone: str = Field(default="UTC", max_length=64, examples=["Europe/Paris"])


class LogIn(_In):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1_000)


class RefreshIn(_In):
    refresh_token: str = Field(max_length=200)


class TokenPublic(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the scheme's name, not a secret
    expires_in: int = Field(description="Seconds until the access token expires.")


class UserPublic(BaseModel):
    id: str
    email: str
    timezone: str
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls(id=user.id, email=user.email, timezone=user.timezone, created_at=user.created_at)


class FieldError(BaseModel):
    field: str
    code: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable `code` and per-field `errors`."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[FieldError] | None = None
