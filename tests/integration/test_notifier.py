"""The `notifier` service: a due reminder reaches its user once, in the app, by webhook, by mail.

Webhooks go to a real HTTP server on 127.0.0.1 and mail to a real SMTP server (aiosmtpd);
reminders are `reminder.due` CloudEvents published on the container's bus, as the
`reminders` service publishes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import hashlib
import hmac
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, TypeVar

import httpx
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from taskstream.adapters.db.inbox import SqlInbox
from taskstream.adapters.db.tables import jobs
from taskstream.adapters.notify import (
    HttpWebhookSender,
    SmtpMailer,
    SqlUserDirectory,
    SqlWebhookStore,
    SystemResolver,
)
from taskstream.adapters.system import new_id
from taskstream.app.address_policy import AddressPolicy
from taskstream.app.deliveries import Channel, Delivery, DeliveryStatus
from taskstream.app.events import CloudEvent, EventType, Topic
from taskstream.app.ports import Drop, EventBus, Job
from taskstream.app.services.notifier import (
    LEASE,
    Backoff,
    Mailer,
    NotifierService,
    StillDelivering,
    notification_id,
)
from taskstream.bootstrap import Container, build
from taskstream.entrypoints.api.app import create_app
from taskstream.settings import Settings
from tests.conftest import AdjustableClock, eventually
from tests.integration.conftest import Login

Headers = dict[str, str]
T = TypeVar("T")

REMIND_AT = "2031-03-10T07:30:00Z"
DUE_AT = "2031-03-10T08:00:00Z"
TITLE = "Water the plants"


# --- a webhook receiver and a mail server, both real ----------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """An HTTP server that records each POST and answers with the statuses it is given."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    """Answers to give, in order; 200 once they are used up."""
    hang: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append(Received(headers, body, time.monotonic()))
        if self.hang:
            await self.release.wait()
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    receiver.url = f"http://{host}:{port}/hook"
    yield receiver
    receiver.release.set()
    await runner.cleanup()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Mailbox:
    """An aiosmtpd handler: keeps what it is sent; refuses recipients with scripted replies."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []
        self.rcpt_replies: list[str] = []
        self.refused = 0

    async def handle_RCPT(  # noqa: N802 - the name aiosmtpd calls
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.rcpt_replies:
            self.refused += 1
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - the name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((envelope, message))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox


@pytest.fixture
async def smtp_server() -> AsyncIterator[SmtpServer]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    await asyncio.to_thread(controller.start)
    yield SmtpServer(controller.port, mailbox)
    await asyncio.to_thread(controller.stop)


# --- helpers ----------------------------------------------------------------------------------


class Notifications:
    """Every in-app notification published on the bus, in order."""

    def __init__(self, container: Container) -> None:
        self.events: list[CloudEvent] = []
        container.bus.subscribe(
            "test.notifications",
            Topic.TASK_UPDATES,
            frozenset({EventType.NOTIFICATION}),
            self.record,
        )

    async def record(self, event: CloudEvent) -> None:
        self.events.append(event)


def reminder_due(
    user_id: str, task_id: str, remind_at: str = REMIND_AT, *, due_at: str | None = DUE_AT
) -> CloudEvent:
    """A `reminder.due` as the reminders service publishes it (a new event id each time)."""
    return CloudEvent(
        id=new_id(),
        type=EventType.REMINDER_DUE,
        source="taskstream/reminders",
        userid=user_id,
        data={
            "task_id": task_id,
            "user_id": user_id,
            "title": TITLE,
            "due_at": due_at,
            "remind_at": remind_at,
            "fired_at": datetime.now(UTC).isoformat(),
        },
        time=datetime.now(UTC),
        subject=task_id,
    )


async def _user_id(client: httpx.AsyncClient, headers: Headers) -> str:
    response = await client.get("/users/me", headers=headers)
    assert response.status_code == 200, response.text
    user_id: str = response.json()["id"]
    return user_id


async def _webhook(client: httpx.AsyncClient, headers: Headers, url: str) -> Any:
    response = await client.post("/webhooks", headers=headers, json={"url": url})
    assert response.status_code == 201, response.text
    return response.json()


async def _deliveries(client: httpx.AsyncClient, headers: Headers, webhook_id: str) -> Any:
    response = await client.get(f"/webhooks/{webhook_id}/deliveries", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def _finished(notifier: NotifierService) -> None:
    async def idle() -> bool:
        return notifier.pending == 0

    await eventually(idle)


def _notifier(
    container: Container,
    *,
    bus: EventBus | None = None,
    mailer: Mailer | None = None,
    max_attempts: int = 3,
) -> NotifierService:
    """A notifier over the container's ports with short waits between attempts."""
    policy = AddressPolicy.parse(container.settings.webhook_allow)
    resolver = SystemResolver(timeout=5.0)
    return NotifierService(
        bus=bus or container.bus,
        state=container.state,
        directory=SqlUserDirectory(container.database),
        webhooks=SqlWebhookStore(container.database),
        inbox=SqlInbox(container.database),
        sender=HttpWebhookSender(5.0, policy, resolver),
        mailer=mailer,
        clock=container.clock,
        new_id=new_id,
        policy=policy,
        resolver=resolver,
        scheduler=container.scheduler,
        max_attempts=max_attempts,
        backoff=Backoff(first=0.05, maximum=0.2),
    )


@pytest.fixture
async def notifier(container: Container) -> AsyncIterator[NotifierService]:
    """The container's own notifier (closed here until Container.stop closes it)."""
    service = container.notifier
    yield service
    await service.close()


@pytest.fixture
async def fast(container: Container) -> AsyncIterator[NotifierService]:
    service = _notifier(container)
    yield service
    await service.close()


@pytest.fixture
async def ada(login: Login) -> Headers:
    return await login()


# --- in-app -----------------------------------------------------------------------------------


async def test_a_due_reminder_becomes_one_in_app_notification(
    client: httpx.AsyncClient, container: Container, notifier: NotifierService, ada: Headers
) -> None:
    notifications = Notifications(container)
    user_id = await _user_id(client, ada)
    task_id = new_id()
    reminder = reminder_due(user_id, task_id)

    await container.bus.publish(reminder)

    [notification] = await eventually(lambda: _some(notifications.events))
    assert notification.type is EventType.NOTIFICATION
    assert notification.topic is Topic.TASK_UPDATES
    assert notification.id == notification_id(task_id, REMIND_AT)
    assert notification.userid == user_id
    assert notification.subject == task_id
    assert notification.source == "taskstream/notifier"
    assert notification.traceparent == reminder.traceparent
    assert notification.data == {
        "kind": "reminder",
        "task_id": task_id,
        "title": TITLE,
        "due_at": DUE_AT,
        "remind_at": REMIND_AT,
        "fired_at": reminder.data["fired_at"],
    }
    assert notifier.notified == 1
    assert notifier.duplicates == 0


async def test_the_same_reminder_delivered_again_notifies_nobody_twice(
    client: httpx.AsyncClient,
    container: Container,
    notifier: NotifierService,
    receiver: Receiver,
    ada: Headers,
) -> None:
    notifications = Notifications(container)
    user_id = await _user_id(client, ada)
    await _webhook(client, ada, receiver.url)
    task_id = new_id()
    reminder = reminder_due(user_id, task_id)

    await container.bus.publish(reminder)
    await container.bus.publish(reminder)  # redelivered by the broker
    await container.bus.publish(reminder_due(user_id, task_id))  # fired again: a new event id

    await eventually(lambda: _some(receiver.requests))
    await _finished(notifier)
    assert len(notifications.events) == 1
    assert len(receiver.requests) == 1
    assert notifier.notified == 1
    assert notifier.duplicates == 2

    # Another reminder of the same task is another notification.
    await container.bus.publish(reminder_due(user_id, task_id, "2031-03-10T07:55:00Z"))
    await eventually(lambda: _at_least(receiver.requests, 2))
    assert [e.data["remind_at"] for e in notifications.events] == [
        REMIND_AT,
        "2031-03-10T07:55:00Z",
    ]


async def test_a_task_s_reminder_reaches_the_app_and_the_webhook_when_it_falls_due(
    client: httpx.AsyncClient,
    container: Container,
    notifier: NotifierService,
    receiver: Receiver,
    ada: Headers,
) -> None:
    notifications = Notifications(container)
    await _webhook(client, ada, receiver.url)
    at = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
    body = {"title": TITLE, "reminders": [{"at": at}]}
    response = await client.post("/tasks", headers=ada, json=body)
    assert response.status_code == 201, response.text
    task = response.json()

    [notification] = await eventually(lambda: _some(notifications.events))
    [request] = await eventually(lambda: _some(receiver.requests))
    assert notification.subject == task["id"]
    assert notification.data["title"] == TITLE
    assert notification.data["remind_at"] == task["reminders"][0]["remind_at"]
    assert CloudEvent.from_json(request.body).id == notification.id
    await _finished(notifier)
    assert notifier.notified == 1


class FailingOnceBus:
    """The container's bus, but the first publish fails as a broker that is down would."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self.failures = 0

    async def publish(self, event: CloudEvent) -> None:
        if self.failures == 0:
            self.failures += 1
            raise ConnectionError("broker down")
        await self._bus.publish(event)

    def subscribe(self, *args: Any) -> None:  # pragma: no cover - not used by the notifier
        raise NotImplementedError


async def test_a_failed_in_app_publish_leaves_the_reminder_to_be_delivered_again(
    client: httpx.AsyncClient, container: Container, receiver: Receiver, ada: Headers
) -> None:
    notifications = Notifications(container)
    user_id = await _user_id(client, ada)
    await _webhook(client, ada, receiver.url)
    bus = FailingOnceBus(container.bus)
    notifier = _notifier(container, bus=bus)
    reminder = reminder_due(user_id, new_id())
    try:
        with pytest.raises(ConnectionError):
            await notifier.deliver_reminder(reminder)
        assert notifier.pending == 0  # nothing went out: the reminder is not marked
        assert (
            await container.state.get(f"notifier/delivered/{reminder.subject}/{REMIND_AT}") is None
        )

        await notifier.deliver_reminder(reminder)  # the bus delivers it again

        await eventually(lambda: _some(receiver.requests))
        await _finished(notifier)
    finally:
        await notifier.close()
    assert len(notifications.events) == 1
    assert len(receiver.requests) == 1
    assert await container.state.get(f"notifier/delivered/{reminder.subject}/{REMIND_AT}")


async def test_a_reminder_without_task_or_moment_is_dropped(
    container: Container, fast: NotifierService
) -> None:
    for data in ({"remind_at": REMIND_AT}, {"task_id": new_id()}, {"task_id": 1, "remind_at": 2}):
        event = CloudEvent(
            id=new_id(),
            type=EventType.REMINDER_DUE,
            source="test",
            userid=new_id(),
            data=data,
            time=datetime.now(UTC),
        )
        with pytest.raises(Drop):
            await fast.deliver_reminder(event)
    foreign = reminder_due(new_id(), new_id())
    foreign.data["user_id"] = new_id()
    with pytest.raises(Drop):
        await fast.deliver_reminder(foreign)
    assert fast.notified == 0


# --- webhooks ---------------------------------------------------------------------------------


async def test_a_webhook_receives_the_notification_signed_with_its_secret(
    client: httpx.AsyncClient,
    container: Container,
    notifier: NotifierService,
    receiver: Receiver,
    login: Login,
) -> None:
    ada = await login()
    bob = await login("bob@example.com")
    hook = await _webhook(client, ada, receiver.url)
    await _webhook(client, bob, receiver.url.replace("/hook", "/bob"))  # never called
    user_id = await _user_id(client, ada)
    task_id = new_id()
    before = int(time.time())

    await container.bus.publish(reminder_due(user_id, task_id))

    [request] = await eventually(lambda: _some(receiver.requests))
    signed = request.headers["x-taskstream-timestamp"].encode() + b"." + request.body
    expected = hmac.new(hook["secret"].encode(), signed, hashlib.sha256).hexdigest()
    assert request.headers["x-taskstream-signature"] == f"sha256={expected}"
    assert request.headers["content-type"] == "application/cloudevents+json"
    assert before <= int(request.headers["x-taskstream-timestamp"]) <= int(time.time()) + 1
    event = CloudEvent.from_json(request.body)
    assert event.type is EventType.NOTIFICATION
    assert event.id == notification_id(task_id, REMIND_AT)
    assert event.userid == user_id
    assert event.data["kind"] == "reminder"
    assert event.data["title"] == TITLE
    assert json.loads(request.body)["specversion"] == "1.0"
    await _finished(notifier)
    [delivery] = await _deliveries(client, ada, hook["id"])
    assert delivery["id"] == request.headers["x-taskstream-delivery"]
    assert delivery["event_id"] == event.id
    assert delivery["task_id"] == task_id
    assert delivery["status"] == "delivered"
    assert [a["outcome"] for a in delivery["attempts"]] == ["HTTP 200"]
    assert delivery["last_error"] is None
    # A signature made with another secret does not verify.
    forged = hmac.new(b"another secret", signed, hashlib.sha256).hexdigest()
    assert request.headers["x-taskstream-signature"] != f"sha256={forged}"


async def test_a_failing_webhook_is_retried_with_growing_waits_until_it_answers(
    client: httpx.AsyncClient,
    container: Container,
    fast: NotifierService,
    receiver: Receiver,
    ada: Headers,
) -> None:
    hook = await _webhook(client, ada, receiver.url)
    receiver.statuses = [500, 503]

    await fast.deliver_reminder(reminder_due(await _user_id(client, ada), new_id()))

    await eventually(lambda: _at_least(receiver.requests, 3))
    await _finished(fast)
    assert len(receiver.requests) == 3
    assert len({r.headers["x-taskstream-delivery"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1
    first, second, third = (r.at for r in receiver.requests)
    assert second - first >= 0.05
    assert third - second >= 0.1  # the wait doubled
    [delivery] = await _deliveries(client, ada, hook["id"])
    assert delivery["status"] == "delivered"
    assert [a["outcome"] for a in delivery["attempts"]] == ["HTTP 500", "HTTP 503", "HTTP 200"]
    assert delivery["last_error"] is None


async def test_a_throttled_webhook_is_retried_and_given_up_after_the_last_attempt(
    client: httpx.AsyncClient,
    container: Container,
    fast: NotifierService,
    receiver: Receiver,
    ada: Headers,
) -> None:
    hook = await _webhook(client, ada, receiver.url)
    receiver.statuses = [429, 500, 502, 200]

    await fast.deliver_reminder(reminder_due(await _user_id(client, ada), new_id()))

    await eventually(lambda: _at_least(receiver.requests, 3))
    await _finished(fast)
    assert len(receiver.requests) == 3  # max_attempts
    [delivery] = await _deliveries(client, ada, hook["id"])
    assert delivery["status"] == "failed"
    assert [a["outcome"] for a in delivery["attempts"]] == ["HTTP 429", "HTTP 500", "HTTP 502"]
    assert delivery["last_error"] == "HTTP 502"


@pytest.mark.parametrize("status", [400, 404, 410])
async def test_a_client_error_is_not_retried(
    client: httpx.AsyncClient,
    container: Container,
    fast: NotifierService,
    receiver: Receiver,
    ada: Headers,
    status: int,
) -> None:
    hook = await _webhook(client, ada, receiver.url)
    receiver.statuses = [status]

    await fast.deliver_reminder(reminder_due(await _user_id(client, ada), new_id()))

    await eventually(lambda: _some(receiver.requests))
    await _finished(fast)
    assert len(receiver.requests) == 1
    [delivery] = await _deliveries(client, ada, hook["id"])
    assert delivery["status"] == "failed"
    assert len(delivery["attempts"]) == 1
    assert delivery["last_error"] == f"HTTP {status}"


async def test_an_unreachable_webhook_is_retried_up_to_the_limit(
    client: httpx.AsyncClient, container: Container, fast: NotifierService, ada: Headers
) -> None:
    hook = await _webhook(client, ada, f"http://127.0.0.1:{_free_port()}/hook")

    await fast.deliver_reminder(reminder_due(await _user_id(client, ada), new_id()))

    await _finished(fast)
    [delivery] = await _deliveries(client, ada, hook["id"])
    assert delivery["status"] == "failed"
    assert len(delivery["attempts"]) == 3
    assert delivery["last_error"] == "no response"  # no detail about the network behind it


async def test_webhook_deliveries_do_not_hold_up_the_bus_and_close_cancels_them(
    client: httpx.AsyncClient,
    container: Container,
    fast: NotifierService,
    receiver: Receiver,
    ada: Headers,
) -> None:
    notifications = Notifications(container)
    hook = await _webhook(client, ada, receiver.url)
    receiver.hang = True  # the receiver never answers (within the test)
    user_id = await _user_id(client, ada)

    async with asyncio.timeout(5):
        for n in range(3):
            await fast.deliver_reminder(reminder_due(user_id, new_id(), f"2031-03-10T07:3{n}:00Z"))

    assert len(notifications.events) == 3
    await eventually(lambda: _at_least(receiver.requests, 3))
    assert fast.pending == 3
    async with asyncio.timeout(5):
        await fast.close()
    assert fast.pending == 0
    deliveries = await _deliveries(client, ada, hook["id"])
    assert [d["status"] for d in deliveries] == ["pending"] * 3  # cut short, and it shows


async def test_deleting_a_webhook_stops_its_deliveries_and_forgets_its_log(
    client: httpx.AsyncClient,
    container: Container,
    fast: NotifierService,
    receiver: Receiver,
    ada: Headers,
) -> None:
    hook = await _webhook(client, ada, receiver.url)
    user_id = await _user_id(client, ada)
    await fast.deliver_reminder(reminder_due(user_id, new_id()))
    await _finished(fast)
    [delivery] = await _deliveries(client, ada, hook["id"])

    response = await client.delete(f"/webhooks/{hook['id']}", headers=ada)
    assert response.status_code == 204
    await fast.deliver_reminder(reminder_due(user_id, new_id()))
    await _finished(fast)

    assert len(receiver.requests) == 1
    assert await fast.log.get(user_id, delivery["id"]) is None


# --- e-mail -----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _running(settings: Settings, clock: AdjustableClock) -> AsyncIterator[Container]:
    container = build(settings, clock=clock)
    await container.start()
    try:
        yield container
    finally:
        service = container.notifier
        await service.close()
        await container.stop()


async def test_a_reminder_is_mailed_once_when_smtp_is_set(
    settings: Settings, clock: AdjustableClock, smtp_server: SmtpServer
) -> None:
    mail_settings = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port}
    )
    async with (
        _running(mail_settings, clock) as container,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(container, migrate=False)),
            base_url="http://test/api/v1",
        ) as client,
    ):
        password = "correct horse battery"
        signup = {"email": "ada@example.com", "password": password, "timezone": "Europe/Paris"}
        response = await client.post("/auth/signup", json=signup)
        assert response.status_code == 201, response.text
        user_id = response.json()["id"]
        notifier = container.notifier
        reminder = reminder_due(user_id, new_id())

        await container.bus.publish(reminder)
        await container.bus.publish(reminder)

        await eventually(lambda: _some(smtp_server.mailbox.messages))
        await _finished(notifier)
        [(envelope, message)] = smtp_server.mailbox.messages
        assert envelope.rcpt_tos == ["ada@example.com"]
        assert envelope.mail_from == mail_settings.smtp_sender
        assert message["To"] == "ada@example.com"
        assert message["Subject"] == f"Reminder: {TITLE}"
        assert message.get_content_type() == "text/plain"
        body = message.get_content()
        assert "Due: Monday 10 March 2031, 09:00 (Europe/Paris)." in body  # the user's zone
        [entry] = await notifier.log.recent(user_id, "email", 10)
        assert entry.status == "delivered"
        assert message["Message-ID"] == f"<{entry.id}@taskstream>"


async def test_a_reminder_without_a_due_time_says_so(
    client: httpx.AsyncClient,
    container: Container,
    smtp_server: SmtpServer,
    ada: Headers,
) -> None:
    mailer = SmtpMailer(
        "127.0.0.1", smtp_server.port, "taskstream@localhost", container.clock, timeout=5
    )
    notifier = _notifier(container, mailer=mailer)
    try:
        await notifier.deliver_reminder(
            reminder_due(await _user_id(client, ada), new_id(), due_at=None)
        )
        await eventually(lambda: _some(smtp_server.mailbox.messages))
    finally:
        await notifier.close()
    [(_, message)] = smtp_server.mailbox.messages
    assert "No due time." in message.get_content()


@pytest.mark.parametrize(
    ("replies", "status", "attempts"),
    [
        (["451 4.3.0 try again later"], "delivered", 2),
        (["550 5.1.1 no such mailbox"], "failed", 1),
    ],
)
async def test_mail_is_retried_on_a_transient_refusal_only(
    client: httpx.AsyncClient,
    container: Container,
    smtp_server: SmtpServer,
    ada: Headers,
    replies: list[str],
    status: str,
    attempts: int,
) -> None:
    smtp_server.mailbox.rcpt_replies = list(replies)
    mailer = SmtpMailer(
        "127.0.0.1", smtp_server.port, "taskstream@localhost", container.clock, timeout=5
    )
    notifier = _notifier(container, mailer=mailer)
    user_id = await _user_id(client, ada)
    try:
        await notifier.deliver_reminder(reminder_due(user_id, new_id()))
        await _finished(notifier)
    finally:
        await notifier.close()
    [entry] = await notifier.log.recent(user_id, "email", 10)
    assert entry.status == status
    assert len(entry.attempts) == attempts
    assert entry.attempts[0].outcome.startswith("SMTP 4" if status == "delivered" else "SMTP 5")
    assert len(smtp_server.mailbox.messages) == (1 if status == "delivered" else 0)


# --- a crash mid-delivery ---------------------------------------------------------------------
#
# A "process" is a container built over the test's database and stopped; the crash cuts its
# delivery short as a killed process would (its task is cancelled mid-send or before it
# began, so nothing after that point is written). A fresh container over the same database
# then starts, past the delivery's lease, and its scheduler resumes what was left.

PAST_THE_LEASE = LEASE + timedelta(minutes=1)


@contextlib.asynccontextmanager
async def _api(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(container, migrate=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as http:
        yield http


async def _sign_up(container: Container, webhook_url: str) -> tuple[str, Any]:
    """A user with one webhook: the user's id and the webhook."""
    async with _api(container) as http:
        body = {"email": "ada@example.com", "password": "correct horse battery"}
        response = await http.post("/auth/signup", json=body)
        assert response.status_code == 201, response.text
        user_id: str = response.json()["id"]
        response = await http.post("/auth/login", json=body)
        assert response.status_code == 200, response.text
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return user_id, await _webhook(http, headers, webhook_url)


async def _watches(container: Container) -> list[str]:
    async with container.database.engine.connect() as conn:
        rows = await conn.execute(select(jobs.c.name).where(jobs.c.name.like("delivery/%")))
        return [row.name for row in rows]


async def test_a_webhook_delivery_cut_short_by_a_crash_is_resumed_by_the_next_process(
    settings: Settings, clock: AdjustableClock, receiver: Receiver
) -> None:
    receiver.hang = True  # the first request is still in flight when the process dies
    async with _running(settings, clock) as first:
        user_id, hook = await _sign_up(first, receiver.url)
        await first.bus.publish(reminder_due(user_id, new_id()))
        await eventually(lambda: _some(receiver.requests))
        await first.notifier.close()  # killed mid-send
        [entry] = await first.notifier.log.recent(user_id, hook["id"], 10)
        assert entry.status == "pending"
        assert entry.attempts == ()
    receiver.hang = False
    receiver.release.set()

    clock.advance(PAST_THE_LEASE)
    async with _running(settings, clock) as second:
        notifier = second.notifier
        await eventually(lambda: _at_least(receiver.requests, 2))
        await _finished(notifier)
        [entry] = await notifier.log.recent(user_id, hook["id"], 10)
        assert entry.status == "delivered"
        assert [a.outcome for a in entry.attempts] == ["HTTP 200"]
        assert notifier.resumed == 1
        assert await _watches(second) == []  # nothing left to watch

        # Done is done: however late the clock, nothing is sent again.
        clock.advance(PAST_THE_LEASE)
        await second.scheduler.fire_due()
        await _finished(notifier)
    first_try, resumed = receiver.requests
    assert resumed.headers["x-taskstream-delivery"] == first_try.headers["x-taskstream-delivery"]
    assert resumed.body == first_try.body  # the same notification, byte for byte
    assert len(receiver.requests) == 2


async def test_deliveries_a_crash_stopped_before_they_began_are_made_by_the_next_process(
    settings: Settings, clock: AdjustableClock, receiver: Receiver, smtp_server: SmtpServer
) -> None:
    """The reminder was marked (so it is never delivered again) but the process died before
    its webhook and e-mail deliveries started: no log entry exists yet."""
    mail = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port})
    async with _running(mail, clock) as first:
        user_id, hook = await _sign_up(first, receiver.url)
        await first.notifier.close()  # dead before any delivery began
        await first.bus.publish(reminder_due(user_id, new_id()))
        assert first.notifier.notified == 1
        assert await first.notifier.log.recent(user_id, hook["id"], 10) == []
        assert len(await _watches(first)) == 2

    clock.advance(PAST_THE_LEASE)
    async with _running(mail, clock) as second:
        notifier = second.notifier
        await eventually(lambda: _some(receiver.requests))
        await eventually(lambda: _some(smtp_server.mailbox.messages))
        await _finished(notifier)
        [webhook] = await notifier.log.recent(user_id, hook["id"], 10)
        [emailed] = await notifier.log.recent(user_id, "email", 10)
        assert (webhook.status, emailed.status) == ("delivered", "delivered")
        assert [a.outcome for a in emailed.attempts] == ["sent"]
        assert notifier.resumed == 2
        assert await _watches(second) == []
    [(envelope, message)] = smtp_server.mailbox.messages
    assert envelope.rcpt_tos == ["ada@example.com"]
    assert message["Message-ID"] == f"<{emailed.id}@taskstream>"
    assert message["Subject"] == f"Reminder: {TITLE}"
    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers["x-taskstream-delivery"] == webhook.id


