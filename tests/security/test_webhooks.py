"""Defect 1: webhooks cannot reach inside the deployment, by any spelling of an address or by
a name that resolves elsewhere at delivery time; the delivery log says no more than
delivered or failed (with the HTTP status only from an allowed target); the signature
covers the timestamp."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from aiohttp import web

from taskstream.adapters.notify import SqlWebhookStore
from taskstream.app.events import CloudEvent, EventType
from taskstream.app.ports import Webhook
from taskstream.bootstrap import Container
from taskstream.settings import Settings
from tests.conftest import eventually
from tests.integration.conftest import Login


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The production default: no host or network allowed beyond the public ones."""
    return replace_settings(settings, webhook_allow="")


def replace_settings(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update=changes)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[int, list[bytes]]]:
    """A real HTTP server on 127.0.0.1 that records what it is sent."""
    received: list[bytes] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield port, received
    await runner.cleanup()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.1/hook",
        "http://[::1]/hook",
        "http://0x7f.1/hook",
        "http://2130706433/hook",
        "http://017700000001/hook",
        "http://0.0.0.0/hook",
        "http://localhost:8000/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[64:ff9b::a9fe:a9fe]/hook",
        "http://100.64.0.1/hook",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
        "https://[fe80::1]/hook",
        "http://[fd00::1]/hook",
    ],
)
async def test_a_webhook_to_an_inside_address_is_refused(
    client: httpx.AsyncClient, login: Login, url: str
) -> None:
    headers = await login()
    response = await client.post("/webhooks", headers=headers, json={"url": url})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == "url_forbidden"
    assert (await client.get("/webhooks", headers=headers)).json() == {"data": []}


async def test_a_public_address_is_taken(client: httpx.AsyncClient, login: Login) -> None:
    headers = await login()
    response = await client.post(
        "/webhooks", headers=headers, json={"url": "https://93.184.215.14/hook"}
    )
    assert response.status_code == 201, response.text


def reminder_due(user_id: str) -> CloudEvent:
    return CloudEvent(
        id="e1",
        type=EventType.REMINDER_DUE,
        source="taskstream/reminders",
        userid=user_id,
        subject="t1",
        data={"task_id": "t1", "remind_at": "2031-03-10T07:30:00Z", "title": "x"},
        time=datetime.now(UTC),
    )


async def _smuggle(container: Container, user_id: str, url: str) -> str:
    """A webhook stored as if its host had resolved to a public address at registration
    and resolves to loopback now (DNS rebinding): `localhost` does the latter for real."""
    webhook = Webhook("w1", user_id, url, "whsec_test", datetime.now(UTC))
    assert await SqlWebhookStore(container.database).add(webhook, 5)
    return webhook.id


async def _user_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    me = (await client.get("/users/me", headers=headers)).json()
    return str(me["id"])


async def _deliveries(
    client: httpx.AsyncClient, headers: dict[str, str], hook: str
) -> list[dict[str, object]]:
    response = await client.get(f"/webhooks/{hook}/deliveries", headers=headers)
    data: list[dict[str, object]] = response.json()["data"]
    return data


async def test_each_delivery_checks_the_address_it_connects_to(
    client: httpx.AsyncClient,
    login: Login,
    container: Container,
    receiver: tuple[int, list[bytes]],
) -> None:
    port, received = receiver
    headers = await login()
    user_id = await _user_id(client, headers)
    hook = await _smuggle(container, user_id, f"http://localhost:{port}/hook")

    await container.notifier.deliver_reminder(reminder_due(user_id))

    async def failed() -> list[dict[str, object]]:
        found = await _deliveries(client, headers, hook)
        return [d for d in found if d["status"] == "failed"]

    [delivery] = await eventually(failed)
    assert delivery["last_error"] == "address not allowed"
    assert [a["outcome"] for a in delivery["attempts"]] == ["address not allowed"]  # type: ignore[union-attr]
    assert received == []


@pytest.mark.parametrize("allow", ["127.0.0.1", "localhost", "127.0.0.0/8,::1"])
async def test_an_operator_may_allow_a_host_or_network(
    settings: Settings,
    clock: object,
    login: Login,
    allow: str,
    receiver: tuple[int, list[bytes]],
) -> None:
    from taskstream.bootstrap import build
    from taskstream.entrypoints.api.app import create_app

    port, received = receiver
    allowed = build(replace_settings(settings, webhook_allow=allow), clock=clock)  # type: ignore[arg-type]
    await allowed.start()
    try:
        transport = httpx.ASGITransport(app=create_app(allowed, migrate=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as http:
            await http.post(
                "/auth/signup",
                json={"email": "cy@example.com", "password": "correct horse battery"},
            )
            token = (
                await http.post(
                    "/auth/login",
                    json={"email": "cy@example.com", "password": "correct horse battery"},
                )
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            created = await http.post(
                "/webhooks", headers=headers, json={"url": f"http://localhost:{port}/hook"}
            )
            assert created.status_code == 201, created.text
            hook = created.json()
            user_id = await _user_id(http, headers)
            await allowed.notifier.deliver_reminder(reminder_due(user_id))

            async def delivered() -> list[dict[str, object]]:
                found = await _deliveries(http, headers, hook["id"])
                return [d for d in found if d["status"] == "delivered"]

            [delivery] = await eventually(delivered)
            assert [a["outcome"] for a in delivery["attempts"]] == ["HTTP 204"]  # type: ignore[union-attr]
            assert len(received) == 1
    finally:
        await allowed.stop()


async def test_the_signature_covers_the_timestamp() -> None:
    from taskstream.app.webhooks import signature

    body = b'{"id":"e1"}'
    signed = signature("whsec_x", "1700000000", body)
    expected = hmac.new(b"whsec_x", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signed == f"sha256={expected}"
    assert signature("whsec_x", "1700000001", body) != signed
