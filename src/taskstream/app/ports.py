"""The ports the use cases talk to. Each has a real adapter in `taskstream.adapters`."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import IPv4Address, IPv6Address
from types import TracebackType
from typing import Any, Protocol, Self

from taskstream.app.events import CloudEvent, EventType, Topic
from taskstream.app.queries import Page, TagCount, TaskQuery
from taskstream.domain.tasks import Task
from taskstream.domain.users import User

IdFactory = Callable[[], str]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware (UTC)."""
        ...


class TaskRepository(Protocol):
    async def add(self, task: Task) -> None: ...

    async def get(self, owner_id: str, task_id: str) -> Task | None:
        """The task if it exists and belongs to `owner_id`; None otherwise."""
        ...

    async def save(self, task: Task, expected_version: int) -> bool:
        """Store `task` if its stored version is still `expected_version`."""
        ...

    async def delete(self, owner_id: str, task_id: str) -> bool: ...

    async def find(self, owner_id: str, query: TaskQuery, now: datetime) -> Page: ...

    async def tag_counts(self, owner_id: str) -> list[TagCount]: ...

    async def rename_tag(self, owner_id: str, old: str, new: str, now: datetime) -> list[Task]:
        """Rename a tag on every task of the owner; the tasks changed."""
        ...

    async def successor(self, owner_id: str, series_id: str, occurrence: int) -> Task | None:
        """A task of the series after `occurrence`, if one exists."""
        ...


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Store a new user; raises EmailTaken when the address is in use."""
        ...

    async def by_email(self, email: str) -> User | None: ...

    async def by_id(self, user_id: str) -> User | None: ...


@dataclass(frozen=True, slots=True)
class RefreshToken:
    token_hash: str
    user_id: str
    family: str
    expires_at: datetime
    revoked_at: datetime | None = None


class RefreshTokenRepository(Protocol):
    async def add(self, token: RefreshToken) -> None: ...

    async def get(self, token_hash: str) -> RefreshToken | None: ...

    async def revoke(self, token_hash: str, now: datetime) -> bool:
        """Revoke one token; False if it was already revoked."""
        ...

    async def revoke_family(self, family: str, now: datetime) -> None: ...


class OutboxRepository(Protocol):
    async def add(self, events: list[CloudEvent]) -> None:
        """Store events to publish, in the transaction of the change they describe."""
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository: all of it commits, or none of it."""

    @property
    def tasks(self) -> TaskRepository: ...

    @property
    def users(self) -> UserRepository: ...

    @property
    def refresh_tokens(self) -> RefreshTokenRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who an access token speaks for, and for how long."""

    user_id: str
    timezone: str
    session: str | None = None
    """The log-in the token belongs to (the family of its refresh tokens); None for a
    personal access token or an access token of an older release."""
    expires_at: datetime | None = None
    """When the token stops being valid; None for one that lasts until it is revoked."""


class TokenIssuer(Protocol):
    """Short-lived access tokens."""

    @property
    def lifetime(self) -> timedelta: ...

    def issue(self, principal: Principal, now: datetime, token_id: str) -> str: ...

    def check(self, token: str) -> Principal:
        """Who the token was issued to; raises Unauthorized when it is not valid."""
        ...


def token_digest(token: str) -> str:
    """Refresh tokens are stored only as their SHA-256, never in the clear."""
    return hashlib.sha256(token.encode()).hexdigest()


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool: ...


# --- messaging ------------------------------------------------------------------------------


class Drop(Exception):
    """Raised by a handler for a message that can never be handled: it is dropped (and logged)."""


EventHandler = Callable[[CloudEvent], Awaitable[None]]
"""Handles one event. Returning means done (SUCCESS); raising means retry later (RETRY);
raising Drop means never (DROP)."""

BatchHandler = Callable[[list[CloudEvent]], Awaitable[None]]
"""Handles several events at once, in their order, as the one-event handler would each
(and as idempotently). Returning means all done; raising means the bus gives each event,
one by one, to the one-event handler instead."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that kept failing for one subscriber, waiting to be looked at."""

    id: str
    subscription: str
    event: CloudEvent
    error: str
    attempts: int
    failed_at: datetime
    replayed_at: datetime | None


