"""The notification inbox: what was sent to a user in the app, kept so that a reminder
that fired while no client was open still reaches them.

The notifier adds an entry for each in-app notification, under the notification's own id
(the same on every delivery of one reminder), so adding is idempotent: a redelivered
reminder leaves one entry. Entries are read newest first with a keyset cursor; reading is
scoped to the owner, and another user's entry answers as a missing one does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

from taskstream.app.cursors import decode_keyset, encode_keyset
from taskstream.app.ports import Clock
from taskstream.domain.errors import NotFound

_CURSOR_KIND: Final = "inbox"


@dataclass(frozen=True, slots=True)
class InboxEntry:
    id: str
    user_id: str
    kind: str
    """What it is about: "reminder"."""
    task_id: str | None
    title: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class InboxQuery:
    limit: int = 50
    unread_only: bool = False
    after: tuple[datetime, int] | None = None


@dataclass(frozen=True, slots=True)
class InboxPage:
    entries: list[InboxEntry]
    unread: int
    """The user's unread entries in all (not only on this page)."""
    next_after: tuple[datetime, int] | None


class Inbox(Protocol):
    async def add(self, entry: InboxEntry) -> bool:
        """Keep `entry` unless one with its id exists (False then)."""
        ...

    async def page(self, user_id: str, query: InboxQuery) -> InboxPage:
        """The user's entries, newest first."""
        ...

    async def mark_read(self, user_id: str, entry_id: str, at: datetime) -> InboxEntry | None:
        """Mark one of the user's entries read (once: a read one keeps its moment);
        None when the user has no such entry."""
        ...

    async def mark_all_read(self, user_id: str, at: datetime) -> int:
        """Mark every unread entry of the user read; how many were."""
        ...


class Notifications:
    """A user's inbox, as the HTTP API offers it."""

    def __init__(self, inbox: Inbox, clock: Clock) -> None:
        self._inbox = inbox
        self._clock = clock

    async def page(
        self, user_id: str, *, limit: int, unread_only: bool, cursor: str | None
    ) -> tuple[InboxPage, str | None]:
        after = decode_keyset(_CURSOR_KIND, cursor) if cursor else None
        page = await self._inbox.page(user_id, InboxQuery(limit, unread_only, after))
        next_cursor = encode_keyset(_CURSOR_KIND, page.next_after) if page.next_after else None
        return page, next_cursor

    async def mark_read(self, user_id: str, entry_id: str) -> InboxEntry:
        entry = await self._inbox.mark_read(user_id, entry_id, self._clock.now())
        if entry is None:
            raise NotFound(
                "There is no such notification among yours.", code="notification_not_found"
            )
        return entry

    async def mark_all_read(self, user_id: str) -> int:
        return await self._inbox.mark_all_read(user_id, self._clock.now())