async def test_a_delivery_waiting_to_try_again_is_resumed_from_its_attempts(
    settings: Settings, clock: AdjustableClock, receiver: Receiver
) -> None:
    receiver.statuses = [503]
    async with _running(settings, clock) as first:
        user_id, hook = await _sign_up(first, receiver.url)
        await first.bus.publish(reminder_due(user_id, new_id()))

        async def retrying() -> bool:
            found = await first.notifier.log.recent(user_id, hook["id"], 10)
            return bool(found) and found[0].status == "retrying"

        await eventually(retrying)
        await first.notifier.close()  # killed while waiting to try again

    clock.advance(PAST_THE_LEASE)
    async with _running(settings, clock) as second:
        await eventually(lambda: _at_least(receiver.requests, 2))
        await _finished(second.notifier)
        [entry] = await second.notifier.log.recent(user_id, hook["id"], 10)
    assert entry.status == "delivered"
    assert [a.outcome for a in entry.attempts] == ["HTTP 503", "HTTP 200"]
    assert len(receiver.requests) == 2


async def test_a_watch_that_falls_due_while_its_delivery_is_held_sends_nothing(
    client: httpx.AsyncClient,
    container: Container,
    fast: NotifierService,
    receiver: Receiver,
    ada: Headers,
) -> None:
    """The lease of a live deliverer stands: the watch is tried again later, and the
    delivery is not made twice."""
    await _webhook(client, ada, receiver.url)
    receiver.hang = True
    user_id = await _user_id(client, ada)
    await fast.deliver_reminder(reminder_due(user_id, new_id()))
    await eventually(lambda: _some(receiver.requests))
    [name] = await _watches(container)
    job = await container.scheduler.get(name)
    assert job is not None

    with pytest.raises(StillDelivering):
        await fast.resume(job)

    receiver.release.set()
    await _finished(fast)
    await fast.resume(job)  # finished now: nothing to do
    assert len(receiver.requests) == 1
    assert fast.resumed == 0
    assert await _watches(container) == []


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"user_id": "u", "delivery_id": "d", "reminder": "notifier/delivered/t/r"},
        {"user_id": "u", "delivery_id": 1, "reminder": "k", "watch": 1},
        {"user_id": "u", "delivery_id": "d", "reminder": "k", "watch": "1"},
    ],
)
async def test_a_watch_that_names_no_delivery_resumes_nothing(
    container: Container, fast: NotifierService, payload: dict[str, Any]
) -> None:
    await fast.resume(Job("delivery/d/1", container.clock.now(), payload))

    assert fast.resumed == 0
    assert fast.pending == 0


