"""Personal access tokens: long-lived bearer tokens a user creates for MCP clients.

A token is shown once, when it is created; only its SHA-256 is stored. It stands for the
user like an access token until it is revoked. Tokens start with `tsk_`, so a bearer
token is told apart from a JWT without trying both.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from taskstream.app.ports import Clock, IdFactory, Principal, token_digest
from taskstream.domain.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from taskstream.domain.text import refuse_nul

PREFIX: Final = "tsk_"
NAME_MAX: Final = 100
PER_USER: Final = 20


@dataclass(frozen=True, slots=True)
class AccessToken:
    id: str
    user_id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class AccessTokenStore(Protocol):
    async def add(self, token: AccessToken, token_hash: str, limit: int) -> bool:
        """Store the token unless the user has `limit` active ones already."""
        ...

    async def of_user(self, user_id: str) -> list[AccessToken]:
        """The user's tokens that are not revoked, oldest first."""
        ...

    async def revoke(self, user_id: str, token_id: str, now: datetime) -> bool:
        """Revoke one of the user's active tokens; False if there is none such."""
        ...

    async def principal(self, token_hash: str, now: datetime) -> Principal | None:
        """Who an active token stands for (and note its use); None if none does."""
        ...


def is_personal(token: str) -> bool:
    return token.startswith(PREFIX)


@dataclass(frozen=True, slots=True)
class PersonalTokens:
    store: AccessTokenStore
    clock: Clock
    new_id: IdFactory

    async def create(self, user_id: str, name: str) -> tuple[AccessToken, str]:
        """A new token and its secret, which is never shown again."""
        refuse_nul("name", name)
        if not name.strip() or len(name) > NAME_MAX:  # as given: the API's schema states it
            raise ValidationFailed.of(
                "name", "token_name_length", f"A token's name has 1 to {NAME_MAX} characters."
            )
        secret = PREFIX + secrets.token_urlsafe(32)
        token = AccessToken(
            id=self.new_id(), user_id=user_id, name=name.strip(), created_at=self.clock.now()
        )
        if not await self.store.add(token, token_digest(secret), PER_USER):
            raise Conflict(
                f"You have {PER_USER} tokens already; revoke one first.", code="too_many_tokens"
            )
        return token, secret

    async def of_user(self, user_id: str) -> list[AccessToken]:
        return await self.store.of_user(user_id)

    async def revoke(self, user_id: str, token_id: str) -> None:
        if not await self.store.revoke(user_id, token_id, self.clock.now()):
            raise NotFound(f"There is no token {token_id}.", code="token_not_found")

    async def principal(self, secret: str) -> Principal:
        """Who the token stands for; Unauthorized when it is unknown or revoked."""
        found = None
        if is_personal(secret) and len(secret) < 200:
            found = await self.store.principal(token_digest(secret), self.clock.now())
        if found is None:
            raise Unauthorized(
                "This personal access token is not valid (unknown or revoked).",
                code="token_invalid",
            )
        return found
