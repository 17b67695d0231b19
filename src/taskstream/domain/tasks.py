"""The task: its fields, their rules, and what changing it means. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from taskstream.domain import recurrence as rec
from taskstream.domain.errors import Problems, ValidationFailed
from taskstream.domain.text import NUL, nul_problem

TITLE_MAX: Final = 200
DESCRIPTION_MAX: Final = 10_000
TAG_MAX: Final = 40
TAGS_PER_TASK: Final = 20
REMINDERS_PER_TASK: Final = 10
REMINDER_BEFORE_MAX: Final = 60 * 24 * 366  # minutes
EARLIEST_DAY: Final = rec.EARLIEST.date()
"""The earliest due date (and, in UTC, the earliest moment) the system takes."""
LATEST_DAY: Final = rec.LATEST.date()
"""The latest due date (and, in UTC, the latest moment) the system takes."""
_NEEDS_DUE: Final = "A repeating task needs a due date."


class Status(StrEnum):
    OPEN = "open"
    DONE = "done"


class Priority(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return _PRIORITY_RANK[self]

    @classmethod
    def from_rank(cls, rank: int) -> Priority:
        return _PRIORITIES[rank]


_PRIORITIES: Final = list(Priority)
_PRIORITY_RANK: Final = {p: i for i, p in enumerate(_PRIORITIES)}


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA time zone the system takes, in order: those of the `tzdata` package the
    project pins, so the list is the same on every machine (and in the API's schema)."""
    names = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return tuple(sorted(names.split()))


@cache
def _zone_set() -> frozenset[str]:
    return frozenset(zone_names())


def zone(name: str, field_name: str = "timezone") -> ZoneInfo:
    """The IANA time zone called `name`, or a validation error."""
    try:
        if name not in _zone_set():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed.of(
            field_name,
            "timezone_unknown",
            f"'{name}' is not an IANA time zone such as Europe/Paris.",
        ) from exc


@dataclass(frozen=True, slots=True)
class Due:
    """A due date, all day (no time) or at a wall-clock time in the task's time zone.

    An all-day task falls due at the end of its day: its due moment is the next midnight.
    """

    date: date
    time: time | None = None

    @property
    def all_day(self) -> bool:
        return self.time is None

    @property
    def local(self) -> datetime:
        """The naive wall-clock start of the due (midnight for all-day dues)."""
        return datetime.combine(self.date, self.time or time(0))

    def moment(self, tz: ZoneInfo) -> datetime:
        """The UTC instant the task falls due."""
        if self.time is None:
            return rec.wall_clock_to_utc(
                datetime.combine(self.date + timedelta(days=1), time(0)), tz
            )
        return rec.wall_clock_to_utc(self.local, tz)

    @classmethod
    def from_local(cls, local: datetime, *, all_day: bool) -> Due:
        return cls(local.date(), None if all_day else local.time())


@dataclass(frozen=True, slots=True)
class Reminder:
    """Either an absolute moment (`at`, UTC) or some minutes before the due moment."""

    at: datetime | None = None
    minutes_before: int | None = None

    def moment(self, due_moment: datetime | None) -> datetime | None:
        if self.at is not None:
            return self.at
        if due_moment is None or self.minutes_before is None:
            return None
        return due_moment - timedelta(minutes=self.minutes_before)

    def shifted(self, delta: timedelta) -> Reminder:
        return self if self.at is None else replace(self, at=self.at + delta)


# --- validation of single fields -------------------------------------------------------


def clean_title(value: str, problems: Problems) -> str:
    title = value.strip()
    if NUL in title:
        problems.problems.append(nul_problem("title"))
    elif not title:
        problems.add("title", "title_blank", "A title is required.")
    elif len(value) > TITLE_MAX:  # as given, so the API's schema can state the limit
        problems.add("title", "title_too_long", f"A title has at most {TITLE_MAX} characters.")
    return title


def clean_description(value: str, problems: Problems) -> str:
    if NUL in value:
        problems.problems.append(nul_problem("description"))
    elif len(value) > DESCRIPTION_MAX:
        problems.add(
            "description",
            "description_too_long",
            f"A description has at most {DESCRIPTION_MAX} characters.",
        )
    return value


