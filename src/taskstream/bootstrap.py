"""The composition root: builds the application for one shape from its settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field, replace
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
from taskstream.adapters.db.access_tokens import SqlAccessTokenStore
from taskstream.adapters.db.activity import SqlActivityLog
from taskstream.adapters.db.conversations import SqlConversationStore
from taskstream.adapters.db.database import Database
from taskstream.adapters.db.dead_letters import SqlDeadLetterStore
from taskstream.adapters.db.inbox import SqlInbox
from taskstream.adapters.db.outbox import OutboxRelay
from taskstream.adapters.db.state import SqlStateStore
from taskstream.adapters.notify import (
    HttpWebhookSender,
    SmtpMailer,
    SqlUserDirectory,
    SqlWebhookStore,
    SystemResolver,
)
from taskstream.adapters.scheduler import InProcessScheduler
from taskstream.adapters.security import Argon2PasswordHasher, JwtTokens
from taskstream.adapters.system import SystemClock, new_id
from taskstream.adapters.workers import Hub, HubLink, Ownership, hub_address, ownership
from taskstream.app.access_tokens import PersonalTokens
from taskstream.app.address_policy import AddressPolicy
from taskstream.app.auth import AuthService
from taskstream.app.events import EventFactory, EventType, Topic
from taskstream.app.ports import (
    Clock,
    DeadLetterStore,
    EventBus,
    Scheduler,
    StateStore,
    TokenIssuer,
)
from taskstream.app.ratelimit import SlidingWindowLimiter
from taskstream.app.services import Service
from taskstream.app.services.audit import AuditService
from taskstream.app.services.notifier import NotifierService
from taskstream.app.services.recurring import InProcessTaskCommands, RecurringService
from taskstream.app.services.reminders import ReminderService
from taskstream.app.services.sync import SyncService
from taskstream.app.tasks import TaskService
from taskstream.chat.llm import LlmPlanner
from taskstream.chat.offline import OfflinePlanner
from taskstream.chat.plan import Planner
from taskstream.chat.service import ChatService
from taskstream.chat.tools import Tools
from taskstream.settings import Settings

_T = TypeVar("_T")
log = logging.getLogger(__name__)


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


@dataclass(frozen=True, slots=True)
class Parts:
    """The parts of the system that one process runs; None for those of other processes."""

    database: Database | None = None
    tasks: TaskService | None = None
    auth: AuthService | None = None
    dead_letters: DeadLetterStore | None = None
    audit: AuditService | None = None
    recurring: RecurringService | None = None
    reminders: ReminderService | None = None
    notifier: NotifierService | None = None
    sync: SyncService | None = None
    chat: ChatService | None = None
    tools: Tools | None = None
    access_tokens: PersonalTokens | None = None

    @property
    def services(self) -> list[Service]:
        """The consumers among them, to subscribe to their topics."""
        found = (self.audit, self.recurring, self.reminders, self.notifier, self.sync)
        return [service for service in found if service is not None]


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
    parts: Parts = field(default_factory=Parts)
    loops: list[Loop] = field(default_factory=list)
    dapr: DaprRuntime | None = None
    _background: list[asyncio.Task[None]] = field(default_factory=list, init=False)

    @property
    def database(self) -> Database:
        return _present(self.parts.database, "the database")

    @property
    def has_database(self) -> bool:
        return self.parts.database is not None

    @property
    def tasks(self) -> TaskService:
        return _present(self.parts.tasks, "the api service")

    @property
    def auth(self) -> AuthService:
        return _present(self.parts.auth, "the api service")

    @property
    def chat(self) -> ChatService:
        return _present(self.parts.chat, "the api service")

    @property
    def tools(self) -> Tools:
        return _present(self.parts.tools, "the api service")

    @property
    def access_tokens(self) -> PersonalTokens:
        return _present(self.parts.access_tokens, "the api service")

    @property
    def dead_letters(self) -> DeadLetterStore:
        return _present(self.parts.dead_letters, "the dead-letter store")

    @property
    def services(self) -> list[Service]:
        return self.parts.services

    @property
    def audit(self) -> AuditService:
        return _present(self.parts.audit, "the audit service")

    @property
    def recurring(self) -> RecurringService:
        return _present(self.parts.recurring, "the recurring service")

    @property
    def reminders(self) -> ReminderService:
        return _present(self.parts.reminders, "the reminders service")

    @property
    def notifier(self) -> NotifierService:
        return _present(self.parts.notifier, "the notifier service")

    @property
    def sync(self) -> SyncService:
        return _present(self.parts.sync, "the sync service")

    async def start(self) -> None:
        """Subscribe every service and start the background loops."""
        self._subscribe(self.services)
        self._run(self.loops)

    def _subscribe(self, services: list[Service]) -> None:
        for service in services:
            for handles in service.subscriptions():
                self.bus.subscribe(
                    handles.name, handles.topic, handles.types, handles.handler, handles.batch
                )

    def _run(self, loops: list[Loop]) -> None:
        for loop in loops:
            task = asyncio.create_task(loop.run(), name=type(loop).__name__)
            task.add_done_callback(_log_failure)
            self._background.append(task)

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
        if self.parts.database is not None:
            await self.parts.database.dispose()


def _log_failure(task: asyncio.Task[None]) -> None:
    """A background loop that ended on an error says so at once."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("the %s loop stopped on an error", task.get_name(), exc_info=exc)


