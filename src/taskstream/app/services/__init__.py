"""The services that react to events. Each is a set of handlers, written once.

A service lists its subscriptions; the embedded runtime registers them on the in-process
bus, the distributed runtime exposes them as Dapr subscription routes. Handlers are
idempotent on their own natural key or on the event id (see `once`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from taskstream.app.events import CloudEvent, EventType, Topic
from taskstream.app.ports import BatchHandler, ETagMismatch, EventHandler, StateStore


@dataclass(frozen=True, slots=True)
class Handles:
    """One subscription: `handler` for `types` on `topic`, known as `name`; `batch`, if
    given, for several such events at once (one write for all of them)."""

    name: str
    topic: Topic
    types: frozenset[EventType]
    handler: EventHandler
    batch: BatchHandler | None = None


class Service(Protocol):
    name: str

    def subscriptions(self) -> list[Handles]: ...


class Seen:
    """Remembers handled event ids per consumer in the state store (first write wins)."""

    def __init__(self, state: StateStore, consumer: str) -> None:
        self._state = state
        self._consumer = consumer
        self.duplicates = 0

    def key(self, event: CloudEvent) -> str:
        return f"{self._consumer}/seen/{event.id}"

    async def already(self, event: CloudEvent) -> bool:
        if await self._state.get(self.key(event)) is None:
            return False
        self.duplicates += 1
        return True

    async def remember(self, event: CloudEvent) -> bool:
        """Record the event as handled; False if another delivery recorded it first."""
        try:
            await self._state.set(self.key(event), {"type": event.type.value}, first_write=True)
        except ETagMismatch:
            self.duplicates += 1
            return False
        return True