async def test_a_delivery_left_unfinished_whose_target_is_gone_ends_failed(
    client: httpx.AsyncClient, container: Container, smtp_server: SmtpServer, ada: Headers
) -> None:
    """The crashed process mailed; the one that resumes has no SMTP server set up."""
    mailer = SmtpMailer(
        "127.0.0.1", smtp_server.port, "taskstream@localhost", container.clock, timeout=5
    )
    crashed = _notifier(container, mailer=mailer)
    await crashed.close()
    user_id = await _user_id(client, ada)
    await crashed.deliver_reminder(reminder_due(user_id, new_id()))
    [name] = await _watches(container)
    job = await container.scheduler.get(name)
    assert job is not None
    now = container.clock.now()
    left = Delivery(
        id=job.payload["delivery_id"],
        user_id=user_id,
        channel=Channel.EMAIL,
        target="email",
        event_id="e",
        task_id="t",
        status=DeliveryStatus.PENDING,
        created_at=now,
        updated_at=now,
    )
    assert await crashed.log.claim(left, "gone", now, now) is not None  # its lease ran out
    resuming = _notifier(container)  # no mailer

    try:
        await resuming.resume(job)
    finally:
        await resuming.close()

    [entry] = await resuming.log.recent(user_id, "email", 10)
    assert entry.status == "failed"
    assert entry.last_error == "target gone"
    assert smtp_server.mailbox.messages == []
    assert resuming.pending == 0


async def _some(items: list[T]) -> list[T]:
    return list(items)


async def _at_least(items: list[T], count: int) -> bool:
    return len(items) >= count
