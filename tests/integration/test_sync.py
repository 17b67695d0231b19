"""The `sync` service and GET /ws: live updates over real WebSockets, per user.

WebSockets need a real server: uvicorn runs in the test's event loop on a loopback port,
over the started `container`, and the tests talk to it with the `websockets` client.
Settings are small here (a buffer of 3 messages, queues of 4) so that falling behind and
falling out of the buffer are quick to provoke.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from taskstream.adapters.system import new_id
from taskstream.app.events import CloudEvent, EventFactory, EventType
from taskstream.app.services.sync import SyncService
from taskstream.bootstrap import Container
from taskstream.settings import Settings
from tests.conftest import AdjustableClock, eventually
from tests.integration.conftest import Login

BUFFER = 3
QUEUE = 4
RECEIVE_TIMEOUT_S = 10.0
QUIET_S = 0.3  # after a later marker arrived, how long an unwanted message may still show

Message = dict[str, Any]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"sync_buffer_size": BUFFER, "sync_queue_size": QUEUE})


@pytest.fixture
def sync(container: Container) -> SyncService:
    return container.sync


@dataclass
class User:
    id: str
    token: str
    headers: dict[str, str]


MakeUser = Callable[[str], Awaitable[User]]


@pytest.fixture
def user(login: Login, container: Container) -> MakeUser:
    async def make(email: str) -> User:
        headers = await login(email)
        token = headers["Authorization"].removeprefix("Bearer ")
        return User(container.auth.authenticate(token).user_id, token, headers)

    return make


def _events(container: Container) -> EventFactory:
    return EventFactory("tests/sync", new_id, container.clock)


_opened: list[ClientConnection] = []


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    """Close every client a test opened, even when it fails half-way."""
    yield
    while _opened:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(_opened.pop().close(), 5)


async def _open(url: str, *, sock: socket.socket | None = None, **params: Any) -> ClientConnection:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    options: dict[str, Any] = {}
    if sock is not None:
        # A client that never reads: the library stops reading the socket after one
        # message, and the small kernel buffer soon fills.
        options = {"sock": sock, "compression": None, "max_queue": 1}
    ws = await connect(f"{url}?{query}", proxy=None, open_timeout=RECEIVE_TIMEOUT_S, **options)
    _opened.append(ws)
    return ws


async def _next(ws: ClientConnection, within: float = RECEIVE_TIMEOUT_S) -> Message:
    message: Message = json.loads(await asyncio.wait_for(ws.recv(), within))
    return message


async def _hello(ws: ClientConnection) -> Message:
    hello = await _next(ws)
    assert hello["type"] == "hello", hello
    return hello


async def _create(client: httpx.AsyncClient, owner: User, title: str) -> str:
    response = await client.post("/tasks", headers=owner.headers, json={"title": title})
    assert response.status_code == 201, response.text
    task_id: str = response.json()["id"]
    return task_id


async def _nothing_more(ws: ClientConnection) -> None:
    try:
        extra = await asyncio.wait_for(ws.recv(), QUIET_S)
    except TimeoutError:
        return
    pytest.fail(f"unexpected message: {extra!r}")


def _live_tasks() -> list[asyncio.Task[Any]]:
    """The per-connection tasks of the WebSocket route still running."""
    names = {"_send", "_listen", "_guard"}
    return [t for t in asyncio.all_tasks() if t.get_coro().__name__ in names]  # type: ignore[union-attr]


async def test_a_task_write_reaches_every_socket_of_its_owner_and_no_one_else(
    server: str, client: httpx.AsyncClient, sync: SyncService, user: MakeUser
) -> None:
    ada, bob = await user("ada@example.com"), await user("bob@example.com")
    ada_phone = await _open(server, token=ada.token)
    ada_laptop = await _open(server, token=ada.token)
    bob_phone = await _open(server, token=bob.token)
    for ws in (ada_phone, ada_laptop, bob_phone):
        hello = await _hello(ws)
        assert hello == {"type": "hello", "epoch": sync.epoch, "offset": 0}

    task_id = await _create(client, ada, "Buy milk")
    response = await client.post(f"/tasks/{task_id}/complete", headers=ada.headers)
    assert response.status_code == 200, response.text

    for ws in (ada_phone, ada_laptop):
        created, completed = await _next(ws), await _next(ws)
        assert [created["offset"], completed["offset"]] == [1, 2]
        assert {created["epoch"], completed["epoch"]} == {sync.epoch}
        assert created["event"]["type"] == "task.changed"
        assert created["event"]["data"]["change"] == "task.created"
        assert created["event"]["data"]["task"]["title"] == "Buy milk"
        assert completed["event"]["data"]["change"] == "task.completed"
        assert completed["event"]["userid"] == ada.id

    # Bob's own write comes after Ada's were delivered: anything of Ada's would precede it.
    await _create(client, bob, "Walk the dog")
    marker = await _next(bob_phone)
    assert marker["offset"] == 1
    assert marker["event"]["data"]["task"]["title"] == "Walk the dog"
    assert marker["event"]["userid"] == bob.id
    await _nothing_more(bob_phone)
    await _nothing_more(ada_phone)

    for ws in (ada_phone, ada_laptop, bob_phone):
        await ws.close()
    await eventually(lambda: sync.connections(ada.id) + sync.connections(bob.id) == 0)
    await eventually(lambda: not _live_tasks())


@pytest.mark.parametrize("token", [None, "", "not-a-token", "eyJhbGciOiJIUzI1NiJ9.e30.x"])
async def test_a_missing_or_bad_token_is_refused_with_4401(
    server: str, sync: SyncService, token: str | None
) -> None:
    params: dict[str, Any] = {} if token is None else {"token": token}
    ws = await _open(server, **params)
    with pytest.raises(ConnectionClosed) as closed:
        await _next(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
    assert closed.value.rcvd.reason.startswith(("not_authenticated", "token_invalid"))
    assert sync.pushed == 0


@pytest.mark.parametrize("since", ["abc", "-1", "1.5", "9" * 30])
async def test_a_malformed_offset_is_refused_with_1008(
    server: str, user: MakeUser, since: str
) -> None:
    ada = await user("ada@example.com")
    ws = await _open(server, token=ada.token, since=since, epoch="e")
    with pytest.raises(ConnectionClosed) as closed:
        await _next(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert "since" in closed.value.rcvd.reason


async def test_a_token_of_another_signing_key_is_refused(server: str, user: MakeUser) -> None:
    ada = await user("ada@example.com")
    header, claims, _signature = ada.token.split(".")
    ws = await _open(server, token=f"{header}.{claims}.{'A' * 43}")
    with pytest.raises(ConnectionClosed) as closed:
        await _next(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_a_client_that_reconnects_with_its_last_offset_gets_exactly_what_it_missed(
    server: str, client: httpx.AsyncClient, sync: SyncService, user: MakeUser
) -> None:
    ada = await user("ada@example.com")
    ws = await _open(server, token=ada.token)
    await _hello(ws)
    await _create(client, ada, "first")
    last = await _next(ws)
    assert last["offset"] == 1
    await ws.close()

    await _create(client, ada, "second")
    await _create(client, ada, "third")
    await eventually(lambda: sync.offset(ada.id) == 3)

    ws = await _open(server, token=ada.token, since=last["offset"], epoch=last["epoch"])
    assert await _hello(ws) == {"type": "hello", "epoch": sync.epoch, "offset": 3}
    missed = [await _next(ws), await _next(ws)]
    assert [m["offset"] for m in missed] == [2, 3]
    assert [m["event"]["data"]["task"]["title"] for m in missed] == ["second", "third"]
    await _create(client, ada, "fourth")
    live = await _next(ws)
    assert live["offset"] == 4
    assert live["event"]["data"]["task"]["title"] == "fourth"
    await _nothing_more(ws)

    # Up to date: nothing to replay, and no refetch either.
    again = await _open(server, token=ada.token, since=4, epoch=sync.epoch)
    assert (await _hello(again))["offset"] == 4
    await _nothing_more(again)
    await ws.close()
    await again.close()


@pytest.mark.parametrize(
    ("since", "epoch", "reason"),
    [
        (1, None, "too old"),  # 5 messages later, the buffer holds only 3 to 5
        (0, None, "too old"),
        (5, "another-epoch", "another epoch"),  # e.g. the server restarted
        (9, None, "unknown offset"),  # from the future
        (5, "", "together"),  # since without epoch
    ],
)
async def test_a_client_whose_gap_cannot_be_replayed_is_told_to_refetch(
    server: str,
    container: Container,
    sync: SyncService,
    user: MakeUser,
    since: int,
    epoch: str | None,
    reason: str,
) -> None:
    ada = await user("ada@example.com")
    events = _events(container)
    for n in range(5):
        await container.bus.publish(events.make(EventType.NOTIFICATION, ada.id, {"n": n}))
    assert sync.offset(ada.id) == 5
    params: dict[str, Any] = {"token": ada.token, "since": since}
    if epoch != "":
        params["epoch"] = sync.epoch if epoch is None else epoch
    ws = await _open(server, **params)
    assert (await _hello(ws))["offset"] == 5
    told = await _next(ws)
    assert told["type"] == "refetch"
    assert reason in told["reason"]
    await container.bus.publish(events.make(EventType.NOTIFICATION, ada.id, {"n": 5}))
    live = await _next(ws)
    assert live["offset"] == 6
    assert live["event"]["data"] == {"n": 5}
    await ws.close()


async def test_a_redelivered_event_is_pushed_once(
    server: str, container: Container, sync: SyncService, user: MakeUser
) -> None:
    ada = await user("ada@example.com")
    ws = await _open(server, token=ada.token)
    await _hello(ws)
    events = _events(container)
    event = events.make(EventType.NOTIFICATION, ada.id, {"title": "Call mum"})
    await container.bus.publish(event)
    await container.bus.publish(CloudEvent.from_json(event.to_json()))  # as the relay would
    await container.bus.publish(events.make(EventType.NOTIFICATION, ada.id, {"title": "marker"}))

    first, second = await _next(ws), await _next(ws)
    assert (first["offset"], first["event"]["id"]) == (1, event.id)
    assert (second["offset"], second["event"]["data"]) == (2, {"title": "marker"})
    assert sync.duplicates == 1
    await _nothing_more(ws)
    await ws.close()


async def test_a_client_too_far_behind_is_told_to_refetch_and_closed_while_others_keep_up(
    server: str, container: Container, sync: SyncService, user: MakeUser
) -> None:
    ada = await user("ada@example.com")
    fast = await _open(server, token=ada.token)
    await _hello(fast)
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    host, port = server.removeprefix("ws://").split("/")[0].split(":")
    await asyncio.get_running_loop().sock_connect(raw, (host, int(port)))
    slow = await _open(server, sock=raw, token=ada.token)
    assert sync.connections(ada.id) == 2

    events = _events(container)
    padding = "x" * 32_768
    received: list[int] = []
    for n in range(1, 1001):
        event = events.make(EventType.NOTIFICATION, ada.id, {"n": n, "padding": padding})
        await asyncio.wait_for(container.bus.publish(event), 5.0)  # never waits on a socket
        message = await _next(fast, within=5.0)  # promptly, whatever the slow one does
        received.append(message["offset"])
        if sync.evictions:
            break
    assert sync.evictions == 1, "the slow client was never evicted"
    assert sync.connections(ada.id) == 1
    assert received == list(range(1, len(received) + 1))

    # The slow client now reads: what got through, then refetch, then the close.
    got: list[Message] = []

    async def read_to_the_end() -> None:
        while True:
            got.append(await _next(slow))

    with pytest.raises(ConnectionClosed) as closed:
        await read_to_the_end()
    assert got[0]["type"] == "hello"
    offsets = [m["offset"] for m in got[1:-1]]
    assert offsets == list(range(1, len(offsets) + 1))
    assert len(offsets) < len(received)
    assert got[-1] == {"type": "refetch", "reason": "too far behind"}
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4008

    # The fast one is still served.
    await container.bus.publish(events.make(EventType.NOTIFICATION, ada.id, {"n": "after"}))
    assert (await _next(fast))["event"]["data"] == {"n": "after"}
    await fast.close()
    await eventually(lambda: sync.connections(ada.id) == 0)
    await eventually(lambda: not _live_tasks())


async def test_pings_are_answered(server: str, user: MakeUser) -> None:
    ada = await user("ada@example.com")
    ws = await _open(server, token=ada.token)
    await _hello(ws)
    await ws.send("not json")
    await ws.send(json.dumps({"type": "ping"}))
    assert await _next(ws) == {"type": "pong"}
    await ws.close()


async def test_idle_users_beyond_the_cap_keep_only_their_offset() -> None:
    sync = SyncService(BUFFER, QUEUE, epoch="e1", idle_streams=2)
    events = EventFactory("tests/sync", new_id, AdjustableClock())
    for user_id in ("ada", "bob", "cy"):  # connected once, none now: ada is the least recent
        sync.disconnect(sync.connect(user_id, since=None, epoch=None))
        await sync.push(events.make(EventType.NOTIFICATION, user_id, {"for": user_id}))
    listening = sync.connect("dan", since=None, epoch=None)
    for _ in range(3):  # a user with a connection is never forgotten
        await sync.push(events.make(EventType.NOTIFICATION, "dan", {}))
    assert sync.streams() == 3  # bob, cy, dan

    ada = sync.connect("ada", since=0, epoch="e1")
    assert [json.loads(m) for m in ada.first] == [
        {"type": "hello", "epoch": "e1", "offset": 1},
        {"type": "refetch", "reason": "too old"},
    ]
    cy = sync.connect("cy", since=0, epoch="e1")
    assert [json.loads(m).get("offset") for m in cy.first] == [1, 1]  # hello, then offset 1
    assert json.loads(cy.first[1])["event"]["data"] == {"for": "cy"}
    assert sync.connections("dan") == 1
    assert listening.pending() == 3
    await sync.push(events.make(EventType.NOTIFICATION, "ada", {}))
    assert json.loads(await ada.next() or "{}")["offset"] == 2


async def test_messages_are_kept_from_a_users_first_connection_on() -> None:
    """Offsets reach a client only through a connection: before the first one, a stream
    numbers its messages but keeps none (nobody could ask for them)."""
    sync = SyncService(BUFFER, QUEUE, epoch="e1")
    events = EventFactory("tests/sync", new_id, AdjustableClock())
    await sync.push(events.make(EventType.NOTIFICATION, "ada", {"n": 1}))
    assert sync.offset("ada") == 1

    first = sync.connect("ada", since=0, epoch="e1")  # an offset no connection gave out
    assert [json.loads(m) for m in first.first] == [
        {"type": "hello", "epoch": "e1", "offset": 1},
        {"type": "refetch", "reason": "too old"},
    ]
    sync.disconnect(first)
    for n in (2, 3):
        await sync.push(events.make(EventType.NOTIFICATION, "ada", {"n": n}))
    again = sync.connect("ada", since=1, epoch="e1")
    assert [json.loads(m).get("offset") for m in again.first] == [3, 2, 3]  # hello, 2, 3
    assert [json.loads(m)["event"]["data"] for m in again.first[1:]] == [{"n": 2}, {"n": 3}]
