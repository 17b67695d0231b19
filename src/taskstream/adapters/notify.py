"""The notifier's channels and contacts: users and webhooks in SQL, HTTP for webhooks, SMTP.

The SMTP client is the standard library's, blocking, so it runs in a worker thread.
Webhooks connect only to an address the address policy permits, resolved and checked
just before the connection, which then goes to that very address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING

import anyio.to_thread
import httpx
from sqlalchemy import delete, func, insert, select

from taskstream import __version__
from taskstream.adapters.db.tables import users, webhooks
from taskstream.app.address_policy import AddressPolicy, IPAddress, Target
from taskstream.app.ports import Clock, DeliveryFailed, HostResolver, Webhook
from taskstream.app.services.notifier import Contact, Mail

if TYPE_CHECKING:
    from sqlalchemy.engine import RowMapping

    from taskstream.adapters.db.database import Database
    from taskstream.settings import Settings


def _webhook(row: RowMapping) -> Webhook:
    return Webhook(
        id=row["id"],
        user_id=row["user_id"],
        url=row["url"],
        secret=row["secret"],
        created_at=row["created_at"],
    )


class SqlUserDirectory:
    """Contacts from the `users` and `webhooks` tables."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def contact(self, user_id: str) -> Contact | None:
        async with self._database.read() as conn:
            user = (
                (
                    await conn.execute(
                        select(users.c.email, users.c.timezone).where(users.c.id == user_id)
                    )
                )
                .mappings()
                .first()
            )
            if user is None:
                return None
            rows = (
                await conn.execute(
                    select(webhooks)
                    .where(webhooks.c.user_id == user_id)
                    .order_by(webhooks.c.created_at, webhooks.c.id)
                )
            ).mappings()
            hooks = tuple(_webhook(row) for row in rows)
        return Contact(user_id, user["email"], user["timezone"], hooks)


class SqlWebhookStore:
    """Webhooks in the `webhooks` table; every read and delete is scoped to one user."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(self, webhook: Webhook, limit: int) -> bool:
        async with self._database.transaction() as conn:
            # Locking the user's row serialises the count-then-insert of concurrent adds on
            # PostgreSQL; SQLite has one writer at a time anyway (and ignores FOR UPDATE).
            await conn.execute(
                select(users.c.id).where(users.c.id == webhook.user_id).with_for_update()
            )
            count = (
                await conn.execute(
                    select(func.count())
                    .select_from(webhooks)
                    .where(webhooks.c.user_id == webhook.user_id)
                )
            ).scalar_one()
            if count >= limit:
                return False
            await conn.execute(
                insert(webhooks).values(
                    id=webhook.id,
                    user_id=webhook.user_id,
                    url=webhook.url,
                    secret=webhook.secret,
                    created_at=webhook.created_at,
                )
            )
        return True

    async def of_user(self, user_id: str) -> list[Webhook]:
        async with self._database.read() as conn:
            rows = (
                await conn.execute(
                    select(webhooks)
                    .where(webhooks.c.user_id == user_id)
                    .order_by(webhooks.c.created_at, webhooks.c.id)
                )
            ).mappings()
            return [_webhook(row) for row in rows]

    async def get(self, user_id: str, webhook_id: str) -> Webhook | None:
        async with self._database.read() as conn:
            row = (
                (
                    await conn.execute(
                        select(webhooks).where(
                            webhooks.c.id == webhook_id, webhooks.c.user_id == user_id
                        )
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else _webhook(row)

    async def delete(self, user_id: str, webhook_id: str) -> bool:
        async with self._database.transaction() as conn:
            result = await conn.execute(
                delete(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.user_id == user_id)
            )
        return bool(result.rowcount)


log = logging.getLogger(__name__)

NO_RESPONSE = "no response"
NOT_ALLOWED = "address not allowed"


class SystemResolver:
    """The operating system's resolver (getaddrinfo), within a time limit."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        async with asyncio.timeout(self._timeout):
            found = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        addresses = []
        for *_, sockaddr in found:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise OSError(f"{host} resolves to no address")
        return addresses


