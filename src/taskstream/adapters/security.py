"""Password hashing (argon2id) and access tokens (JWT, HS256)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
import jwt
from argon2 import PasswordHasher as _Argon2
from argon2 import exceptions as argon2_errors

from taskstream.app.ports import Principal
from taskstream.domain.errors import Unauthorized


class Argon2PasswordHasher:
    """argon2id with OWASP's parameters: 19 MiB, 2 iterations, 1 lane.

    Hashing takes tens of milliseconds of CPU and 19 MiB of memory, so it runs in a
    worker thread, at most `concurrency` at a time: a burst of log-ins queues instead of
    growing the process by 19 MiB each.
    """

    def __init__(self, concurrency: int = 2) -> None:
        self._hasher = _Argon2(time_cost=2, memory_cost=19_456, parallelism=1)
        self._slots = anyio.CapacityLimiter(concurrency)

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, password, limiter=self._slots)

    async def verify(self, password_hash: str, password: str) -> bool:
        def check() -> bool:
            try:
                return bool(self._hasher.verify(password_hash, password))
            except (argon2_errors.VerificationError, argon2_errors.InvalidHashError):
                return False

        return await anyio.to_thread.run_sync(check, limiter=self._slots)


class JwtTokens:
    """Issues and checks access tokens: the algorithm is pinned, iss/aud/exp are required.

    A client sends the same token with every request until it expires: a token that passed
    the full check is remembered with its validity window, and later checks of it only
    compare the time. A token of a log-in names it (`sid`, the family of its refresh
    tokens): the token itself stays valid until `exp`, but what lasts longer than one
    request (a WebSocket) ends when that log-in is revoked.
    """

    ALGORITHM = "HS256"
    REMEMBERED = 4096
    """Tokens remembered at most; the memory is emptied when it is full."""

    def __init__(self, secret: str, issuer: str, audience: str, lifetime: timedelta) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self.lifetime = lifetime
        self._checked: dict[str, tuple[Principal, float, float]] = {}
        """token -> (principal, valid from, valid until) in POSIX seconds."""

    def issue(self, principal: Principal, now: datetime, token_id: str) -> str:
        claims: dict[str, Any] = {
            "sub": principal.user_id,
            "tz": principal.timezone,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime,
            "jti": token_id,
        }
        if principal.session is not None:
            claims["sid"] = principal.session
        return jwt.encode(claims, self._secret, algorithm=self.ALGORITHM)

    def check(self, token: str) -> Principal:
        known = self._checked.get(token)
        if known is not None and known[1] <= time.time() < known[2]:
            return known[0]
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[self.ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized(
                "Your access token has expired; refresh it or log in again.", code="token_expired"
            ) from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("This access token is not valid.", code="token_invalid") from exc
        session = claims.get("sid")
        principal = Principal(
            str(claims["sub"]),
            str(claims.get("tz", "UTC")),
            session=None if session is None else str(session),
            expires_at=datetime.fromtimestamp(float(claims["exp"]), UTC),
        )
        if len(self._checked) >= self.REMEMBERED:
            self._checked.clear()
        valid_from = max(float(claims["iat"]), float(claims.get("nbf", claims["iat"])))
        self._checked[token] = (principal, valid_from, float(claims["exp"]))
        return principal
