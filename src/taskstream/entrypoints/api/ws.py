"""GET /ws: live updates of the caller's tasks over a WebSocket, from the `sync` service.

Browsers cannot set headers on a WebSocket, so the access token comes as the `token`
query parameter; a missing, invalid or expired token closes the socket with code 4401
(refresh the token, then reconnect). So does, on an open socket, the moment its token
expires (a timer per connection) or its log-in ends (log-out, or a refresh token used
twice): the reason starts with `token_expired` or `session_revoked`. On connect the server sends
`{"type": "hello", "epoch", "offset"}`; then each message is
`{"offset", "epoch", "event": <CloudEvent>}`. A client that reconnects with the `since`
offset and `epoch` of the last message it saw first receives what it missed, or
`{"type": "refetch", "reason"}` when that is no longer possible (reload, then carry on);
a `since` that is not a whole number closes the socket with code 1008. A client too slow to keep up is told to refetch and closed with code 4008;
so is every client of a worker process that lost its link to the owner process (it may
have missed updates).
The client may send `{"type": "ping"}`; the answer is `{"type": "pong"}`. Nothing else it
sends is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Annotated, Final

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from taskstream.app.ports import Clock, Principal
from taskstream.app.services.sync import PONG, Connection, SyncService, refetch
from taskstream.bootstrap import Container
from taskstream.domain.errors import Unauthorized

log = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED: Final = 4401
CLOSE_TOO_FAR_BEHIND: Final = 4008
CLOSE_POLICY_VIOLATION: Final = 1008
EVICTION_GRACE_S: Final = 5.0
"""How long an evicted client's socket may still block the last messages before it is cut."""
_MAX_REASON_BYTES: Final = 123  # a close frame's reason, by RFC 6455
REASON_EXPIRED: Final = "token_expired: Your access token has expired; refresh it, then reconnect."
REASON_ENDED: Final = "session_revoked: This log-in has ended; log in again."

router = APIRouter(tags=["sync"])


def _offset(since: str | None) -> int | None:
    if since is None or len(since) > 18 or not since.isascii() or not since.isdigit():
        return None
    return int(since)


def _reason(text: str) -> str:
    return text.encode()[:_MAX_REASON_BYTES].decode(errors="ignore")


def _refusal(exc: Unauthorized) -> str:
    return _reason(f"{exc.code}: {exc.message}")


def _seconds_left(principal: Principal, clock: Clock) -> float | None:
    if principal.expires_at is None:
        return None
    return (principal.expires_at - clock.now()).total_seconds()


@router.websocket("/ws", name="updates")
async def updates(
    websocket: WebSocket,
    token: Annotated[str | None, Query(description="An access token from `auth-login`.")] = None,
    since: Annotated[
        str | None, Query(description="The offset of the last message received.")
    ] = None,
    epoch: Annotated[
        str | None, Query(description="The epoch of the last message received.")
    ] = None,
) -> None:
    """Live updates of your tasks and your notifications."""
    container: Container = websocket.app.state.container
    await websocket.accept()
    try:
        if not token:
            raise Unauthorized("Pass the access token as ?token=.", code="not_authenticated")
        principal = container.tokens.check(token)
    except Unauthorized as exc:
        await websocket.close(CLOSE_UNAUTHORIZED, _refusal(exc))
        return
    offset = _offset(since)
    if since is not None and offset is None:
        await websocket.close(CLOSE_POLICY_VIOLATION, "since must be a whole number >= 0")
        return
    sync = container.sync
    try:
        connection = sync.connect(principal.user_id, offset, epoch, principal.session)
    except Unauthorized as exc:
        await websocket.close(CLOSE_UNAUTHORIZED, _refusal(exc))
        return
    try:
        await _serve(websocket, connection, sync, _seconds_left(principal, container.clock))
    finally:
        sync.disconnect(connection)


async def _serve(
    websocket: WebSocket, connection: Connection, sync: SyncService, seconds_left: float | None
) -> None:
    """Send and listen until the client leaves, is evicted, or its token or log-in ends;
    leave no task behind."""
    sender = asyncio.create_task(_send(websocket, connection))
    listener = asyncio.create_task(_listen(websocket, connection, sync))
    guard = asyncio.create_task(_guard(connection, seconds_left))
    tasks = (sender, listener, guard)
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception) and not isinstance(
                outcome, WebSocketDisconnect | TimeoutError
            ):
                log.error("WebSocket of user %s failed", connection.user_id, exc_info=outcome)
    ended = outcomes[-1]
    if isinstance(ended, str) and websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(WebSocketDisconnect):  # the client left meanwhile
            await websocket.close(CLOSE_UNAUTHORIZED, ended)


async def _guard(connection: Connection, seconds_left: float | None) -> str:
    """Wait until the token expires or the log-in ends; the reason to close with."""
    try:
        async with asyncio.timeout(seconds_left):
            await connection.ended.wait()
    except TimeoutError:
        return REASON_EXPIRED
    return REASON_ENDED


async def _send(websocket: WebSocket, connection: Connection) -> None:
    """The connection's own sender: its first messages, then live ones until evicted."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(None) as deadline:
        # Once evicted, a socket that does not drain gets a few seconds, not forever.
        connection.on_evict = lambda: deadline.reschedule(loop.time() + EVICTION_GRACE_S)
        for first in connection.first:
            await websocket.send_text(first)
        connection.first = []
        while (text := await connection.next()) is not None:
            await websocket.send_text(text)
        await websocket.send_text(refetch(connection.reason))
        await websocket.close(CLOSE_TOO_FAR_BEHIND, connection.reason)


async def _listen(websocket: WebSocket, connection: Connection, sync: SyncService) -> None:
    """Read until the client leaves, answering pings; anything else is ignored."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if _is_ping(message.get("text")):
            sync.send(connection, PONG)


def _is_ping(text: str | None) -> bool:
    if text is None or len(text) > 100:
        return False
    with contextlib.suppress(ValueError):
        message = json.loads(text)
        return isinstance(message, dict) and message.get("type") == "ping"
    return False
