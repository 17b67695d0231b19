"""Sign-up, log-in, token refresh and log-out."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from taskstream.app.ports import (
    Clock,
    IdFactory,
    PasswordHasher,
    Principal,
    RefreshToken,
    TokenIssuer,
    UnitOfWork,
    UnitOfWorkFactory,
    token_digest,
)
from taskstream.app.ratelimit import SlidingWindowLimiter
from taskstream.domain.errors import EmailTaken, Problems, Unauthorized, ValidationFailed
from taskstream.domain.tasks import zone
from taskstream.domain.users import User, check_password, clean_email


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


_BAD_LOGIN = "The e-mail address or the password is wrong."


@dataclass(slots=True)
class AuthService:
    writer: UnitOfWorkFactory
    reader: UnitOfWorkFactory
    clock: Clock
    new_id: IdFactory
    hasher: PasswordHasher
    tokens: TokenIssuer
    refresh_lifetime: timedelta
    per_account: SlidingWindowLimiter
    per_address: SlidingWindowLimiter
    _dummy_hash: str | None = None

    async def sign_up(self, email: str, password: str, timezone: str = "UTC") -> User:
        problems = Problems()
        email = clean_email(email, problems)
        check_password(password, problems)
        try:
            timezone = zone(timezone).key
        except ValidationFailed as exc:
            problems.problems.extend(exc.problems)
        problems.raise_if_any()
        user = User(
            id=self.new_id(),
            email=email,
            password_hash=await self.hasher.hash(password),
            timezone=timezone,
            created_at=self.clock.now(),
        )
        async with self.writer() as uow:
            if await uow.users.by_email(email) is not None:
                raise EmailTaken()
            await uow.users.add(user)
            await uow.commit()
        return user

    async def log_in(self, email: str, password: str, address: str) -> TokenPair:
        email = email.strip().lower()
        self.per_address.hit(address, "log-in attempts from your address")
        self.per_account.hit(email, "log-in attempts for this account")
        async with self.reader() as uow:
            user = await uow.users.by_email(email)
        if user is None:
            # Spend the same time as a real check, so timing does not reveal accounts.
            if self._dummy_hash is None:
                self._dummy_hash = await self.hasher.hash(secrets.token_urlsafe(16))
            await self.hasher.verify(self._dummy_hash, password)
            raise Unauthorized(_BAD_LOGIN, code="bad_credentials")
        if not await self.hasher.verify(user.password_hash, password):
            raise Unauthorized(_BAD_LOGIN, code="bad_credentials")
        async with self.writer() as uow:
            pair = await self._issue(uow, user, family=self.new_id())
            await uow.commit()
        return pair

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Trade a refresh token for a new pair; a reused (stolen) one ends its session."""
        now = self.clock.now()
        invalid = Unauthorized(
            "This refresh token is not valid any more; log in again.", code="refresh_invalid"
        )
        async with self.writer() as uow:
            stored = await uow.refresh_tokens.get(token_digest(refresh_token))
            if stored is None or stored.expires_at <= now:
                raise invalid
            if not await uow.refresh_tokens.revoke(stored.token_hash, now):
                await uow.refresh_tokens.revoke_family(stored.family, now)
                await uow.commit()
                raise invalid
            user = await uow.users.by_id(stored.user_id)
            if user is None:
                raise invalid
            pair = await self._issue(uow, user, family=stored.family)
            await uow.commit()
        return pair

    async def log_out(self, refresh_token: str) -> None:
        async with self.writer() as uow:
            stored = await uow.refresh_tokens.get(token_digest(refresh_token))
            if stored is not None:
                await uow.refresh_tokens.revoke_family(stored.family, self.clock.now())
                await uow.commit()

    def authenticate(self, access_token: str) -> Principal:
        """Who an access token was issued to."""
        return self.tokens.check(access_token)

    async def who_am_i(self, user_id: str) -> User:
        async with self.reader() as uow:
            user = await uow.users.by_id(user_id)
        if user is None:
            raise Unauthorized("This account no longer exists.", code="token_invalid")
        return user

    async def _issue(self, uow: UnitOfWork, user: User, family: str) -> TokenPair:
        now = self.clock.now()
        refresh = secrets.token_urlsafe(32)
        await uow.refresh_tokens.add(
            RefreshToken(token_digest(refresh), user.id, family, now + self.refresh_lifetime)
        )
        access = self.tokens.issue(Principal(user.id, user.timezone), now, self.new_id())
        return TokenPair(access, refresh, int(self.tokens.lifetime.total_seconds()))