def normal_tag(value: str) -> str:
    """Tags are compared trimmed and in lower case."""
    return value.strip().lower()


def clean_tag(value: str, problems: Problems, field_name: str = "tags") -> str:
    tag = normal_tag(value)
    if NUL in tag:
        problems.problems.append(nul_problem(field_name))
    elif not tag or len(value) > TAG_MAX:  # as given, so the API's schema can state it
        problems.add(field_name, "tag_length", f"A tag has 1 to {TAG_MAX} characters.")
    elif any(ch.isspace() or ch == "," for ch in tag):
        problems.add(field_name, "tag_invalid", f"Tag '{tag}' may not contain spaces or commas.")
    return tag


def clean_tags(values: list[str] | frozenset[str], problems: Problems) -> frozenset[str]:
    tags = frozenset(clean_tag(v, problems) for v in values)
    if len(values) > TAGS_PER_TASK:
        problems.add("tags", "too_many_tags", f"A task has at most {TAGS_PER_TASK} tags.")
    return tags


def in_range(day: date) -> bool:
    """Whether `day` is within the dates the system takes (EARLIEST_DAY to LATEST_DAY)."""
    return EARLIEST_DAY <= day <= LATEST_DAY


def check_due(due: Due | None, problems: Problems) -> Due | None:
    """The due if its date is in range; otherwise None, with the problem noted."""
    if due is not None and not in_range(due.date):
        problems.add(
            "due_date",
            "date_out_of_range",
            f"A due date is from {EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}.",
        )
        return None
    return due


def check_reminders(
    reminders: tuple[Reminder, ...],
    due_moment: datetime | None,
    now: datetime,
    problems: Problems,
) -> None:
    if len(reminders) > REMINDERS_PER_TASK:
        problems.add(
            "reminders", "too_many_reminders", f"A task has at most {REMINDERS_PER_TASK} reminders."
        )
    for i, reminder in enumerate(reminders):
        where = f"reminders.{i}"
        if (reminder.at is None) == (reminder.minutes_before is None):
            problems.add(
                where, "reminder_invalid", "Give a reminder either 'at' or 'minutes_before'."
            )
            continue
        if reminder.minutes_before is not None:
            if not 0 <= reminder.minutes_before <= REMINDER_BEFORE_MAX:
                problems.add(
                    where,
                    "reminder_invalid",
                    f"minutes_before must be from 0 to {REMINDER_BEFORE_MAX}.",
                )
                continue
            if due_moment is None:
                problems.add(
                    where,
                    "reminder_needs_due",
                    "A reminder relative to the due date needs the task to have a due date.",
                )
                continue
        if reminder.at is not None and not in_range(reminder.at.astimezone(UTC).date()):
            problems.add(
                where,
                "date_out_of_range",
                f"A reminder is from {EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}.",
            )
            continue
        moment = reminder.moment(due_moment)
        if moment is not None and moment <= now:
            problems.add(where, "reminder_in_past", "This reminder's moment has already passed.")


def check_recurrence(
    recurrence: rec.Recurrence | None, due: Due | None, problems: Problems
) -> None:
    if recurrence is None:
        return
    if due is None:
        problems.add("recurrence", "recurrence_needs_due", _NEEDS_DUE)
        return
    parts = recurrence.parts
    if due.all_day and (parts["FREQ"] == "HOURLY" or {"BYHOUR", "BYMINUTE"} & parts.keys()):
        problems.add(
            "recurrence.rule",
            "rule_needs_time",
            "An all-day task repeats daily at most; give the due a time to repeat by the hour.",
        )


# --- the entity ------------------------------------------------------------------------

_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class TaskChanges:
    """A partial update: fields left at UNSET are not touched."""

    title: str = _UNSET
    description: str = _UNSET
    priority: Priority = _UNSET
    tags: frozenset[str] = _UNSET
    due_date: date | None = _UNSET
    due_time: time | None = _UNSET
    timezone: str = _UNSET
    reminders: tuple[Reminder, ...] = _UNSET
    recurrence_rule: str | None = _UNSET
    recurrence_anchor: rec.RecurrenceAnchor = _UNSET

    def given(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in self.__dataclass_fields__
            if getattr(self, name) is not _UNSET
        }


