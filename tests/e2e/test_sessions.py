"""A log-out ends the log-in's live sockets across processes: `api` handles the log-out,
`sync` holds the socket behind the gateway, and `session.revoked` travels between them
through the api's outbox, Kafka and the sidecars."""

from __future__ import annotations

import uuid

import httpx
from websockets.exceptions import ConnectionClosed

from tests.clients import PASSWORD, User, create
from tests.conftest import eventually
from tests.e2e.conftest import RECEIVE_TIMEOUT_S, OpenFeed


async def _log_in(http: httpx.AsyncClient, email: str) -> tuple[User, str]:
    """The user of a new log-in, and its refresh token."""
    response = await http.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    pair = response.json()
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    me = await http.get("/users/me", headers=headers)
    assert me.status_code == 200, me.text
    return User(me.json()["id"], email, headers), pair["refresh_token"]


async def test_a_log_out_in_the_api_closes_the_socket_sync_holds_with_4401(
    http: httpx.AsyncClient, feeds: OpenFeed
) -> None:
    email = f"logout-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": PASSWORD, "timezone": "UTC"}
    created = await http.post("/auth/signup", json=body)
    assert created.status_code == 201, created.text
    phone, phone_refresh = await _log_in(http, email)
    laptop, _ = await _log_in(http, email)
    on_phone, on_laptop = await feeds(phone), await feeds(laptop)

    response = await http.post("/auth/logout", json={"refresh_token": phone_refresh})
    assert response.status_code == 204, response.text

    async def closed() -> ConnectionClosed | None:
        return on_phone.closed

    ended = await eventually(closed, within=RECEIVE_TIMEOUT_S)
    assert ended is not None
    assert ended.rcvd is not None
    assert ended.rcvd.code == 4401
    assert ended.rcvd.reason.startswith("session_revoked")
    # The other log-in's socket carries on.
    task = await create(http, laptop, "Still live")
    await on_laptop.until(lambda: on_laptop.changed(task["id"], "task.created"))
