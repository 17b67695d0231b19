"""Sign-up, log-in, token refresh and log-out.

A log-in is a session: the family of refresh tokens it starts, whose id its access tokens
carry. Ending it (log-out, or a stolen refresh token used twice) revokes the family and,
in the same transaction, puts `session.revoked` in the outbox, so `sync` closes the
sockets opened with its access tokens wherever they are held.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NoReturn

from taskstream.app.events import EventFactory, EventType
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
from taskstream.domain.text import NUL
from taskstream.domain.users import User, check_password, clean_email


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


_BAD_LOGIN = "The e-mail address or the password is wrong."


class KnownClients:
    """The client addresses each account has logged in from lately (bounded, in memory)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._max = max_entries

    def knows(self, email: str, address: str) -> bool:
        return (email, address) in self._seen

    def remember(self, email: str, address: str) -> None:
        self._seen[(email, address)] = None
        self._seen.move_to_end((email, address))
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)


@dataclass(slots=True)
class AuthService:
    writer: UnitOfWorkFactory
    reader: UnitOfWorkFactory
    clock: Clock
    new_id: IdFactory
    hasher: PasswordHasher
    tokens: TokenIssuer
    events: EventFactory
    refresh_lifetime: timedelta
    per_account: SlidingWindowLimiter
    """Failed log-ins per account, from clients not known to it."""
    per_address: SlidingWindowLimiter
    """Failed log-ins per client address."""
    signups: SlidingWindowLimiter
    """Sign-ups per client address."""
    known_clients: KnownClients = field(default_factory=lambda: KnownClients())
    _dummy_hash: str | None = None
    _signup_hashing: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))

    async def sign_up(
        self, email: str, password: str, timezone: str = "UTC", address: str | None = None
    ) -> User:
        """A new account. Sign-ups are limited per address (`address`, when it comes from
        a client) and hash one at a time, so a wave of them cannot starve log-ins of the
        hashing pool. A taken e-mail address is said so (EmailTaken): people need to know
        to log in instead, and the per-address limit keeps that from listing accounts."""
        if address is not None:
            self.signups.hit(address, "sign-ups from your address")
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
            password_hash=await self._hash_for_signup(password),
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
        """Tokens for the right password. Only failures count, per address and per
        account; a client that has logged in to the account before (a known address) is
        not held back by the account's count, so a stranger's guesses cannot lock the
        owner out (OWASP's advice), while the guesser is."""
        email = email.strip().lower()
        known = self.known_clients.knows(email, address)
        self.per_address.check(address, "failed log-ins from your address")
        if not known:
            self.per_account.check(email, "failed log-ins for this account")
        user = None
        if NUL not in email:  # no account has one; SQL cannot even compare it
            async with self.reader() as uow:
                user = await uow.users.by_email(email)
        if user is None:
            # Spend the same time as a real check, so timing does not reveal accounts.
            if self._dummy_hash is None:
                self._dummy_hash = await self.hasher.hash(secrets.token_urlsafe(16))
            await self.hasher.verify(self._dummy_hash, password)
            self._failed(email, address, known)
        elif not await self.hasher.verify(user.password_hash, password):
            self._failed(email, address, known)
        assert user is not None
        async with self.writer() as uow:
            pair = await self._issue(uow, user, family=self.new_id())
            await uow.commit()
        self.known_clients.remember(email, address)
        return pair

    def _failed(self, email: str, address: str, known: bool) -> NoReturn:
        self.per_address.hit(address, "failed log-ins from your address")
        if not known:
            self.per_account.hit(email, "failed log-ins for this account")
        raise Unauthorized(_BAD_LOGIN, code="bad_credentials")

    async def _hash_for_signup(self, password: str) -> str:
        async with self._signup_hashing:
            return await self.hasher.hash(password)

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
                await self._end_session(uow, stored)
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
                await self._end_session(uow, stored)
                await uow.commit()

    async def _end_session(self, uow: UnitOfWork, stored: RefreshToken) -> None:
        """Revoke the session's refresh tokens and tell `sync` to close its sockets."""
        await uow.refresh_tokens.revoke_family(stored.family, self.clock.now())
        await uow.outbox.add(
            [
                self.events.make(
                    EventType.SESSION_REVOKED, stored.user_id, {"session": stored.family}
                )
            ]
        )

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
        principal = Principal(user.id, user.timezone, session=family)
        access = self.tokens.issue(principal, now, self.new_id())
        return TokenPair(access, refresh, int(self.tokens.lifetime.total_seconds()))
