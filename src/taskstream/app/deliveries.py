"""The delivery log: what was sent to a user's webhooks and mailbox, attempt by attempt.

Each delivery is one entry in the state store (`notifier/log/{user_id}/{id}`), and per
(user, target) an index keeps the newest `LOG_KEPT` entry ids, which is how they are
listed and how old ones go.

An entry is also the delivery's lease: before each attempt its deliverer *claims* it
(compare-and-set), which names the holder and how long it holds it. Another deliverer
takes an unfinished entry over only once that lease has run out, so a delivery cut short
by a crash is resumed by one deliverer, and one that finished is never sent again. Each
change of holder counts up `watch`, the generation of the scheduler job that watches the
delivery (see the notifier).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from taskstream.app.ports import ETagMismatch, StateStore

LOG_KEPT: Final = 100
"""Delivery log entries kept per webhook (and for e-mail) per user; older ones go."""


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Attempt:
    at: datetime
    outcome: str
    """What came back: "HTTP 200", "HTTP 500", "timed out", an SMTP reply..."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification sent over one channel to one target, with every attempt so far."""

    id: str
    user_id: str
    channel: Channel
    target: str
    """The webhook id, or "email"."""
    event_id: str
    task_id: str
    status: DeliveryStatus
    created_at: datetime
    updated_at: datetime
    attempts: tuple[Attempt, ...] = ()
    last_error: str | None = None
    holder: str | None = None
    """Who delivers it now (a token of one run of the deliverer)."""
    leased_until: datetime | None = None
    """Until when the holder holds it; then another may take it over."""
    watch: int = 0
    """How many holders it has had: the generation of the job that watches it."""

    @property
    def finished(self) -> bool:
        return self.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)

    def leased(self, now: datetime) -> bool:
        """Whether its holder's lease still runs."""
        return self.leased_until is not None and self.leased_until > now

    def held_by_another(self, holder: str, now: datetime) -> bool:
        return self.holder not in (None, holder) and self.leased(now)

    def after(self, attempt: Attempt, status: DeliveryStatus, error: str | None) -> Delivery:
        return replace(
            self,
            status=status,
            updated_at=attempt.at,
            attempts=(*self.attempts, attempt),
            last_error=error,
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "channel": self.channel.value,
            "target": self.target,
            "event_id": self.event_id,
            "task_id": self.task_id,
            "status": self.status.value,
            "attempts": len(self.attempts),
            "last_error": self.last_error,
            "created_at": self.created_at.isoformat(),
            "time": self.updated_at.isoformat(),
            "history": [{"at": a.at.isoformat(), "outcome": a.outcome} for a in self.attempts],
            "holder": self.holder,
            "leased_until": None if self.leased_until is None else self.leased_until.isoformat(),
            "watch": self.watch,
        }

    @classmethod
    def from_state(cls, value: dict[str, Any]) -> Delivery:
        return cls(
            id=value["id"],
            user_id=value["user_id"],
            channel=Channel(value["channel"]),
            target=value["target"],
            event_id=value["event_id"],
            task_id=value["task_id"],
            status=DeliveryStatus(value["status"]),
            created_at=datetime.fromisoformat(value["created_at"]),
            updated_at=datetime.fromisoformat(value["time"]),
            attempts=tuple(
                Attempt(datetime.fromisoformat(a["at"]), a["outcome"]) for a in value["history"]
            ),
            last_error=value["last_error"],
            holder=value.get("holder"),
            leased_until=_moment(value.get("leased_until")),
            watch=int(value.get("watch", 0)),
        )


def _moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class DeliveryLog:
    """Deliveries in the state store: one entry each, and per (user, target) an index of
    the newest `LOG_KEPT` entry ids."""

    def __init__(self, state: StateStore, kept: int = LOG_KEPT) -> None:
        self._state = state
        self._kept = kept

    @staticmethod
    def key(user_id: str, delivery_id: str) -> str:
        return f"notifier/log/{user_id}/{delivery_id}"

    @staticmethod
    def _index_key(user_id: str, target: str) -> str:
        return f"notifier/log-index/{user_id}/{target}"

    async def record(self, delivery: Delivery, *, new: bool = False) -> None:
        await self._state.set(self.key(delivery.user_id, delivery.id), delivery.to_state())
        if new:
            await self._index(delivery)

    async def claim(
        self, delivery: Delivery, holder: str, now: datetime, until: datetime, *, after: int = 0
    ) -> Delivery | None:
        """Hold the delivery for `holder` until `until`: its stored entry (`delivery` itself
        when there is none yet, then indexed) with the lease; None when it is finished or
        another holder's lease still runs. A new holder's `watch` is one past both the
        stored one and `after` (the generation of the job that asks)."""
        key = self.key(delivery.user_id, delivery.id)
        item = await self._state.get(key)
        current = delivery if item is None else Delivery.from_state(item.value)
        if current.finished or current.held_by_another(holder, now):
            return None
        watch = current.watch if current.holder == holder else max(current.watch, after) + 1
        claimed = replace(current, holder=holder, leased_until=until, watch=watch)
        try:
            if item is None:
                await self._state.set(key, claimed.to_state(), first_write=True)
            else:
                await self._state.set(key, claimed.to_state(), item.etag)
        except ETagMismatch:  # another deliverer claimed it meanwhile
            return None
        if item is None:
            await self._index(claimed)
        return claimed

    async def _index(self, delivery: Delivery) -> None:
        key = self._index_key(delivery.user_id, delivery.target)
        while True:  # compare-and-set: deliveries to one target may run side by side
            item = await self._state.get(key)
            ids = [] if item is None else list(item.value["ids"])
            if delivery.id in ids:
                return
            ids.insert(0, delivery.id)
            ids, dropped = ids[: self._kept], ids[self._kept :]
            try:
                if item is None:
                    await self._state.set(key, {"ids": ids}, first_write=True)
                else:
                    await self._state.set(key, {"ids": ids}, item.etag)
            except ETagMismatch:
                continue
            for old in dropped:
                await self._state.delete(self.key(delivery.user_id, old))
            return

    async def get(self, user_id: str, delivery_id: str) -> Delivery | None:
        item = await self._state.get(self.key(user_id, delivery_id))
        return None if item is None else Delivery.from_state(item.value)

    async def recent(self, user_id: str, target: str, limit: int) -> list[Delivery]:
        """The target's deliveries, newest first."""
        item = await self._state.get(self._index_key(user_id, target))
        found = []
        for one in [] if item is None else item.value["ids"][:limit]:
            delivery = await self.get(user_id, one)
            if delivery is not None:
                found.append(delivery)
        return found

    async def forget(self, user_id: str, target: str) -> None:
        """Remove the target's log (its webhook is gone)."""
        key = self._index_key(user_id, target)
        item = await self._state.get(key)
        if item is None:
            return
        for one in item.value["ids"]:
            await self._state.delete(self.key(user_id, one))
        with contextlib.suppress(ETagMismatch):
            await self._state.delete(key, item.etag)
