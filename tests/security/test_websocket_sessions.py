"""An open WebSocket ends with its token: closed with 4401 ("log in again") when the access
token it was opened with expires, or when the log-in it belongs to is revoked.

The API runs under uvicorn on a loopback port (the `server` fixture): the tests hold real
sockets with the `websockets` client and log out through the HTTP API.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from taskstream.bootstrap import Container
from tests.conftest import AdjustableClock

PASSWORD = "correct horse battery"
WAIT_S = 10.0


@pytest.fixture
async def sockets() -> AsyncIterator[list[ClientConnection]]:
    """The sockets a test opens, closed at its end whatever happened."""
    opened: list[ClientConnection] = []
    yield opened
    for ws in opened:
        await asyncio.wait_for(ws.close(), 5)


async def _sign_up(client: httpx.AsyncClient, email: str) -> None:
    response = await client.post("/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text


async def _log_in(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    response = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


async def _open(server: str, token: str, opened: list[ClientConnection]) -> ClientConnection:
    ws = await connect(f"{server}?token={token}", proxy=None, open_timeout=WAIT_S)
    opened.append(ws)
    return ws


async def _next(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
    return message


async def _closed(ws: ClientConnection) -> tuple[int, str]:
    """The close code and reason the server sends next (no other message may come first)."""
    with pytest.raises(ConnectionClosed) as closed:
        await _next(ws)
    assert closed.value.rcvd is not None, "the server did not close the socket"
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_a_socket_is_closed_with_4401_once_its_token_expires(
    server: str,
    client: httpx.AsyncClient,
    clock: AdjustableClock,
    container: Container,
    sockets: list[ClientConnection],
) -> None:
    await _sign_up(client, "ada@example.com")
    # A token issued as if a whole lifetime but two seconds ago expires in about two seconds.
    back = container.tokens.lifetime - timedelta(seconds=2)
    clock.advance(-back)
    pair = await _log_in(client, "ada@example.com")
    clock.advance(back)
    expires_at = jwt.decode(pair["access_token"], options={"verify_signature": False})["exp"]
    ws = await _open(server, pair["access_token"], sockets)
    assert (await _next(ws))["type"] == "hello"
    await ws.send('{"type":"ping"}')
    assert await _next(ws) == {"type": "pong"}  # open and served until the token expires

    code, reason = await _closed(ws)
    closed_at = time.time()
    assert code == 4401
    assert reason.startswith("token_expired")
    assert expires_at - 0.5 <= closed_at < expires_at + 3


async def test_a_socket_is_closed_with_4401_when_its_log_in_ends(
    server: str, client: httpx.AsyncClient, sockets: list[ClientConnection]
) -> None:
    await _sign_up(client, "ada@example.com")
    phone, laptop = (
        await _log_in(client, "ada@example.com"),
        await _log_in(client, "ada@example.com"),
    )
    on_phone = await _open(server, phone["access_token"], sockets)
    on_laptop = await _open(server, laptop["access_token"], sockets)
    for ws in (on_phone, on_laptop):
        assert (await _next(ws))["type"] == "hello"

    response = await client.post("/auth/logout", json={"refresh_token": phone["refresh_token"]})
    assert response.status_code == 204, response.text

    code, reason = await _closed(on_phone)
    assert code == 4401
    assert reason.startswith("session_revoked")
    # The access token is still within its lifetime, but its log-in cannot open a new socket.
    again = await _open(server, phone["access_token"], sockets)
    code, reason = await _closed(again)
    assert (code, reason.split(":")[0]) == (4401, "session_revoked")
    # The other log-in of the same user carries on.
    headers = {"Authorization": f"Bearer {laptop['access_token']}"}
    response = await client.post("/tasks", headers=headers, json={"title": "Still live"})
    assert response.status_code == 201, response.text
    update = await _next(on_laptop)
    assert update["event"]["data"]["task"]["title"] == "Still live"


async def test_a_socket_is_closed_with_4401_when_a_reused_refresh_token_ends_its_log_in(
    server: str, client: httpx.AsyncClient, sockets: list[ClientConnection]
) -> None:
    await _sign_up(client, "ada@example.com")
    stolen = await _log_in(client, "ada@example.com")
    response = await client.post("/auth/refresh", json={"refresh_token": stolen["refresh_token"]})
    assert response.status_code == 200, response.text
    ws = await _open(server, response.json()["access_token"], sockets)
    assert (await _next(ws))["type"] == "hello"

    reused = await client.post("/auth/refresh", json={"refresh_token": stolen["refresh_token"]})
    assert reused.status_code == 401, reused.text

    code, reason = await _closed(ws)
    assert code == 4401
    assert reason.startswith("session_revoked")