@lru_cache(maxsize=4096)
def _due_moment(due: Due, timezone: str) -> datetime:
    """The UTC instant of a due in a zone: a pure function of the two, asked again for
    each task of every page listed, and a fifth of a listing's time worked out afresh."""
    return due.moment(ZoneInfo(timezone))


@dataclass(slots=True)
class Task:
    id: str
    owner_id: str
    title: str
    timezone: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    status: Status = Status.OPEN
    priority: Priority = Priority.NONE
    tags: frozenset[str] = frozenset()
    due: Due | None = None
    reminders: tuple[Reminder, ...] = ()
    recurrence: rec.Recurrence | None = None
    series_id: str | None = None
    occurrence: int = 1
    completed_at: datetime | None = None
    version: int = 1

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def due_at(self) -> datetime | None:
        return None if self.due is None else _due_moment(self.due, self.timezone)

    def is_overdue(self, now: datetime) -> bool:
        return overdue(self.status, self.due_at, now)

    def reminder_moments(self) -> list[datetime]:
        due_at = self.due_at
        return [m for r in self.reminders if (m := r.moment(due_at)) is not None]

    def apply(self, changes: TaskChanges, now: datetime) -> dict[str, Any]:
        """Apply a validated partial update; returns the fields whose value changed."""
        given = changes.given()
        problems = Problems()
        title = clean_title(given["title"], problems) if "title" in given else self.title
        description = (
            clean_description(given["description"], problems)
            if "description" in given
            else self.description
        )
        tags = clean_tags(given["tags"], problems) if "tags" in given else self.tags
        timezone = self.timezone
        if "timezone" in given:
            try:
                timezone = zone(given["timezone"]).key
            except ValidationFailed as exc:
                problems.problems.extend(exc.problems)
        due = self._due_after(given, problems)
        if due is not None and not in_range(due.date):
            due = check_due(due, problems) or self.due
        tz = ZoneInfo(timezone)  # the new zone once valid, else the current one
        due_moment = None if due is None else due.moment(tz)
        reminders = given.get("reminders", self.reminders)
        if "reminders" in given:
            check_reminders(reminders, due_moment, now, problems)
        elif due is None and any(r.minutes_before is not None for r in reminders):
            problems.add(
                "due",
                "reminder_needs_due",
                "Remove the reminders relative to the due date before removing the due date.",
            )
        recurrence = self._recurrence_after(given, due, problems)
        check_recurrence(recurrence, due, problems)
        problems.raise_if_any()

        after = {
            "title": title,
            "description": description,
            "priority": given.get("priority", self.priority),
            "tags": tags,
            "due": due,
            "timezone": timezone,
            "reminders": reminders,
            "recurrence": recurrence,
        }
        changed = {k: v for k, v in after.items() if getattr(self, k) != v}
        for name, value in changed.items():
            setattr(self, name, value)
        if "recurrence" in changed and self.recurrence is not None and self.series_id is None:
            self.series_id = self.id
        if changed:
            self.touch(now)
        return changed

    def _due_after(self, given: dict[str, Any], problems: Problems) -> Due | None:
        if "due_date" not in given and "due_time" not in given:
            return self.due
        day = given.get("due_date", self.due.date if self.due else None)
        clock = given.get("due_time", self.due.time if self.due else None)
        if day is None:
            if given.get("due_time") is not None:
                problems.add("due_time", "due_time_needs_date", "A due time needs a due date.")
            return None
        return Due(day, clock)

    def _recurrence_after(
        self, given: dict[str, Any], due: Due | None, problems: Problems
    ) -> rec.Recurrence | None:
        """The recurrence after an update: a new rule or a moved due re-anchors the series."""
        current = self.recurrence
        if "recurrence_rule" not in given and "recurrence_anchor" not in given:
            if current is None or due is None or due == self.due:
                return current
            return replace(current, start=due.local)
        rule_text = given.get("recurrence_rule", current.rule if current else None)
        if rule_text is None:
            return None
        anchor = given.get(
            "recurrence_anchor", current.anchor if current else rec.RecurrenceAnchor.DUE
        )
        try:
            rule = rec.parse_rule(rule_text)
        except ValidationFailed as exc:
            problems.problems.extend(exc.problems)
            return current
        if due is None:
            problems.add("recurrence", "recurrence_needs_due", _NEEDS_DUE)
            return None
        keep = current is not None and current.rule == rule and due == self.due
        start = current.start if current is not None and keep else due.local
        return rec.Recurrence(rule, anchor, start)

    def complete(self, now: datetime) -> bool:
        """Mark done; False if it already was (completing twice changes nothing)."""
        if self.status is Status.DONE:
            return False
        self.status = Status.DONE
        self.completed_at = now
        self.touch(now)
        return True

    def reopen(self, now: datetime) -> bool:
        if self.status is Status.OPEN:
            return False
        self.status = Status.OPEN
        self.completed_at = None
        self.touch(now)
        return True

    def touch(self, now: datetime) -> None:
        self.updated_at = now

    def next_occurrence(self, new_id: str, now: datetime) -> Task | None:
        """The next task of this task's series once it is done, or None if the rule ended."""
        if self.recurrence is None or self.due is None or self.completed_at is None:
            return None
        occurrence = rec.next_occurrence(
            self.recurrence,
            current_due=self.due.local,
            all_day=self.due.all_day,
            current_number=self.occurrence,
            completed_at=self.completed_at,
            tz=self.tz,
        )
        if occurrence is None:
            return None
        due = Due.from_local(occurrence.due, all_day=self.due.all_day)
        delta = due.moment(self.tz) - self.due.moment(self.tz)
        return Task(
            id=new_id,
            owner_id=self.owner_id,
            title=self.title,
            description=self.description,
            priority=self.priority,
            tags=self.tags,
            timezone=self.timezone,
            due=due,
            reminders=tuple(r.shifted(delta) for r in self.reminders),
            recurrence=self.recurrence,
            series_id=self.series_id or self.id,
            occurrence=occurrence.number,
            created_at=now,
            updated_at=now,
        )


