"""The composition root: builds the application for one shape from its settings."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta

from taskstream.adapters.bus import InProcessEventBus
from taskstream.adapters.db.activity import SqlActivityLog
from taskstream.adapters.db.database import Database
from taskstream.adapters.db.dead_letters import SqlDeadLetterStore
from taskstream.adapters.db.outbox import OutboxRelay
from taskstream.adapters.db.state import SqlStateStore
from taskstream.adapters.notify import (
    HttpWebhookSender,
    SmtpMailer,
    SqlUserDirectory,
    SqlWebhookStore,
)
from taskstream.adapters.scheduler import InProcessScheduler
from taskstream.adapters.security import Argon2PasswordHasher, JwtTokens
from taskstream.adapters.system import SystemClock, new_id
from taskstream.app.auth import AuthService
from taskstream.app.events import EventFactory
from taskstream.app.ports import Clock
from taskstream.app.ratelimit import SlidingWindowLimiter
from taskstream.app.services import Service
from taskstream.app.services.audit import AuditService
from taskstream.app.services.notifier import NotifierService
from taskstream.app.services.recurring import InProcessTaskCommands, RecurringService
from taskstream.app.services.reminders import ReminderService
from taskstream.app.services.sync import SyncService
from taskstream.app.tasks import TaskService
from taskstream.settings import Settings


@dataclass(slots=True)
class Container:
    """Everything one process runs. `start` and `stop` run the background loops."""

    settings: Settings
    database: Database
    clock: Clock
    tasks: TaskService
    auth: AuthService
    bus: InProcessEventBus
    state: SqlStateStore
    dead_letters: SqlDeadLetterStore
    scheduler: InProcessScheduler
    relay: OutboxRelay
    services: list[Service] = field(default_factory=list)
    _background: list[asyncio.Task[None]] = field(default_factory=list)

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    async def start(self) -> None:
        """Subscribe every service and start the relay and the scheduler."""
        for service in self.services:
            for handles in service.subscriptions():
                self.bus.subscribe(handles.name, handles.topic, handles.types, handles.handler)
        self._background = [
            asyncio.create_task(self.relay.run(), name="outbox-relay"),
            asyncio.create_task(self.scheduler.run(), name="scheduler"),
        ]

    async def stop(self) -> None:
        """Let the loops finish their round, then close the database."""
        self.relay.stop()
        self.scheduler.stop()
        if self._background:
            _, late = await asyncio.wait(self._background, timeout=10)
            for task in late:  # a round stuck on I/O: cut it short
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._background = []
        for service in self.services:
            close = getattr(service, "close", None)
            if close is not None:
                await close()
        await self.database.dispose()


def build(settings: Settings, clock: Clock | None = None) -> Container:
    """Wire the embedded shape: every service in this process, over one database."""
    clock = clock or SystemClock()
    database = Database(settings.sqlalchemy_url())
    window = timedelta(seconds=settings.login_window_seconds)
    tokens = JwtTokens(
        secret=settings.signing_secret(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        lifetime=timedelta(minutes=settings.access_token_minutes),
    )
    dead_letters = SqlDeadLetterStore(database, clock, new_id)
    bus = InProcessEventBus(dead_letters)
    tasks = TaskService(
        writer=database.writer,
        reader=database.reader,
        clock=clock,
        new_id=new_id,
        default_timezone=settings.default_timezone,
        events=EventFactory("taskstream/api", new_id, clock),
    )
    state = SqlStateStore(database, clock)
    scheduler = InProcessScheduler(database, clock)
    container = Container(
        settings=settings,
        database=database,
        clock=clock,
        tasks=tasks,
        auth=AuthService(
            writer=database.writer,
            reader=database.reader,
            clock=clock,
            new_id=new_id,
            hasher=Argon2PasswordHasher(),
            tokens=tokens,
            refresh_lifetime=timedelta(days=settings.refresh_token_days),
            per_account=SlidingWindowLimiter(clock, settings.login_attempts_per_account, window),
            per_address=SlidingWindowLimiter(clock, settings.login_attempts_per_address, window),
        ),
        bus=bus,
        state=state,
        dead_letters=dead_letters,
        scheduler=scheduler,
        relay=OutboxRelay(database, bus, clock),
    )
    # The services, each wired to the ports it needs.
    container.services += [
        AuditService(SqlActivityLog(database)),
        RecurringService(InProcessTaskCommands(tasks)),
        ReminderService(
            scheduler, state, bus, EventFactory("taskstream/reminders", new_id, clock), clock
        ),
        NotifierService(
            bus=bus,
            state=state,
            directory=SqlUserDirectory(database),
            webhooks=SqlWebhookStore(database),
            sender=HttpWebhookSender(settings.webhook_timeout_seconds),
            mailer=SmtpMailer.from_settings(settings, clock),
            clock=clock,
            new_id=new_id,
            max_attempts=settings.webhook_max_attempts,
        ),
        SyncService(settings.sync_buffer_size, settings.sync_queue_size),
    ]
    return container
