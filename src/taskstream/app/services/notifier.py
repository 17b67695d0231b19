"""The `notifier` service: a due reminder reaches its user once, in the app and beyond.

For each `reminder.due` it

1. publishes a `notification` on `task-updates` (in-app: the sync service pushes it to the
   user's clients). Its event id is derived from the reminder (task id and remind-at), so
   however often this step runs for one reminder, consumers that dedupe on the event id
   show it once;
2. marks the reminder delivered in the state store (`notifier/delivered/{task_id}/
   {remind_at}`, first write wins), only once the in-app publish succeeded: a failure or a
   crash before the mark makes the bus deliver the reminder again, and the whole step
   runs again, so the in-app notification is never lost;
3. hands the user's webhooks and e-mail to deliveries in the background, each retried with
   exponential backoff and recorded in a delivery log (`notifier/log/{user_id}/{id}`).

A reminder already marked is a duplicate: it is counted and nothing else happens. So the
external channels are *at most once*: they start only after the mark, and a redelivered
reminder never calls a webhook twice; a crash between the mark and the end of a delivery
loses what was left of it, and its log entry stays `pending` or `retrying`, where the user
can see it. (Durable retries would take a job per delivery in the scheduler.)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from taskstream.app.events import CloudEvent, EventType, Topic
from taskstream.app.ports import Clock, Drop, ETagMismatch, EventBus, IdFactory, StateStore
from taskstream.app.services import Handles
from taskstream.domain.errors import NotFound, ValidationFailed

log = logging.getLogger(__name__)

SOURCE: Final = "taskstream/notifier"
WEBHOOKS_PER_USER: Final = 5
URL_MAX: Final = 2000
LOG_KEPT: Final = 100
"""Delivery log entries kept per webhook (and for e-mail) per user; older ones go."""

_NAMESPACE: Final = uuid.UUID("6f0b6a4e-3f7e-5c1d-9a57-0c1d2b7e9f10")


def notification_id(task_id: str, remind_at: str) -> str:
    """The id of the in-app notification of one reminder: the same on every delivery."""
    return str(uuid.uuid5(_NAMESPACE, f"reminder/{task_id}/{remind_at}"))


def delivery_id(event_id: str, target: str) -> str:
    """The id of one external delivery of a notification (also sent to the receiver)."""
    return str(uuid.uuid5(_NAMESPACE, f"delivery/{event_id}/{target}"))


def signature(secret: str, body: bytes) -> str:
    """The `X-Taskstream-Signature` of `body`: its HMAC-SHA256 under the webhook's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- ports ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    user_id: str
    url: str
    secret: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Contact:
    """Where a user can be reached beyond the app."""

    user_id: str
    email: str
    timezone: str
    webhooks: tuple[Webhook, ...] = ()


class UserDirectory(Protocol):
    async def contact(self, user_id: str) -> Contact | None:
        """The user's e-mail and webhooks; None when there is no such user."""
        ...


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
    """One attempt at an external delivery failed; `retryable` says if another may succeed."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class WebhookSender(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST `body` to `url`; the response's status. Raises DeliveryFailed (retryable)
        when no response came: refused, reset, timed out."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str
    message_id: str


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None:
        """Hand the message to the mail server; raises DeliveryFailed when it is not taken."""
        ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits between attempts: `first`, then times `factor`, never over `maximum` seconds."""

    first: float = 1.0
    factor: float = 2.0
    maximum: float = 60.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(delay * self.factor, self.maximum)


# --- the reminder and the delivery log ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReminderDue:
    """The data of a `reminder.due` event (times as the ISO strings the event carries)."""

    task_id: str
    user_id: str
    title: str
    remind_at: str
    due_at: str | None
    fired_at: str | None

    @classmethod
    def of(cls, event: CloudEvent) -> ReminderDue:
        data = event.data
        task_id, remind_at = data.get("task_id"), data.get("remind_at")
        if not isinstance(task_id, str) or not task_id or not isinstance(remind_at, str):
            raise Drop(f"reminder.due {event.id} names no task_id and remind_at")
        user_id = data.get("user_id", event.userid)
        if user_id != event.userid:
            raise Drop(f"reminder.due {event.id} is for {user_id}, sent as {event.userid}")
        due_at, fired_at = data.get("due_at"), data.get("fired_at")
        return cls(
            task_id=task_id,
            user_id=event.userid,
            title=str(data.get("title") or ""),
            remind_at=remind_at,
            due_at=due_at if isinstance(due_at, str) else None,
            fired_at=fired_at if isinstance(fired_at, str) else None,
        )

    @property
    def delivery_key(self) -> str:
        return f"notifier/delivered/{self.task_id}/{self.remind_at}"

    def notification_data(self) -> dict[str, Any]:
        return {
            "kind": "reminder",
            "task_id": self.task_id,
            "title": self.title,
            "due_at": self.due_at,
            "remind_at": self.remind_at,
            "fired_at": self.fired_at,
        }


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
        )


class DeliveryLog:
    """Deliveries in the state store: one entry each, and per (user, target) an index of
    the newest `LOG_KEPT` entry ids, which is how they are listed and how old ones go."""

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


