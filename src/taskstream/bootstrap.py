"""The composition root: builds the application for one shape from its settings."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final, Protocol, TypeVar

from taskstream.adapters.bus import InProcessEventBus
from taskstream.adapters.dapr import (
    DaprEventBus,
    DaprScheduler,
    DaprStateStore,
    DaprTaskCommands,
    Sidecar,
)
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
from taskstream.app.events import EventFactory, Topic
from taskstream.app.ports import Clock, EventBus, StateStore, TokenIssuer
from taskstream.app.ratelimit import SlidingWindowLimiter
from taskstream.app.services import Service
from taskstream.app.services.audit import AuditService
from taskstream.app.services.notifier import NotifierService
from taskstream.app.services.recurring import InProcessTaskCommands, RecurringService
from taskstream.app.services.reminders import ReminderService
from taskstream.app.services.sync import SyncService
from taskstream.app.tasks import TaskService
from taskstream.settings import Settings

_T = TypeVar("_T")


class Loop(Protocol):
    """A background loop of a process (the outbox relay, the in-process scheduler)."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class DaprRuntime:
    """What the distributed shape talks to: the sidecar and the adapters it serves."""

    sidecar: Sidecar
    bus: DaprEventBus
    jobs: DaprScheduler | None = None


class NotInThisProcess(LookupError):
    """A part of the system that runs in another process of the distributed shape."""


@dataclass
class Container:
    """Everything one process runs. `start` and `stop` run the background loops.

    The embedded shape has every part; a process of the distributed shape has only its
    service's (`roles`), and asking it for another part raises NotInThisProcess."""

    settings: Settings
    clock: Clock
    tokens: TokenIssuer
    bus: EventBus
    roles: frozenset[str]
    services: list[Service] = field(default_factory=list)
    loops: list[Loop] = field(default_factory=list)
    dapr: DaprRuntime | None = None
    _database: Database | None = None
    _tasks: TaskService | None = None
    _auth: AuthService | None = None
    _background: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def database(self) -> Database:
        return _present(self._database, "the database")

    @property
    def has_database(self) -> bool:
        return self._database is not None

    @property
    def tasks(self) -> TaskService:
        return _present(self._tasks, "the api service")

    @property
    def auth(self) -> AuthService:
        return _present(self._auth, "the api service")

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    async def start(self) -> None:
        """Subscribe every service and start the background loops."""
        for service in self.services:
            for handles in service.subscriptions():
                self.bus.subscribe(handles.name, handles.topic, handles.types, handles.handler)
        self._background = [
            asyncio.create_task(loop.run(), name=type(loop).__name__) for loop in self.loops
        ]

    async def stop(self) -> None:
        """Let the loops finish their round, then close the connections."""
        for loop in self.loops:
            loop.stop()
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
        if self.dapr is not None:
            await self.dapr.sidecar.close()
        if self._database is not None:
            await self._database.dispose()


def _present(part: _T | None, what: str) -> _T:
    if part is None:
        raise NotInThisProcess(f"{what} does not run in this process")
    return part


@dataclass
class EmbeddedContainer(Container):
    """The embedded shape: every service in one process, over one database."""

    bus: InProcessEventBus = field(kw_only=True)
    state: SqlStateStore = field(kw_only=True)
    dead_letters: SqlDeadLetterStore = field(kw_only=True)
    scheduler: InProcessScheduler = field(kw_only=True)
    relay: OutboxRelay = field(kw_only=True)


SERVICES: Final = ("api", "recurring", "reminders", "notifier", "audit", "sync")
"""The services of the distributed shape, each its own process (`taskstream serve NAME`)."""

SUBSCRIBED: Final = {
    "recurring": (Topic.TASK_EVENTS,),
    "reminders": (Topic.TASK_EVENTS,),
    "notifier": (Topic.REMINDERS,),
    "audit": (Topic.TASK_EVENTS, Topic.REMINDERS),
    "sync": (Topic.TASK_UPDATES,),
}
"""The topics each consumer takes: `api` keeps the dead letters of every pair."""

SQL_SERVICES: Final = frozenset({"api", "notifier", "audit"})
"""The services that need the database (the others keep their state in Dapr)."""


