"""Request and response bodies of the HTTP API, in families (Create, Update, Public)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Final

import orjson
from fastapi import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from taskstream.domain.errors import Problems, ValidationFailed
from taskstream.domain.recurrence import RecurrenceAnchor
from taskstream.domain.tasks import (
    DESCRIPTION_MAX,
    EARLIEST_DAY,
    LATEST_DAY,
    REMINDER_BEFORE_MAX,
    REMINDERS_PER_TASK,
    TAG_MAX,
    TAGS_PER_TASK,
    TITLE_MAX,
    Due,
    NewTask,
    Priority,
    Reminder,
    Status,
    Task,
    TaskChanges,
    overdue,
    zone_names,
)
from taskstream.domain.users import PASSWORD_MAX, PASSWORD_MIN, User

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
# --- text, with the domain's limits stated so a client can check them first ----------------
# The patterns say what the domain checks after trimming: a title is not blank, a tag is
# one word without commas, no text holds NUL. (U+0130 grows when lower-cased, past a
# tag's or an address's limit: it is left out where text is lower-cased.)

NO_NUL_PATTERN: Final = "^[^\\x00]*$"
NOT_BLANK_PATTERN: Final = "^[^\\x00]*[^\\s\\x00][^\\x00]*$"
TAG_PATTERN: Final = "^\\s*[^\\s,\\x00\\u0130]+\\s*$"
_PART: Final = "[^@\\s\\x00\\u0130]+"
_EMAIL_PATTERN: Final = f"^\\s*{_PART}@{_PART}\\.{_PART}\\s*$"


_Title = Annotated[
    str,
    Field(  # the domain checks the limit, with its own code; the schema states it
        max_length=10 * TITLE_MAX,
        examples=["Buy milk"],
        json_schema_extra={"maxLength": TITLE_MAX, "pattern": NOT_BLANK_PATTERN},
    ),
]
_Description = Annotated[
    str, Field(max_length=DESCRIPTION_MAX, json_schema_extra={"pattern": NO_NUL_PATTERN})
]
# Limits the domain checks with codes of its own: pydantic only bounds the work (x10).
_Tag = Annotated[
    str,
    Field(
        max_length=10 * TAG_MAX, json_schema_extra={"maxLength": TAG_MAX, "pattern": TAG_PATTERN}
    ),
]
_Tags = Annotated[
    list[_Tag], Field(max_length=10 * TAGS_PER_TASK, json_schema_extra={"maxItems": TAGS_PER_TASK})
]
_Reminders = Annotated[
    list["ReminderIn"],
    Field(max_length=10 * REMINDERS_PER_TASK, json_schema_extra={"maxItems": REMINDERS_PER_TASK}),
]
TimeZone = Annotated[
    str,
    Field(max_length=64, json_schema_extra={"enum": list(zone_names())}),
]
"""An IANA time zone name: exactly those of the `tzdata` package the project pins."""


def _not_null(schema: dict[str, Any]) -> None:
    """The schema of a PATCH field that may be left out but not set to null (the update
    refuses null with `required`): the null branch and the `default: null` go."""
    schema.pop("default", None)
    options = [one for one in schema.pop("anyOf", []) if one.get("type") != "null"]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options


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
    timezone: TimeZone | None = Field(default=None, description="Defaults to the user's zone.")
    reminders: _Reminders = Field(default_factory=list)
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
    """Only the fields present change; `null` clears a field that may be empty (the due
    date and time, the recurrence) and is refused for the others."""

    title: _Title | None = Field(default=None, json_schema_extra=_not_null)
    description: _Description | None = Field(default=None, json_schema_extra=_not_null)
    priority: Priority | None = Field(default=None, json_schema_extra=_not_null)
    tags: _Tags | None = Field(default=None, json_schema_extra=_not_null)
    due_date: DueDate | None = None
    due_time: WallTime | None = None
    timezone: TimeZone | None = Field(default=None, json_schema_extra=_not_null)
    reminders: _Reminders | None = Field(default=None, json_schema_extra=_not_null)
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
        "status": task.status.value,
        "priority": task.priority.value,
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
            {"rule": recurrence.rule, "anchor": recurrence.anchor.value} if recurrence else None
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
    """A JSON response of plain values (dates, enums and all), as a model would render them
    (UTC moments end in Z). orjson writes a page of tasks in a fifth of pydantic-core's
    time, the same bytes: 1 µs a task, not 5."""
    body = orjson.dumps(content, option=orjson.OPT_UTC_Z)
    return Response(body, status_code, headers, media_type="application/json")


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
    name: _Tag = Field(description="The tag's new name.")


class TagRenamed(BaseModel):
    name: str
    tasks: int = Field(description="How many tasks were changed.")


class SignUp(_In):
    email: str = Field(
        max_length=254,
        examples=["ada@example.com"],
        json_schema_extra={"pattern": _EMAIL_PATTERN},
    )
    password: str = Field(max_length=PASSWORD_MAX, json_schema_extra={"minLength": PASSWORD_MIN})
    timezone: TimeZone = Field(default="UTC", examples=["Europe/Paris"])


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
