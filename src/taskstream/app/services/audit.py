"""The `audit` service: an append-only log of what happened to each user's tasks.

It records every fact on `task-events` and every `reminder.due`, one entry per event id,
so a redelivered event adds nothing. Nothing changes or removes an entry once written;
the only way out is the history query, newest first, in keyset pages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Protocol

from taskstream.app.cursors import decode_keyset, encode_keyset
from taskstream.app.events import CloudEvent, EventType, Topic
from taskstream.app.services import Handles
from taskstream.domain.errors import ValidationFailed


class ActivityType(StrEnum):
    """The event types the log records (and may be filtered on)."""

    TASK_CREATED = EventType.TASK_CREATED.value
    TASK_UPDATED = EventType.TASK_UPDATED.value
    TASK_COMPLETED = EventType.TASK_COMPLETED.value
    TASK_REOPENED = EventType.TASK_REOPENED.value
    TASK_DELETED = EventType.TASK_DELETED.value
    REMINDER_DUE = EventType.REMINDER_DUE.value


TASK_FACTS: Final = frozenset(
    {
        EventType.TASK_CREATED,
        EventType.TASK_UPDATED,
        EventType.TASK_COMPLETED,
        EventType.TASK_REOPENED,
        EventType.TASK_DELETED,
    }
)


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    event_id: str
    type: str
    task_id: str | None
    time: datetime
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ActivityQuery:
    """One user's history, filtered: `since` is inclusive, `until` exclusive."""

    task_id: str | None = None
    types: frozenset[ActivityType] = frozenset()
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    after: tuple[datetime, int] | None = None
    """The (time, seq) of the last entry of the previous page (decoded from a cursor)."""


@dataclass(frozen=True, slots=True)
class ActivityPage:
    entries: list[ActivityEntry]
    next_after: tuple[datetime, int] | None


class ActivityLog(Protocol):
    """Append-only storage of activity entries."""

    async def append(self, event: CloudEvent) -> bool:
        """Record the event once; False if its id is already recorded."""
        ...

    async def append_all(self, events: list[CloudEvent]) -> None:
        """Record each of the events once, in their order, in one write."""
        ...

    async def find(self, user_id: str, query: ActivityQuery) -> ActivityPage:
        """The user's entries matching `query`, newest first."""
        ...


class AuditService:
    name = "audit"

    def __init__(self, log: ActivityLog) -> None:
        self._log = log

    def subscriptions(self) -> list[Handles]:
        return [
            Handles(
                f"{self.name}.{Topic.TASK_EVENTS}",
                Topic.TASK_EVENTS,
                TASK_FACTS,
                self.record,
                self.record_all,
            ),
            Handles(
                f"{self.name}.{Topic.REMINDERS}",
                Topic.REMINDERS,
                frozenset({EventType.REMINDER_DUE}),
                self.record,
                self.record_all,
            ),
        ]

    async def record(self, event: CloudEvent) -> None:
        await self._log.append(event)

    async def record_all(self, events: list[CloudEvent]) -> None:
        await self._log.append_all(events)

    async def history(self, user_id: str, query: ActivityQuery) -> ActivityPage:
        """The user's entries matching `query`, newest first; an empty range is refused."""
        since, until = query.since, query.until
        if since is not None and until is not None and until <= since:
            raise ValidationFailed.of("until", "range_empty", "until must be later than since.")
        query = replace(
            query,
            since=None if since is None else since.astimezone(UTC),
            until=None if until is None else until.astimezone(UTC),
        )
        return await self._log.find(user_id, query)


_CURSOR_KIND: Final = "activity"


def encode_cursor(after: tuple[datetime, int]) -> str:
    return encode_keyset(_CURSOR_KIND, after)


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The keyset position in `cursor`; refused when it is not one `encode_cursor` made."""
    return decode_keyset(_CURSOR_KIND, cursor)