def _tokens(settings: Settings) -> JwtTokens:
    return JwtTokens(
        secret=settings.signing_secret(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        lifetime=timedelta(minutes=settings.access_token_minutes),
    )


def _task_service(database: Database, clock: Clock, settings: Settings) -> TaskService:
    return TaskService(
        writer=database.writer,
        reader=database.reader,
        clock=clock,
        new_id=new_id,
        default_timezone=settings.default_timezone,
        events=EventFactory("taskstream/api", new_id, clock),
    )


def _auth_service(
    database: Database, clock: Clock, settings: Settings, tokens: TokenIssuer
) -> AuthService:
    window = timedelta(seconds=settings.login_window_seconds)
    return AuthService(
        writer=database.writer,
        reader=database.reader,
        clock=clock,
        new_id=new_id,
        hasher=Argon2PasswordHasher(),
        tokens=tokens,
        refresh_lifetime=timedelta(days=settings.refresh_token_days),
        per_account=SlidingWindowLimiter(clock, settings.login_attempts_per_account, window),
        per_address=SlidingWindowLimiter(clock, settings.login_attempts_per_address, window),
    )


def _notifier(
    settings: Settings, database: Database, bus: EventBus, state: StateStore, clock: Clock
) -> NotifierService:
    return NotifierService(
        bus=bus,
        state=state,
        directory=SqlUserDirectory(database),
        webhooks=SqlWebhookStore(database),
        sender=HttpWebhookSender(settings.webhook_timeout_seconds),
        mailer=SmtpMailer.from_settings(settings, clock),
        clock=clock,
        new_id=new_id,
        max_attempts=settings.webhook_max_attempts,
    )


def build(settings: Settings, clock: Clock | None = None) -> EmbeddedContainer:
    """Wire the embedded shape: every service in this process, over one database."""
    clock = clock or SystemClock()
    database = Database(settings.sqlalchemy_url())
    tokens = _tokens(settings)
    dead_letters = SqlDeadLetterStore(database, clock, new_id)
    bus = InProcessEventBus(dead_letters)
    tasks = _task_service(database, clock, settings)
    state = SqlStateStore(database, clock)
    scheduler = InProcessScheduler(database, clock)
    relay = OutboxRelay(database, bus, clock)
    return EmbeddedContainer(
        settings=settings,
        clock=clock,
        tokens=tokens,
        bus=bus,
        roles=frozenset(SERVICES),
        services=[
            AuditService(SqlActivityLog(database)),
            RecurringService(InProcessTaskCommands(tasks)),
            ReminderService(
                scheduler, state, bus, EventFactory("taskstream/reminders", new_id, clock), clock
            ),
            _notifier(settings, database, bus, state, clock),
            SyncService(settings.sync_buffer_size, settings.sync_queue_size),
        ],
        loops=[relay, scheduler],
        _database=database,
        _tasks=tasks,
        _auth=_auth_service(database, clock, settings, tokens),
        state=state,
        dead_letters=dead_letters,
        scheduler=scheduler,
        relay=relay,
    )


def build_service(settings: Settings, name: str, clock: Clock | None = None) -> Container:
    """Wire one service of the distributed shape, over its Dapr sidecar.

    `settings` must hold the secrets (JWT secret, database URL) read from the secret store:
    see `taskstream serve`."""
    if name not in SERVICES:
        raise ValueError(f"unknown service {name!r}; one of {', '.join(SERVICES)}")
    if settings.dapr_http_port is None:
        raise ValueError("TASKSTREAM_DAPR_HTTP_PORT is not set: where is the sidecar?")
    clock = clock or SystemClock()
    token = settings.dapr_api_token
    sidecar = Sidecar(settings.dapr_http_port, token.get_secret_value() if token else None)
    bus = DaprEventBus(sidecar, settings.pubsub_name, name)
    state = DaprStateStore(sidecar, settings.state_store_name)
    jobs = DaprScheduler(sidecar, clock) if name == "reminders" else None
    container = Container(
        settings=settings,
        clock=clock,
        tokens=_tokens(settings),
        bus=bus,
        roles=frozenset({name}),
        dapr=DaprRuntime(sidecar, bus, jobs),
    )
    if name in SQL_SERVICES:
        if not settings.database_url:
            raise ValueError(f"the {name} service needs TASKSTREAM_DATABASE_URL (PostgreSQL)")
        container._database = Database(settings.database_url)
    if name == "api":
        database = container.database
        container._tasks = _task_service(database, clock, settings)
        container._auth = _auth_service(database, clock, settings, container.tokens)
        container.loops.append(OutboxRelay(database, bus, clock))
        dead_letters = SqlDeadLetterStore(database, clock, new_id)
        for consumer, topics in SUBSCRIBED.items():
            for topic in topics:
                bus.park_dead_letters(consumer, topic, dead_letters)
    elif name == "recurring":
        container.services.append(RecurringService(DaprTaskCommands(sidecar, settings.api_app_id)))
    elif jobs is not None:  # reminders
        events = EventFactory("taskstream/reminders", new_id, clock)
        container.services.append(ReminderService(jobs, state, bus, events, clock))
    elif name == "notifier":
        container.services.append(_notifier(settings, container.database, bus, state, clock))
    elif name == "audit":
        container.services.append(AuditService(SqlActivityLog(container.database)))
    else:
        container.services.append(SyncService(settings.sync_buffer_size, settings.sync_queue_size))
    return container