class HttpWebhookSender:
    """POSTs with httpx: no redirects followed, no proxy, the response body never read.

    Unless the operator allowed the host by name, the host is resolved here, every address
    it has must be permitted, and the request goes to the first of them (with the URL's
    Host header, and its name for TLS), so what was checked is what is connected to.
    """

    def __init__(
        self,
        timeout: float,
        policy: AddressPolicy,
        resolver: HostResolver,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout = timeout
        self._policy = policy
        self._resolver = resolver
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:  # made on first use: nothing is opened at build time
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout),
                follow_redirects=False,
                trust_env=False,
                headers={"User-Agent": f"taskstream-webhooks/{__version__}"},
                transport=self._transport,
            )
        return self._client

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        request = self._http().build_request("POST", url, content=body, headers=headers)
        target = Target.of(url)
        if not self._policy.allows_host(target.host):
            address = await self._address(target)
            request.url = request.url.copy_with(host=str(address))
            request.headers["Host"] = httpx.URL(url).netloc.decode("ascii")
            if request.url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": target.host}
        try:
            response = await self._http().send(request, stream=True)
            await response.aclose()
        except httpx.TransportError as exc:
            log.info("webhook to %s: no response: %r", target.host, exc)
            raise DeliveryFailed(NO_RESPONSE, retryable=True) from exc
        return response.status_code

    async def _address(self, target: Target) -> IPAddress:
        try:
            addresses = await self._resolver.addresses(target.host, target.port)
        except (OSError, TimeoutError) as exc:
            log.info("webhook to %s: not resolved: %r", target.host, exc)
            raise DeliveryFailed(NO_RESPONSE, retryable=True) from exc
        refused = [a for a in addresses if not self._policy.permits(a)]
        if refused:
            log.warning("webhook to %s refused: it resolves to %s", target.host, refused)
            raise DeliveryFailed(NOT_ALLOWED, retryable=False)
        return addresses[0]

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class SmtpMailer:
    """Sends mail with `smtplib` in a worker thread; STARTTLS and login when configured."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        clock: Clock,
        *,
        timeout: float,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._clock = clock
        self._timeout = timeout
        self._starttls = starttls
        self._username = username
        self._password = password

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock) -> SmtpMailer | None:
        """The mailer the settings describe; None when no SMTP host is set."""
        if not settings.smtp_host:
            return None
        password = settings.smtp_password
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_sender,
            clock,
            timeout=settings.webhook_timeout_seconds,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=None if password is None else password.get_secret_value(),
        )

    def message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = format_datetime(self._clock.now())
        message["Message-ID"] = mail.message_id
        message.set_content(mail.body)
        return message

    async def send(self, mail: Mail) -> None:
        message = self.message(mail)
        await anyio.to_thread.run_sync(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username:
                    smtp.login(self._username, self._password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:  # one recipient: its reply says it all
            replies = exc.recipients.values()
            reason = "; ".join(_reply(code, text) for code, text in replies)
            retryable = all(400 <= code < 500 for code, _ in replies)
            raise DeliveryFailed(reason, retryable=retryable) from exc
        except smtplib.SMTPResponseException as exc:  # a reply: 4xx is transient, 5xx is not
            reason = _reply(exc.smtp_code, exc.smtp_error)
            raise DeliveryFailed(reason, retryable=400 <= exc.smtp_code < 500) from exc
        except smtplib.SMTPNotSupportedError as exc:  # e.g. no STARTTLS: retrying cannot help
            raise DeliveryFailed(f"SMTP: {exc}", retryable=False) from exc
        except (smtplib.SMTPException, OSError) as exc:  # disconnected, refused, timed out
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}", retryable=True) from exc


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode(errors="replace") if isinstance(text, bytes) else text
    return f"SMTP {code} {message}"