class DeadLetterStore(Protocol):
    """Where messages that kept failing wait, to be listed and replayed."""

    async def park(self, subscription: str, event: CloudEvent, error: str, attempts: int) -> str:
        """Keep `event` for `subscription`; the dead letter's id."""
        ...

    async def list(self, *, include_replayed: bool = False, limit: int = 100) -> list[DeadLetter]:
        """Oldest first; those replayed already only with `include_replayed`."""
        ...

    async def get(self, letter_id: str) -> DeadLetter | None: ...

    async def failed_again(self, letter_id: str, error: str, attempts: int) -> None:
        """A replay failed too: add its attempts and keep the newest error."""
        ...

    async def mark_replayed(self, letter_id: str) -> None: ...


class EventBus(Protocol):
    """Publish events; deliver each to the handlers subscribed to its topic and type."""

    async def publish(self, event: CloudEvent) -> None:
        """Hand the event over for delivery; raises when the bus cannot take it now."""
        ...

    async def publish_all(self, events: list[CloudEvent]) -> set[str]:
        """Hand `events` over, those of one partition key in order; the ids of those not
        taken (after one is not taken, no later one of its key is), to publish again."""
        ...

    def subscribe(
        self,
        name: str,
        topic: Topic,
        types: frozenset[EventType],
        handler: EventHandler,
        batch: BatchHandler | None = None,
    ) -> None:
        """Register `handler` (known as `name`, for dead letters) for `types` on `topic`;
        a bus that takes several events at once may hand them to `batch` together."""
        ...


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    due_at: datetime
    payload: dict[str, Any]


JobHandler = Callable[[Job], Awaitable[None]]


class Scheduler(Protocol):
    """Named jobs at moments: never early, at least once, surviving restarts."""

    async def schedule(self, name: str, due_at: datetime, payload: dict[str, Any]) -> None:
        """Create the job, or replace the job of that name."""
        ...

    async def cancel(self, name: str) -> None:
        """Remove the job if it exists."""
        ...

    def on_fire(self, prefix: str, handler: JobHandler) -> None:
        """Call `handler` for jobs whose name starts with `prefix` when they fall due."""
        ...


@dataclass(frozen=True, slots=True)
class StateItem:
    value: dict[str, Any]
    etag: str


class ETagMismatch(Exception):
    """The item changed (or appeared) since the ETag was read."""


class StateStore(Protocol):
    """A service's own key-value state, with optimistic concurrency by ETag."""

    async def get(self, key: str) -> StateItem | None: ...

    async def set(
        self,
        key: str,
        value: dict[str, Any],
        etag: str | None = None,
        *,
        first_write: bool = False,
        ttl: timedelta | None = None,
    ) -> None:
        """Store `value`; with `etag`, only over that version; with `first_write`, only if
        absent; raises ETagMismatch otherwise. With `ttl`, the item is forgotten that long
        after this write (an expired item reads as absent); without, it stays."""
        ...

    async def delete(self, key: str, etag: str | None = None) -> None: ...


# --- webhooks -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    user_id: str
    url: str
    secret: str
    created_at: datetime


class WebhookStore(Protocol):
    async def add(self, webhook: Webhook, limit: int) -> bool:
        """Store `webhook` unless its user has `limit` of them already (False then)."""
        ...

    async def of_user(self, user_id: str) -> list[Webhook]:
        """The user's webhooks, oldest first."""
        ...

    async def get(self, user_id: str, webhook_id: str) -> Webhook | None: ...

    async def delete(self, user_id: str, webhook_id: str) -> bool: ...


class DeliveryFailed(Exception):
    """One attempt at an external delivery failed; `retryable` says if another may succeed.

    `reason` is what the user sees in the delivery log: coarse on purpose ("HTTP 503",
    "no response", "address not allowed"), so the log tells nothing about the network
    behind a target; the details go to the server's log."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class WebhookSender(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST `body` to `url`, only to addresses the address policy permits; the
        response's status. Raises DeliveryFailed when no response came (refused, reset,
        timed out: retryable) or the address is not allowed (not retryable)."""
        ...

    async def aclose(self) -> None: ...


class HostResolver(Protocol):
    async def addresses(self, host: str, port: int) -> list[IPv4Address | IPv6Address]:
        """Every address `host` resolves to (numeric hosts in any spelling included);
        raises OSError when it resolves to none."""
        ...