# --- webhooks, as users manage them ---------------------------------------------------------


def check_webhook_url(value: str) -> str:
    """The URL if a webhook may be sent to it; ValidationFailed (field `url`) if not."""
    url = value.strip()
    if len(url) > URL_MAX:
        raise ValidationFailed.of(
            "url", "url_too_long", f"A webhook URL has at most {URL_MAX} characters."
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when the port is not a number
    except ValueError as exc:
        raise ValidationFailed.of(
            "url", "url_invalid", f"This URL cannot be parsed: {exc}."
        ) from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationFailed.of(
            "url", "url_invalid", "Give an http or https URL, such as https://example.com/hook."
        )
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed.of(
            "url", "url_invalid", "Leave credentials out of the URL: verify the signature instead."
        )
    if any(c.isspace() or not c.isprintable() for c in url):
        raise ValidationFailed.of(
            "url", "url_invalid", "A URL has no spaces or control characters."
        )
    return url


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookRegistry:
    """A user's webhooks: at most `WEBHOOKS_PER_USER`, each only ever seen by its owner."""

    def __init__(
        self,
        store: WebhookStore,
        log: DeliveryLog,
        clock: Clock,
        new_id: IdFactory,
        new_secret: Callable[[], str] = _new_secret,
    ) -> None:
        self._store = store
        self._log = log
        self._clock = clock
        self._new_id = new_id
        self._new_secret = new_secret

    async def create(self, user_id: str, url: str) -> Webhook:
        webhook = Webhook(
            id=self._new_id(),
            user_id=user_id,
            url=check_webhook_url(url),
            secret=self._new_secret(),
            created_at=self._clock.now(),
        )
        if not await self._store.add(webhook, WEBHOOKS_PER_USER):
            raise ValidationFailed.of(
                "url",
                "webhooks_limit_reached",
                f"You have {WEBHOOKS_PER_USER} webhooks, the most there can be: delete one first.",
            )
        return webhook

    async def of_user(self, user_id: str) -> list[Webhook]:
        return await self._store.of_user(user_id)

    async def delete(self, user_id: str, webhook_id: str) -> None:
        if not await self._store.delete(user_id, webhook_id):
            raise _no_webhook()
        await self._log.forget(user_id, webhook_id)

    async def deliveries(self, user_id: str, webhook_id: str, limit: int) -> list[Delivery]:
        """What was sent to the webhook, newest first."""
        if await self._store.get(user_id, webhook_id) is None:
            raise _no_webhook()
        return await self._log.recent(user_id, webhook_id, limit)


def _no_webhook() -> NotFound:
    return NotFound("There is no such webhook among yours.", code="webhook_not_found")


# --- the service ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Outbound:
    """A delivery to make: `attempt` makes one try and says what came back."""

    delivery: Delivery
    attempt: Callable[[], Awaitable[str]] = field(repr=False)


class NotifierService:
    """Subscribes to `reminders`; `close()` cancels the deliveries still in flight."""

    name = "notifier"

    def __init__(
        self,
        *,
        bus: EventBus,
        state: StateStore,
        directory: UserDirectory,
        webhooks: WebhookStore,
        sender: WebhookSender,
        mailer: Mailer | None,
        clock: Clock,
        new_id: IdFactory,
        max_attempts: int = 5,
        backoff: Backoff = Backoff(),
        concurrency: int = 8,
    ) -> None:
        self._bus = bus
        self._state = state
        self._directory = directory
        self._sender = sender
        self._mailer = mailer
        self._clock = clock
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._slots = asyncio.Semaphore(concurrency)
        self._running: set[asyncio.Task[None]] = set()
        self._closed = False
        self.log = DeliveryLog(state)
        self.webhooks = WebhookRegistry(webhooks, self.log, clock, new_id)
        self.notified = 0
        self.duplicates = 0

    def subscriptions(self) -> list[Handles]:
        return [
            Handles(
                f"{self.name}.{Topic.REMINDERS}",
                Topic.REMINDERS,
                frozenset({EventType.REMINDER_DUE}),
                self.deliver_reminder,
            )
        ]

    @property
    def pending(self) -> int:
        """External deliveries in flight (sending, or waiting to try again)."""
        return len(self._running)

    async def deliver_reminder(self, event: CloudEvent) -> None:
        reminder = ReminderDue.of(event)
        if await self._state.get(reminder.delivery_key) is not None:
            self.duplicates += 1
            return
        notification = CloudEvent(
            id=notification_id(reminder.task_id, reminder.remind_at),
            type=EventType.NOTIFICATION,
            source=SOURCE,
            userid=reminder.user_id,
            data=reminder.notification_data(),
            time=self._clock.now(),
            subject=reminder.task_id,
            traceparent=event.traceparent,
        )
        await self._bus.publish(notification)
        contact = await self._directory.contact(reminder.user_id)
        outbound = [] if contact is None else self._outbound(reminder, notification, contact)
        mark = {
            "event_id": notification.id,
            "fired_at": reminder.fired_at,
            "deliveries": [o.delivery.id for o in outbound],
        }
        try:
            await self._state.set(reminder.delivery_key, mark, first_write=True)
        except ETagMismatch:  # another delivery of the reminder got there first
            self.duplicates += 1
            return
        self.notified += 1
        for one in outbound:
            self._start(one)

    async def close(self) -> None:
        """Cancel the deliveries in flight (their log shows how far they got)."""
        self._closed = True
        running = list(self._running)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await self._sender.aclose()

    # --- external channels

    def _outbound(
        self, reminder: ReminderDue, notification: CloudEvent, contact: Contact
    ) -> list[_Outbound]:
        now = self._clock.now()

        def delivery(channel: Channel, target: str) -> Delivery:
            return Delivery(
                id=delivery_id(notification.id, target),
                user_id=contact.user_id,
                channel=channel,
                target=target,
                event_id=notification.id,
                task_id=reminder.task_id,
                status=DeliveryStatus.PENDING,
                created_at=now,
                updated_at=now,
            )

        body = notification.to_json()
        outbound = [
            _Outbound(one, self._webhook_attempt(webhook, one.id, body))
            for webhook in contact.webhooks
            for one in [delivery(Channel.WEBHOOK, webhook.id)]
        ]
        if self._mailer is not None and contact.email:
            one = delivery(Channel.EMAIL, Channel.EMAIL.value)
            mail = reminder_mail(reminder, contact, message_id=f"<{one.id}@taskstream>")
            outbound.append(_Outbound(one, self._mail_attempt(self._mailer, mail)))
        return outbound

    def _webhook_attempt(
        self, webhook: Webhook, delivery: str, body: bytes
    ) -> Callable[[], Awaitable[str]]:
        signed = signature(webhook.secret, body)

        async def attempt() -> str:
            headers = {
                "Content-Type": "application/cloudevents+json",
                "X-Taskstream-Signature": signed,
                "X-Taskstream-Timestamp": str(int(self._clock.now().timestamp())),
                "X-Taskstream-Delivery": delivery,
            }
            status = await self._sender.post(webhook.url, body, headers)
            if 200 <= status < 300:
                return f"HTTP {status}"
            raise DeliveryFailed(f"HTTP {status}", retryable=status >= 500 or status == 429)

        return attempt

    @staticmethod
    def _mail_attempt(mailer: Mailer, mail: Mail) -> Callable[[], Awaitable[str]]:
        async def attempt() -> str:
            await mailer.send(mail)
            return "sent"

        return attempt

    def _start(self, outbound: _Outbound) -> None:
        if self._closed:
            log.warning("notifier closed: delivery %s not started", outbound.delivery.id)
            return
        task = asyncio.create_task(self._deliver(outbound), name=f"notify-{outbound.delivery.id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _deliver(self, outbound: _Outbound) -> None:
        delivery = outbound.delivery
        await self._record(delivery, new=True)
        delays = self._backoff.delays()
        for number in range(1, self._max_attempts + 1):
            failure: DeliveryFailed | None = None
            async with self._slots:
                try:
                    outcome = await outbound.attempt()
                except DeliveryFailed as exc:
                    failure = exc
                except Exception as exc:  # a defect: logged, never retried
                    log.exception("delivery %s failed unexpectedly", delivery.id)
                    failure = DeliveryFailed(repr(exc), retryable=False)
            at = self._clock.now()
            if failure is None:
                delivery = delivery.after(Attempt(at, outcome), DeliveryStatus.DELIVERED, None)
                await self._record(delivery)
                return
            last = number == self._max_attempts or not failure.retryable
            status = DeliveryStatus.FAILED if last else DeliveryStatus.RETRYING
            delivery = delivery.after(Attempt(at, failure.reason), status, failure.reason)
            await self._record(delivery)
            if last:
                log.warning(
                    "%s delivery %s to %s failed after %d attempt(s): %s",
                    delivery.channel,
                    delivery.id,
                    delivery.target,
                    number,
                    failure.reason,
                )
                return
            await asyncio.sleep(next(delays))

    async def _record(self, delivery: Delivery, *, new: bool = False) -> None:
        try:
            await self.log.record(delivery, new=new)
        except Exception:  # the log must not stop the delivery it describes
            log.exception("could not log delivery %s", delivery.id)


def reminder_mail(reminder: ReminderDue, contact: Contact, *, message_id: str) -> Mail:
    """The plain-text e-mail of a reminder, with times in the user's zone."""
    title = " ".join(reminder.title.split()) or "(untitled task)"
    lines = [f"Reminder: {title}", ""]
    due = _local(reminder.due_at, contact.timezone)
    lines.append(f"Due: {due}." if due else "No due time.")
    lines += ["", "-- ", "taskstream"]
    return Mail(
        to=contact.email,
        subject=f"Reminder: {title}",
        body="\n".join(lines) + "\n",
        message_id=message_id,
    )


def _local(moment: str | None, timezone: str) -> str | None:
    if moment is None:
        return None
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone, timezone = ZoneInfo("UTC"), "UTC"
    try:
        at = datetime.fromisoformat(moment)
    except ValueError:
        return moment
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return f"{at.astimezone(zone):%A %d %B %Y, %H:%M} ({timezone})"