def _present(part: _T | None, what: str) -> _T:
    if part is None:
        raise NotInThisProcess(f"{what} does not run in this process")
    return part


@dataclass
class EmbeddedContainer(Container):
    """The embedded shape: every service in one process, over one database.

    Served by several worker processes (`build_worker`), one of them, the owner, runs the
    relay, the scheduler and every consumer, and forwards the updates to the others
    through its `hub`; each other one (a follower) runs only its sync service, fed by its
    `link`, and takes over if the owner dies."""

    bus: InProcessEventBus = field(kw_only=True)
    state: SqlStateStore = field(kw_only=True)
    scheduler: InProcessScheduler = field(kw_only=True)
    relay: OutboxRelay = field(kw_only=True)
    hub: Hub | None = field(default=None, kw_only=True)
    link: HubLink | None = field(default=None, kw_only=True)

    @property
    def services(self) -> list[Service]:
        if self.link is not None:
            return [self.sync]
        return [*self.parts.services, *([self.hub] if self.hub is not None else [])]

    def lead(self, address: str) -> None:
        """Before `start`: run the relay, the scheduler and the consumers for every worker,
        with the hub at `address`."""
        updates = frozenset[EventType]().union(
            *(handles.types for handles in self.sync.subscriptions())
        )
        self.hub = Hub(address, self.database.outbox_ready, updates)
        self.link = None
        self.loops = [self.relay, self.scheduler, self.hub]

    def follow(self, address: str, ownership: Ownership) -> None:
        """Before `start`: serve requests and sockets, linked to the owner's hub at
        `address`; lead when the owner is gone and this process takes `ownership`."""

        async def take_over() -> bool:
            if not ownership.take():
                return False
            log.warning("the owner process is gone: this one runs the relay and consumers")
            followed = self.services
            self.lead(address)
            self._subscribe([s for s in self.services if s not in followed])
            self._run(self.loops)
            self.sync.restart()
            return True

        bus, ready = self.bus, self.database.outbox_ready
        self.link = HubLink(address, ready, bus, self.sync.restart, take_over)
        self.loops = [self.link]

    async def start(self) -> None:
        await super().start()
        if self.link is not None:  # serve once linked, unless the owner is slow to come
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.link.linked.wait(), _LINK_WAIT_S)


_LINK_WAIT_S: Final = 5.0
"""How long a follower worker waits for its link to the owner before serving anyway."""

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
        events=EventFactory("taskstream/api", new_id, clock),
        refresh_lifetime=timedelta(days=settings.refresh_token_days),
        per_account=SlidingWindowLimiter(clock, settings.login_attempts_per_account, window),
        per_address=SlidingWindowLimiter(clock, settings.login_attempts_per_address, window),
        signups=SlidingWindowLimiter(
            clock,
            settings.signups_per_address,
            timedelta(seconds=settings.signup_window_seconds),
        ),
    )


def _notifier(
    settings: Settings,
    database: Database,
    bus: EventBus,
    state: StateStore,
    scheduler: Scheduler,
    clock: Clock,
) -> NotifierService:
    policy = AddressPolicy.parse(settings.webhook_allow)
    resolver = SystemResolver(settings.webhook_timeout_seconds)
    return NotifierService(
        bus=bus,
        state=state,
        directory=SqlUserDirectory(database),
        webhooks=SqlWebhookStore(database),
        inbox=SqlInbox(database),
        sender=HttpWebhookSender(settings.webhook_timeout_seconds, policy, resolver),
        mailer=SmtpMailer.from_settings(settings, clock),
        clock=clock,
        new_id=new_id,
        policy=policy,
        resolver=resolver,
        scheduler=scheduler,
        max_attempts=settings.webhook_max_attempts,
        lease=timedelta(seconds=settings.delivery_lease_seconds),
    )


def default_planner(settings: Settings) -> Planner:
    """The offline planner; with an LLM endpoint configured, the LLM planner before it."""
    offline = OfflinePlanner()
    if not settings.llm_base_url:
        return offline
    key = settings.llm_api_key
    return LlmPlanner(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=key.get_secret_value() if key else None,
        timeout=settings.llm_timeout_seconds,
        fallback=offline,
    )


def _chat(
    database: Database, tasks: TaskService, clock: Clock, settings: Settings, planner: Planner
) -> tuple[ChatService, Tools]:
    tools = Tools(tasks, clock)
    chat = ChatService(
        store=SqlConversationStore(database),
        tools=tools,
        tasks=tasks,
        planner=planner,
        clock=clock,
        new_id=new_id,
        max_message_chars=settings.chat_max_message_chars,
    )
    return chat, tools


