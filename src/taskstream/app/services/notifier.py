"""The `notifier` service: a due reminder reaches its user once, in the app and beyond.

For each `reminder.due` it

1. keeps the notification in the user's inbox (`app/inbox.py`; idempotent on the
   notification's id), so a reminder that fired while no client was open is not lost;
   then publishes a `notification` on `task-updates` (in-app: the sync service pushes it to the
   user's clients). Its event id is derived from the reminder (task id and remind-at), so
   however often this step runs for one reminder, consumers that dedupe on the event id
   show it once;
2. marks the reminder delivered in the state store (`notifier/delivered/{task_id}/
   {remind_at}`, first write wins), only once the in-app publish succeeded: a failure or a
   crash before the mark makes the bus deliver the reminder again, and the whole step
   runs again, so the in-app notification is never lost;
3. hands the user's webhooks and e-mail to deliveries in the background, each retried with
   exponential backoff and recorded in a delivery log (`notifier/log/{user_id}/{id}`).

A reminder already marked is a duplicate: it is counted and nothing else happens, so a
redelivered reminder never starts a delivery twice.

External deliveries are *at least once*, through a crash. Before the mark, each delivery
gets a job in the scheduler (`delivery/{id}/{watch}`, due when its lease would run out),
and the mark keeps the notification. Each attempt claims the delivery's log entry (a
lease, see `app/deliveries.py`) and moves the job to the lease's end; the end of the
delivery cancels it. So the job fires only for a delivery whose deliverer died (or was
stopped) mid-way: it then takes the entry over, rebuilds the delivery from the mark and
carries on from the attempts recorded, until the entry is `delivered` or `failed`. An
entry already finished is never sent again; an attempt cut short may have reached its
receiver, who sees the same `X-Taskstream-Delivery` id twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from taskstream.app.address_policy import AddressPolicy
from taskstream.app.deliveries import Attempt, Channel, Delivery, DeliveryLog, DeliveryStatus
from taskstream.app.events import CloudEvent, EventType, Topic
from taskstream.app.inbox import Inbox, InboxEntry, Notifications
from taskstream.app.ports import (
    Clock,
    DeliveryFailed,
    Drop,
    ETagMismatch,
    EventBus,
    HostResolver,
    IdFactory,
    Job,
    Scheduler,
    StateStore,
    Webhook,
    WebhookSender,
    WebhookStore,
)
from taskstream.app.services import Handles
from taskstream.app.webhooks import WebhookRegistry, signature

log = logging.getLogger(__name__)

SOURCE: Final = "taskstream/notifier"
WATCH_PREFIX: Final = "delivery/"
TARGET_GONE: Final = "target gone"
LEASE: Final = timedelta(minutes=2)
"""How long a deliverer holds a delivery for one attempt (longer than an attempt takes)."""

_NAMESPACE: Final = uuid.UUID("6f0b6a4e-3f7e-5c1d-9a57-0c1d2b7e9f10")


def notification_id(task_id: str, remind_at: str) -> str:
    """The id of the in-app notification of one reminder: the same on every delivery."""
    return str(uuid.uuid5(_NAMESPACE, f"reminder/{task_id}/{remind_at}"))


def delivery_id(event_id: str, target: str) -> str:
    """The id of one external delivery of a notification (also sent to the receiver)."""
    return str(uuid.uuid5(_NAMESPACE, f"delivery/{event_id}/{target}"))


def watch_name(delivery: Delivery) -> str:
    """The scheduler job that watches a delivery under its current holder."""
    return f"{WATCH_PREFIX}{delivery.id}/{delivery.watch}"


class StillDelivering(Exception):
    """A delivery's watch fell due while its holder's lease still runs: try again later."""


# --- ports ----------------------------------------------------------------------------------


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


# --- the service ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Watched:
    """The payload of a delivery's watch: whose delivery, the key of its reminder's mark,
    and the generation of the job."""

    user_id: str
    delivery_id: str
    reminder: str
    watch: int

    @classmethod
    def of(cls, payload: dict[str, Any]) -> _Watched | None:
        user_id, one = payload.get("user_id"), payload.get("delivery_id")
        key, watch = payload.get("reminder"), payload.get("watch")
        if not (isinstance(user_id, str) and isinstance(one, str) and isinstance(key, str)):
            return None
        return cls(user_id, one, key, watch) if isinstance(watch, int) else None


@dataclass(frozen=True, slots=True)
class _Outbound:
    """A delivery to make: `attempt` makes one try and says what came back; `reminder` is
    the key of the reminder's mark, which keeps what a resumed delivery is rebuilt from."""

    delivery: Delivery
    reminder: str
    attempt: Callable[[], Awaitable[str]] = field(repr=False)

    def watch(self, delivery: Delivery) -> dict[str, Any]:
        """The payload of the job that watches `delivery`."""
        return {
            "user_id": delivery.user_id,
            "delivery_id": delivery.id,
            "reminder": self.reminder,
            "watch": delivery.watch,
        }


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
        inbox: Inbox,
        sender: WebhookSender,
        mailer: Mailer | None,
        clock: Clock,
        new_id: IdFactory,
        policy: AddressPolicy,
        resolver: HostResolver,
        scheduler: Scheduler,
        max_attempts: int = 5,
        backoff: Backoff = Backoff(),
        concurrency: int = 8,
        lease: timedelta = LEASE,
    ) -> None:
        self._bus = bus
        self._state = state
        self._directory = directory
        self._sender = sender
        self._mailer = mailer
        self._clock = clock
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._scheduler = scheduler
        self._lease = lease
        self._slots = asyncio.Semaphore(concurrency)
        self._running: set[asyncio.Task[None]] = set()
        self._closed = False
        self.log = DeliveryLog(state)
        self.webhooks = WebhookRegistry(webhooks, self.log, clock, new_id, policy, resolver)
        self._inbox = inbox
        self.notifications = Notifications(inbox, clock)
        self.notified = 0
        self.duplicates = 0
        self.resumed = 0
        scheduler.on_fire(WATCH_PREFIX, self.resume)

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
        await self._inbox.add(
            InboxEntry(
                id=notification.id,
                user_id=reminder.user_id,
                kind="reminder",
                task_id=reminder.task_id,
                title=reminder.title,
                data=notification.data,
                created_at=notification.time,
            )
        )
        await self._bus.publish(notification)
        contact = await self._directory.contact(reminder.user_id)
        outbound = [] if contact is None else self._outbound(reminder, notification, contact)
        # Watched before the mark: once it is written, a crash cannot lose a delivery.
        lease_end = self._clock.now() + self._lease
        for one in outbound:
            first = replace(one.delivery, watch=1)  # its first holder's generation
            await self._scheduler.schedule(watch_name(first), lease_end, one.watch(first))
        mark = {
            "event_id": notification.id,
            "fired_at": reminder.fired_at,
            "deliveries": [o.delivery.id for o in outbound],
            "notification": notification.to_json().decode(),
        }
        try:
            await self._state.set(reminder.delivery_key, mark, first_write=True)
        except ETagMismatch:  # another delivery of the reminder got there first
            self.duplicates += 1
            return
        self.notified += 1
        for one in outbound:
            self._start(one, uuid.uuid4().hex)

    async def resume(self, job: Job) -> None:
        """A delivery's watch fell due: take over a delivery its holder left unfinished."""
        watched = _Watched.of(job.payload)
        if watched is None:
            log.error("job %s does not name a delivery; not resuming it", job.name)
            return
        user_id, one, key = watched.user_id, watched.delivery_id, watched.reminder
        now = self._clock.now()
        entry = await self.log.get(user_id, one)
        if entry is not None and (entry.finished or entry.watch > watched.watch):
            return  # done with, or watched by a newer job
        if entry is not None and entry.leased(now):
            raise StillDelivering(f"delivery {one} is held until {entry.leased_until}")
        mark = await self._state.get(key)
        if mark is None:
            return  # never marked: the reminder is delivered again, and makes it then
        outbound = await self._rebuilt(mark.value, user_id, one)
        if outbound is None:  # the webhook was deleted, e-mail is no longer set up...
            log.info("delivery %s has no target any more; not resuming it", one)
            if entry is not None:
                gone = DeliveryStatus.FAILED
                await self.log.record(replace(entry, status=gone, last_error=TARGET_GONE))
            return
        holder = uuid.uuid4().hex
        claimed = await self._claim(
            outbound, entry or outbound.delivery, holder, after=watched.watch
        )
        if claimed is None:
            return
        self.resumed += 1
        log.info("resuming delivery %s after %d attempt(s)", one, len(claimed.attempts))
        self._start(replace(outbound, delivery=claimed), holder)

    async def _rebuilt(self, mark: dict[str, Any], user_id: str, one: str) -> _Outbound | None:
        """The delivery `one` of the marked reminder, made again from its notification."""
        try:
            notification = CloudEvent.from_json(str(mark["notification"]).encode())
            reminder = ReminderDue.of(notification)
        except (KeyError, ValueError, Drop) as exc:
            log.error("the mark of delivery %s keeps no notification: %s", one, exc)
            return None
        contact = await self._directory.contact(user_id)
        if contact is None or reminder.user_id != user_id:
            return None
        found = self._outbound(reminder, notification, contact)
        return next((o for o in found if o.delivery.id == one), None)

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
        key = reminder.delivery_key
        outbound = [
            _Outbound(one, key, self._webhook_attempt(webhook, one.id, body))
            for webhook in contact.webhooks
            for one in [delivery(Channel.WEBHOOK, webhook.id)]
        ]
        if self._mailer is not None and contact.email:
            one = delivery(Channel.EMAIL, Channel.EMAIL.value)
            mail = reminder_mail(reminder, contact, message_id=f"<{one.id}@taskstream>")
            outbound.append(_Outbound(one, key, self._mail_attempt(self._mailer, mail)))
        return outbound

    def _webhook_attempt(
        self, webhook: Webhook, delivery: str, body: bytes
    ) -> Callable[[], Awaitable[str]]:
        async def attempt() -> str:
            timestamp = str(int(self._clock.now().timestamp()))
            headers = {
                "Content-Type": "application/cloudevents+json",
                "X-Taskstream-Signature": signature(webhook.secret, timestamp, body),
                "X-Taskstream-Timestamp": timestamp,
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

    def _start(self, outbound: _Outbound, holder: str) -> None:
        if self._closed:
            log.warning("notifier closed: delivery %s not started", outbound.delivery.id)
            return
        task = asyncio.create_task(
            self._deliver(outbound, holder), name=f"notify-{outbound.delivery.id}"
        )
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _claim(
        self, outbound: _Outbound, delivery: Delivery, holder: str, *, after: int = 0
    ) -> Delivery | None:
        """Hold the delivery for one lease, and move its watch to the lease's end."""
        now = self._clock.now()
        claimed = await self.log.claim(delivery, holder, now, now + self._lease, after=after)
        if claimed is not None:
            await self._watch(outbound, claimed)
        return claimed

    async def _watch(self, outbound: _Outbound, delivery: Delivery) -> None:
        assert delivery.leased_until is not None
        name = watch_name(delivery)
        await self._scheduler.schedule(name, delivery.leased_until, outbound.watch(delivery))

    async def _deliver(self, outbound: _Outbound, holder: str) -> None:
        try:
            await self._attempts(outbound, holder)
        except asyncio.CancelledError:
            raise
        except Exception:  # the state store or the scheduler failed: the watch resumes it
            log.exception(
                "delivery %s stopped; it resumes when its lease ends", outbound.delivery.id
            )

    async def _attempts(self, outbound: _Outbound, holder: str) -> None:
        delivery = outbound.delivery
        delays = self._backoff.delays()
        while True:
            failure: DeliveryFailed | None = None
            async with self._slots:
                claimed = await self._claim(outbound, delivery, holder)
                if claimed is None:
                    log.info("delivery %s is finished or held by another", delivery.id)
                    return
                delivery = claimed
                try:
                    outcome = await outbound.attempt()
                except DeliveryFailed as exc:
                    failure = exc
                except Exception:  # a defect: logged, never retried
                    log.exception("delivery %s failed unexpectedly", delivery.id)
                    failure = DeliveryFailed("failed", retryable=False)
            at = self._clock.now()
            if failure is None:
                delivery = delivery.after(Attempt(at, outcome), DeliveryStatus.DELIVERED, None)
                await self._finish(delivery)
                return
            last = len(delivery.attempts) + 1 >= self._max_attempts or not failure.retryable
            status = DeliveryStatus.FAILED if last else DeliveryStatus.RETRYING
            delivery = delivery.after(Attempt(at, failure.reason), status, failure.reason)
            if last:
                log.warning(
                    "%s delivery %s to %s failed after %d attempt(s): %s",
                    delivery.channel,
                    delivery.id,
                    delivery.target,
                    len(delivery.attempts),
                    failure.reason,
                )
                await self._finish(delivery)
                return
            delay = next(delays)
            # Held through the wait, so the watch does not take it over meanwhile.
            delivery = replace(delivery, leased_until=at + timedelta(seconds=delay) + self._lease)
            await self._record(delivery)
            await self._watch(outbound, delivery)
            await asyncio.sleep(delay)

    async def _finish(self, delivery: Delivery) -> None:
        await self._record(delivery)
        await self._scheduler.cancel(watch_name(delivery))

    async def _record(self, delivery: Delivery) -> None:
        try:
            await self.log.record(delivery)
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
