"""The in-process event bus: delivers each published event to its subscribers, in process.

`publish` returns once every subscriber has handled the event, or given up on it: a
handler that raises is retried with backoff, and after `max_attempts` the event is parked
in the dead-letter store for that subscriber. `publish_all` (a relay round) gives a
subscriber with a batch handler all its events of the round in one call, in order; if that
call fails, each event goes to its one-event handler as above, so none is lost. The outbox
relay marks an event sent only after `publish` returns, so an event is never lost to a
crash: it is published again after restart, and the consumers, idempotent on the event
id, do not act twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from taskstream.app.events import CloudEvent, EventType, Topic
from taskstream.app.ports import BatchHandler, DeadLetterStore, Drop, EventHandler
from taskstream.observability import metrics, trace

log = logging.getLogger(__name__)


async def publish_in_turn(
    publish: Callable[[CloudEvent], Awaitable[None]], events: list[CloudEvent]
) -> set[str]:
    """Publish the lanes of `events` (those of one partition key) side by side, each one
    event at a time; a lane stops at its first failure. The ids of the events not taken."""
    lanes: dict[str, list[CloudEvent]] = {}
    for event in events:
        lanes.setdefault(event.partition_key, []).append(event)

    async def in_turn(lane: list[CloudEvent]) -> set[str]:
        for i, event in enumerate(lane):
            try:
                await publish(event)
            except Exception:
                log.warning("publishing event %s failed", event.id, exc_info=True)
                return {e.id for e in lane[i:]}
        return set()

    not_taken = await asyncio.gather(*(in_turn(lane) for lane in lanes.values()))
    return set().union(*not_taken)


@dataclass(frozen=True, slots=True)
class Subscription:
    name: str
    topic: Topic
    types: frozenset[EventType]
    handler: EventHandler
    batch: BatchHandler | None = None

    def takes(self, event: CloudEvent) -> bool:
        return event.topic is self.topic and event.type in self.types


class InProcessEventBus:
    def __init__(
        self,
        dead_letters: DeadLetterStore,
        *,
        max_attempts: int = 5,
        first_backoff: float = 0.05,
        max_backoff: float = 2.0,
    ) -> None:
        self._dead_letters = dead_letters
        self._max_attempts = max_attempts
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._subscriptions: dict[Topic, list[Subscription]] = {}
        self.delivered = 0
        self.dead = 0

    def subscribe(
        self,
        name: str,
        topic: Topic,
        types: frozenset[EventType],
        handler: EventHandler,
        batch: BatchHandler | None = None,
    ) -> None:
        subscription = Subscription(name, topic, types, handler, batch)
        self._subscriptions.setdefault(topic, []).append(subscription)

    def subscription(self, name: str) -> Subscription:
        for subscriptions in self._subscriptions.values():
            for subscription in subscriptions:
                if subscription.name == name:
                    return subscription
        raise KeyError(name)

    async def publish(self, event: CloudEvent) -> None:
        await self._publish(event, batched=False)

    async def publish_all(self, events: list[CloudEvent]) -> set[str]:
        """The lanes of `events` in turn, each event to the one-event subscribers; beside
        them, each batch subscriber's events at once."""
        topics = {event.topic for event in events}
        batches = [
            (s, [e for e in events if s.takes(e)])
            for topic in topics
            for s in self._subscriptions.get(topic, ())
            if s.batch is not None
        ]

        async def one_by_one(event: CloudEvent) -> None:
            await self._publish(event, batched=True)

        async def at_once() -> None:
            await asyncio.gather(*(self.deliver_all(s, batch) for s, batch in batches if batch))

        not_taken, _ = await asyncio.gather(publish_in_turn(one_by_one, events), at_once())
        return not_taken

    async def _publish(self, event: CloudEvent, *, batched: bool) -> None:
        """Deliver to the event's subscribers (but those that take batches, if `batched`)."""
        targets = [
            s
            for s in self._subscriptions.get(event.topic, ())
            if event.type in s.types and not (batched and s.batch is not None)
        ]
        metrics.published(event.topic.value)
        if targets:
            await asyncio.gather(*(self.deliver(s, event) for s in targets))

    async def deliver_all(self, subscription: Subscription, events: list[CloudEvent]) -> None:
        """Hand `events` to a subscriber's batch handler; if it fails, each to its handler."""
        assert subscription.batch is not None
        try:
            await subscription.batch(events)
        except Exception:
            log.warning(
                "%s failed on a batch of %d events; delivering them one by one",
                subscription.name,
                len(events),
                exc_info=True,
            )
            for event in events:
                await self.deliver(subscription, event)
            return
        for _ in events:
            metrics.consumed(subscription.topic.value, subscription.name, "handled")
        self.delivered += len(events)

    async def deliver(
        self, subscription: Subscription, event: CloudEvent, *, letter: str | None = None
    ) -> bool:
        """Hand `event` to one subscriber; False if it ended among the dead letters.

        Replaying the dead letter `letter` that fails again updates it instead of parking
        a second copy."""
        backoff = self._first_backoff
        topic, name = event.topic.value, subscription.name
        for attempt in range(1, self._max_attempts + 1):
            try:
                with trace.use(event.traceparent):
                    await subscription.handler(event)
            except Drop as exc:
                log.warning("%s dropped event %s: %s", subscription.name, event.id, exc)
                metrics.consumed(topic, name, "dropped")
                return True
            except Exception as exc:
                metrics.consumed(topic, name, "failed")
                if attempt == self._max_attempts:
                    log.exception("%s failed on event %s; parked", subscription.name, event.id)
                    if letter is None:
                        await self._dead_letters.park(subscription.name, event, repr(exc), attempt)
                        metrics.dead_lettered(subscription.name)
                        self.dead += 1
                    else:
                        await self._dead_letters.failed_again(letter, repr(exc), attempt)
                    return False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
            else:
                metrics.consumed(topic, name, "handled")
                self.delivered += 1
                return True
        return False  # pragma: no cover - the loop always returns

    async def replay(self, dead_letter_id: str) -> bool:
        """Deliver a dead letter again to its subscriber; True if it was handled this time."""
        letter = await self._dead_letters.get(dead_letter_id)
        if letter is None or letter.replayed_at is not None:
            return False
        handled = await self.deliver(
            self.subscription(letter.subscription), letter.event, letter=letter.id
        )
        if handled:
            await self._dead_letters.mark_replayed(dead_letter_id)
        return handled