def overdue(status: Status, due_at: datetime | None, now: datetime) -> bool:
    """An open task is overdue once its due moment has come."""
    return status is Status.OPEN and due_at is not None and due_at <= now


@dataclass(frozen=True, slots=True)
class NewTask:
    """What a person gives to create a task."""

    title: str
    description: str = ""
    priority: Priority = Priority.NONE
    tags: list[str] = field(default_factory=list)
    due: Due | None = None
    timezone: str | None = None
    reminders: tuple[Reminder, ...] = ()
    recurrence_rule: str | None = None
    recurrence_anchor: rec.RecurrenceAnchor = rec.RecurrenceAnchor.DUE


def create_task(
    draft: NewTask, *, task_id: str, owner_id: str, default_timezone: str, now: datetime
) -> Task:
    """A new, validated task; raises ValidationFailed listing every problem at once."""
    problems = Problems()
    title = clean_title(draft.title, problems)
    description = clean_description(draft.description, problems)
    tags = clean_tags(draft.tags, problems)
    timezone = default_timezone
    try:
        timezone = zone(default_timezone if draft.timezone is None else draft.timezone).key
    except ValidationFailed as exc:
        problems.problems.extend(exc.problems)
    due = check_due(draft.due, problems)
    due_moment = None if due is None else due.moment(ZoneInfo(timezone))
    check_reminders(draft.reminders, due_moment, now, problems)
    recurrence = None
    if draft.recurrence_rule is not None:
        try:
            rule = rec.parse_rule(draft.recurrence_rule)
        except ValidationFailed as exc:
            problems.problems.extend(exc.problems)
        else:
            if draft.due is None:
                problems.add("recurrence", "recurrence_needs_due", _NEEDS_DUE)
            else:
                recurrence = rec.Recurrence(rule, draft.recurrence_anchor, draft.due.local)
    check_recurrence(recurrence, draft.due, problems)
    problems.raise_if_any()
    return Task(
        id=task_id,
        owner_id=owner_id,
        title=title,
        description=description,
        priority=draft.priority,
        tags=tags,
        due=draft.due,
        timezone=timezone,
        reminders=draft.reminders,
        recurrence=recurrence,
        series_id=task_id if recurrence else None,
        created_at=now,
        updated_at=now,
    )
