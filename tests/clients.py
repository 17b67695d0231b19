"""The API as a client sees it, over HTTP and WebSockets: users, tasks, the activity log and
live updates. Shared by the tests that run a real server (the embedded process, the
distributed shape behind its gateway)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
from aiohttp import web
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import eventually

Json = dict[str, Any]
PASSWORD: Final = "correct horse battery staple"


# --- moments ---------------------------------------------------------------------------------


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def in_(seconds: float) -> datetime:
    return now() + timedelta(seconds=seconds)


def due_fields(moment: datetime) -> Json:
    """due_date and due_time (UTC, to the second) of a task due at `moment`."""
    moment = moment.astimezone(UTC)
    return {"due_date": moment.date().isoformat(), "due_time": moment.time().isoformat("seconds")}


# --- users and the API ----------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    id: str
    email: str
    headers: dict[str, str] = field(repr=False)

    @property
    def token(self) -> str:
        return self.headers["Authorization"].removeprefix("Bearer ")


async def create(http: httpx.AsyncClient, user: User, title: str, **fields: Any) -> Json:
    response = await http.post("/tasks", headers=user.headers, json={"title": title, **fields})
    assert response.status_code == 201, response.text
    task: Json = response.json()
    return task


async def post(http: httpx.AsyncClient, user: User, path: str, expect: int = 200) -> None:
    response = await http.post(path, headers=user.headers)
    assert response.status_code == expect, response.text


async def reminded_at(http: httpx.AsyncClient, user: User, title: str, seconds: float) -> Json:
    """A task with one absolute reminder `seconds` from now."""
    return await create(http, user, title, reminders=[{"at": iso(in_(seconds))}])


def remind_at(task: Json) -> datetime:
    (reminder,) = task["reminders"]
    return parse(reminder["remind_at"])


async def task_list(http: httpx.AsyncClient, user: User) -> list[Json]:
    response = await http.get("/tasks", headers=user.headers, params={"limit": 200})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None, "more tasks than one page: raise the limit"
    listed: list[Json] = body["data"]
    return listed


async def history(http: httpx.AsyncClient, user: User, task_id: str | None = None) -> list[Json]:
    """The user's activity (of one task) from the audit service, oldest first."""
    params: dict[str, Any] = {"limit": 200}
    if task_id is not None:
        params["task_id"] = task_id
    response = await http.get("/activity", headers=user.headers, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None, "more history than one page: raise the limit"
    return list(reversed(body["data"]))


def reminders_due(entries: list[Json], task_id: str) -> list[Json]:
    return [e for e in entries if e["type"] == "reminder.due" and e["task_id"] == task_id]


def successors(listed: list[Json], series_id: str) -> list[Json]:
    return [t for t in listed if t["series_id"] == series_id and t["occurrence"] > 1]


# --- live updates over the WebSocket --------------------------------------------------------


class Feed:
    """One WebSocket of one user, read in the background into `messages`."""

    def __init__(self, ws: ClientConnection, within: float) -> None:
        self._ws = ws
        self._within = within
        self.messages: list[Json] = []
        self.closed: ConnectionClosed | None = None
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for text in self._ws:
                self.messages.append(json.loads(text))
        except ConnectionClosed as exc:
            self.closed = exc

    def events(self) -> list[Json]:
        return [m["event"] for m in self.messages if "event" in m]

    def ids(self, type_: str) -> list[str]:
        """The event ids of every message of `type_`, in arrival order (repeats included)."""
        return [e["id"] for e in self.events() if e["type"] == type_]

    def notifications(self, task_id: str) -> list[Json]:
        return [
            e["data"]
            for e in self.events()
            if e["type"] == "notification" and e["data"].get("task_id") == task_id
        ]

    def changes(self, change: str, where: Callable[[Json], bool]) -> list[Json]:
        """The tasks of the `task.changed` events of kind `change` that `where` accepts."""
        return [
            e["data"]["task"]
            for e in self.events()
            if e["type"] == "task.changed" and e["data"]["change"] == change and where(e["data"])
        ]

    def changed(self, task_id: str, change: str) -> list[Json]:
        return self.changes(change, lambda d: d["task_id"] == task_id)

    async def until(
        self, probe: Callable[[], list[Json]], count: int = 1, within: float | None = None
    ) -> list[Json]:
        """What `probe` finds once it finds at least `count` things (waiting up to `within`
        seconds, by default the feed's)."""

        async def found() -> list[Json]:
            assert self.closed is None, f"the socket closed: {self.closed!r}"
            got = probe()
            return got if len(got) >= count else []

        result: list[Json] = await eventually(
            found, within=self._within if within is None else within, interval=0.05
        )
        return result

    async def close(self) -> None:
        await asyncio.wait_for(self._ws.close(), 5)
        await asyncio.wait_for(self._reader, 5)


async def open_feed(ws_url: str, user: User, *, within: float) -> Feed:
    """A user's WebSocket, once its hello arrived; `within` bounds each wait on it."""
    ws = await connect(f"{ws_url}?token={user.token}", proxy=None, open_timeout=15)
    feed = Feed(ws, within)
    (hello,) = await feed.until(lambda: feed.messages[:1])
    assert hello["type"] == "hello", hello
    return feed


# --- a webhook receiver ------------------------------------------------------------------------


@dataclass
class Hook:
    """A webhook receiver on loopback: the delivery id of every POST, in order; until
    `released`, a request gets no answer (it is still in flight when its sender dies)."""

    url: str = ""
    deliveries: list[str] = field(default_factory=list)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.deliveries.append(request.headers["X-Taskstream-Delivery"])
        await self.released.wait()
        return web.Response(status=200)


@contextlib.asynccontextmanager
async def webhook_receiver() -> AsyncIterator[Hook]:
    hook = Hook()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    hook.url = f"http://{host}:{port}/hook"
    try:
        yield hook
    finally:
        hook.released.set()
        await runner.cleanup()