def build(
    settings: Settings,
    clock: Clock | None = None,
    planner: Planner | None = None,
    *,
    shared: bool = False,
) -> EmbeddedContainer:
    """Wire the embedded shape: every service in this process, over one database (which
    other processes write to as well, if `shared`)."""
    clock = clock or SystemClock()
    database = Database(settings.sqlalchemy_url(), shared=shared)
    tokens = _tokens(settings)
    dead_letters = SqlDeadLetterStore(database, clock, new_id)
    bus = InProcessEventBus(dead_letters)
    tasks = _task_service(database, clock, settings)
    state = SqlStateStore(database, clock)
    scheduler = InProcessScheduler(database, clock)
    relay = OutboxRelay(database, bus, clock)
    chat, tools = _chat(database, tasks, clock, settings, planner or default_planner(settings))
    parts = Parts(
        database=database,
        tasks=tasks,
        chat=chat,
        tools=tools,
        access_tokens=PersonalTokens(SqlAccessTokenStore(database), clock, new_id),
        auth=_auth_service(database, clock, settings, tokens),
        dead_letters=dead_letters,
        audit=AuditService(SqlActivityLog(database)),
        recurring=RecurringService(InProcessTaskCommands(tasks)),
        reminders=ReminderService(
            scheduler, state, bus, EventFactory("taskstream/reminders", new_id, clock), clock
        ),
        notifier=_notifier(settings, database, bus, state, scheduler, clock),
        sync=SyncService(settings.sync_buffer_size, settings.sync_queue_size),
    )
    return EmbeddedContainer(
        settings=settings,
        clock=clock,
        tokens=tokens,
        bus=bus,
        roles=frozenset(SERVICES),
        parts=parts,
        loops=[relay, scheduler],
        state=state,
        scheduler=scheduler,
        relay=relay,
    )


def build_worker(
    settings: Settings, clock: Clock | None = None, planner: Planner | None = None
) -> EmbeddedContainer:
    """Wire one of the worker processes of the embedded shape (`taskstream up --workers`):
    the owner, if this process is the first to take the lock, or a follower."""
    container = build(settings, clock, planner, shared=True)
    url = settings.sqlalchemy_url()
    owner, address = ownership(url, settings.data_dir), hub_address(url)
    if owner.take():
        container.lead(address)
        log.info("this process runs the relay, the scheduler and the consumers")
    else:
        container.follow(address, owner)
    return container


def build_service(
    settings: Settings, name: str, clock: Clock | None = None, planner: Planner | None = None
) -> Container:
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
    jobs = DaprScheduler(sidecar, clock) if name in ("reminders", "notifier") else None
    tokens = _tokens(settings)
    database: Database | None = None
    if name in SQL_SERVICES:
        if not settings.database_url:
            raise ValueError(f"the {name} service needs TASKSTREAM_DATABASE_URL (PostgreSQL)")
        database = Database(settings.database_url)
    parts = Parts(database=database)
    loops: list[Loop] = []
    if database is not None and name == "api":
        dead_letters = SqlDeadLetterStore(database, clock, new_id)
        tasks = _task_service(database, clock, settings)
        chat, tools = _chat(database, tasks, clock, settings, planner or default_planner(settings))
        parts = replace(
            parts,
            tasks=tasks,
            chat=chat,
            tools=tools,
            access_tokens=PersonalTokens(SqlAccessTokenStore(database), clock, new_id),
            auth=_auth_service(database, clock, settings, tokens),
            dead_letters=dead_letters,
        )
        loops.append(OutboxRelay(database, bus, clock))
        for consumer, topics in SUBSCRIBED.items():
            for topic in topics:
                bus.park_dead_letters(consumer, topic, dead_letters)
    elif name == "recurring":
        parts = replace(
            parts, recurring=RecurringService(DaprTaskCommands(sidecar, settings.api_app_id))
        )
    elif jobs is not None and name == "reminders":
        events = EventFactory("taskstream/reminders", new_id, clock)
        parts = replace(parts, reminders=ReminderService(jobs, state, bus, events, clock))
    elif database is not None and jobs is not None and name == "notifier":
        parts = replace(parts, notifier=_notifier(settings, database, bus, state, jobs, clock))
    elif database is not None and name == "audit":
        parts = replace(parts, audit=AuditService(SqlActivityLog(database)))
    elif name == "sync":
        parts = replace(
            parts, sync=SyncService(settings.sync_buffer_size, settings.sync_queue_size)
        )
    return Container(
        settings=settings,
        clock=clock,
        tokens=tokens,
        bus=bus,
        roles=frozenset({name}),
        parts=parts,
        loops=loops,
        dapr=DaprRuntime(sidecar, bus, jobs),
    )
