"""Several worker processes of the embedded shape, over one database.

`taskstream up --workers N` serves HTTP from N processes that share the listening socket
(uvicorn's supervisor starts a new one when one dies). One of them, the *owner*, runs what
must run once: the outbox relay, the scheduler and the consumers. It holds an exclusive
lock on a file beside the data for as long as it lives, so when it dies the process
started in its place takes over. The others serve requests and WebSockets. Each is linked
to the owner by a Unix socket, the *hub*, over which go two kinds of lines:

- from a worker, the topic of each commit that stored events: the owner's relay publishes
  them at once instead of at its next poll;
- from the owner, every `task-updates` event, as JSON: the worker's own sync service
  pushes it to the WebSockets that worker holds.

The hub's address is in Linux's abstract namespace (no file, no length limit); each end
checks that the other runs as the same user. A worker that loses its link cannot know
what it missed: its sync service starts a new epoch and tells its clients to refetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import socket
import struct
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Final

from taskstream.adapters.db.database import OutboxSignal, private_dir
from taskstream.app.events import CloudEvent, EventType, Topic
from taskstream.app.ports import EventBus
from taskstream.app.services import Handles

log = logging.getLogger(__name__)

MAX_BACKLOG: Final = 16 * 1024 * 1024
"""Bytes a worker may leave unread on the hub before the owner drops its link."""
MAX_LINE: Final = 1024 * 1024
"""The longest line (an event) either end reads."""
_RETRY_S: Final = (0.05, 1.0)
"""The first and the longest pause between a worker's attempts to reach the hub."""


class Ownership:
    """Who runs the relay, the scheduler and the consumers: the process that holds the lock
    on `path` (`take` is True in exactly one process at a time, until it exits)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    def take(self) -> bool:
        fd = os.open(self._path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd  # held, open, for the life of the process
        return True


def _key(database_url: str) -> str:
    return hashlib.sha256(database_url.encode()).hexdigest()[:24]


def ownership(database_url: str, data_dir: Path) -> Ownership:
    """Who owns the workers over `database_url`: a lock file in the (private) `data_dir`."""
    private_dir(data_dir)
    return Ownership(data_dir / f"owner-{_key(database_url)}.lock")


def hub_address(database_url: str) -> str:
    """The abstract Unix socket of the hub of the workers over `database_url`."""
    return f"\0taskstream-hub-{_key(database_url)}"


def _same_user(sock: socket.socket) -> bool:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return bool(uid == os.getuid())


class Hub:
    """The owner's end: wakes the relay for the workers' commits, forwards the updates to
    them. A background loop (`run`, `stop`) and a consumer of `task-updates`."""

    name = "workers"

    def __init__(
        self,
        address: str,
        outbox_ready: OutboxSignal,
        types: frozenset[EventType],
        *,
        max_backlog: int = MAX_BACKLOG,
    ) -> None:
        self._address = address
        self._outbox_ready = outbox_ready
        self._types = types
        self._max_backlog = max_backlog
        self._links: set[asyncio.StreamWriter] = set()
        self._stopping = asyncio.Event()
        self.listening = asyncio.Event()

    def subscriptions(self) -> list[Handles]:
        name = f"{self.name}.{Topic.TASK_UPDATES}"
        return [Handles(name, Topic.TASK_UPDATES, self._types, self.forward)]

    async def run(self) -> None:
        server = await asyncio.start_unix_server(self._serve, self._address, limit=MAX_LINE)
        self.listening.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            for link in self._links:
                link.close()
            await server.wait_closed()

    def stop(self) -> None:
        self._stopping.set()

    def links(self) -> int:
        return len(self._links)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not _same_user(writer.get_extra_info("socket")):
            writer.close()
            return
        self._links.add(writer)
        try:
            while line := await reader.readline():
                with contextlib.suppress(ValueError):  # not a topic: nothing to wake
                    self._outbox_ready.set([Topic(line.decode().strip())])
        except ConnectionError:
            pass
        finally:
            self._links.discard(writer)
            writer.close()

    async def forward(self, event: CloudEvent) -> None:
        """Send `event` to every worker; drop the link of one that does not read (it comes
        back, and tells its clients to refetch)."""
        line = event.to_json() + b"\n"
        for link in list(self._links):
            if link.transport.get_write_buffer_size() > self._max_backlog:
                log.warning("a worker fell %d bytes behind; its link is dropped", self._max_backlog)
                self._links.discard(link)
                link.close()
            else:
                link.write(line)


class HubLink:
    """A worker's end: tells the owner about its commits, and hands the updates it receives
    to the worker's bus (where its sync service takes them).

    A background loop that keeps the link up: `on_link` runs each time a link is made (the
    first one included). When the hub does not answer, `take_over` is asked whether this
    process now owns the work (the owner died); if it does, the loop ends."""

    def __init__(
        self,
        address: str,
        outbox_ready: OutboxSignal,
        bus: EventBus,
        on_link: Callable[[], None],
        take_over: Callable[[], Awaitable[bool]],
    ) -> None:
        self._address = address
        self._bus = bus
        self._on_link = on_link
        self._take_over = take_over
        self._writer: asyncio.StreamWriter | None = None
        self._stopping = asyncio.Event()
        self.linked = asyncio.Event()
        outbox_ready.also(self._committed)

    def _committed(self, topics: Iterable[Topic]) -> None:
        if self._writer is not None:
            self._writer.write("".join(f"{topic.value}\n" for topic in topics).encode())

    def stop(self) -> None:
        self._stopping.set()
        if self._writer is not None:
            self._writer.close()

    async def run(self) -> None:
        pause = _RETRY_S[0]
        while not self._stopping.is_set():
            try:
                reader, writer = await _connect(self._address)
            except OSError:  # no owner yet, or it is gone
                if self._stopping.is_set() or await self._take_over():
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), pause)
                pause = min(pause * 2, _RETRY_S[1])
                continue
            if not _same_user(writer.get_extra_info("socket")):
                writer.close()
                raise PermissionError(f"the hub at {self._address!r} runs as another user")
            pause = _RETRY_S[0]
            self._writer = writer
            self._on_link()
            self.linked.set()
            try:
                await self._receive(reader)
            finally:
                self.linked.clear()
                self._writer = None
                writer.close()
            if not self._stopping.is_set():
                log.warning("the link to the owner process was lost; linking again")

    async def _receive(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(ConnectionError):
            while line := await reader.readline():
                await self._bus.publish(CloudEvent.from_json(line))


async def _connect(address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    # Connected first, then handed over: uvloop cannot connect to an abstract address.
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, address)
    except BaseException:
        sock.close()
        raise
    return await asyncio.open_unix_connection(sock=sock, limit=MAX_LINE)
