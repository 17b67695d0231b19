"""Webhooks as users manage them: at most `WEBHOOKS_PER_USER` URLs each, only ever seen by
their owner, only to addresses the address policy permits, and how deliveries are signed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Final

from taskstream.app.address_policy import AddressPolicy, Target, check_webhook_url
from taskstream.app.deliveries import Delivery, DeliveryLog
from taskstream.app.ports import Clock, HostResolver, IdFactory, Webhook, WebhookStore
from taskstream.domain.errors import NotFound, ValidationFailed

WEBHOOKS_PER_USER: Final = 5


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Taskstream-Signature` of a delivery: the HMAC-SHA256, under the webhook's
    secret, of its `X-Taskstream-Timestamp`, a dot and the body; so a receiver that
    checks the timestamp's age also knows an old delivery was not replayed as new."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookRegistry:
    """A user's webhooks: at most `WEBHOOKS_PER_USER`, each only ever seen by its owner."""

    def __init__(
        self,
        store: WebhookStore,
        log: DeliveryLog,
        clock: Clock,
        new_id: IdFactory,
        policy: AddressPolicy,
        resolver: HostResolver,
        new_secret: Callable[[], str] = _new_secret,
    ) -> None:
        self._store = store
        self._log = log
        self._clock = clock
        self._new_id = new_id
        self._policy = policy
        self._resolver = resolver
        self._new_secret = new_secret

    async def create(self, user_id: str, url: str) -> Webhook:
        webhook = Webhook(
            id=self._new_id(),
            user_id=user_id,
            url=await self._permitted(check_webhook_url(url)),
            secret=self._new_secret(),
            created_at=self._clock.now(),
        )
        if not await self._store.add(webhook, WEBHOOKS_PER_USER):
            raise ValidationFailed.of(
                "url",
                "webhooks_limit_reached",
                f"You have {WEBHOOKS_PER_USER} webhooks, the most there can be: delete one first.",
            )
        return webhook

    async def of_user(self, user_id: str) -> list[Webhook]:
        return await self._store.of_user(user_id)

    async def delete(self, user_id: str, webhook_id: str) -> None:
        if not await self._store.delete(user_id, webhook_id):
            raise _no_webhook()
        await self._log.forget(user_id, webhook_id)

    async def deliveries(self, user_id: str, webhook_id: str, limit: int) -> list[Delivery]:
        """What was sent to the webhook, newest first."""
        if await self._store.get(user_id, webhook_id) is None:
            raise _no_webhook()
        return await self._log.recent(user_id, webhook_id, limit)

    async def _permitted(self, url: str) -> str:
        """The URL, unless its host resolves to an address webhooks may not reach.

        A host that does not resolve now is taken: each delivery checks again."""
        target = Target.of(url)
        if self._policy.allows_host(target.host):
            return url
        try:
            addresses = await self._resolver.addresses(target.host, target.port)
        except OSError:
            return url
        if not all(self._policy.permits(address) for address in addresses):
            raise ValidationFailed.of(
                "url",
                "url_forbidden",
                "This URL leads to a private, local or reserved address; "
                "webhooks go to public addresses only.",
            )
        return url


def _no_webhook() -> NotFound:
    return NotFound("There is no such webhook among yours.", code="webhook_not_found")
