"""The composition root: builds the application for one shape from its settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from taskstream.adapters.db.database import Database
from taskstream.adapters.security import Argon2PasswordHasher, JwtTokens
from taskstream.adapters.system import SystemClock, new_id
from taskstream.app.auth import AuthService
from taskstream.app.events import EventFactory
from taskstream.app.ports import Clock
from taskstream.app.ratelimit import SlidingWindowLimiter
from taskstream.app.tasks import TaskService
from taskstream.settings import Settings


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    database: Database
    clock: Clock
    tasks: TaskService
    auth: AuthService


def build(settings: Settings, clock: Clock | None = None) -> Container:
    """Wire every service to its adapters. Creates nothing outside memory but the engine."""
    clock = clock or SystemClock()
    database = Database(settings.sqlalchemy_url())
    window = timedelta(seconds=settings.login_window_seconds)
    tokens = JwtTokens(
        secret=settings.signing_secret(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        lifetime=timedelta(minutes=settings.access_token_minutes),
    )
    return Container(
        settings=settings,
        database=database,
        clock=clock,
        tasks=TaskService(
            writer=database.writer,
            reader=database.reader,
            clock=clock,
            new_id=new_id,
            default_timezone=settings.default_timezone,
            events=EventFactory("taskstream/api", new_id, clock),
        ),
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
    )
