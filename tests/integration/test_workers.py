"""The link between the worker processes of `taskstream up --workers N`, in one process.

The hub (the owner's end) and a link (a follower's end) talk over a real Unix socket;
ownership is a real lock, held by a real second process where a test needs one. The
whole shape, with processes killed, is in `test_embedded_shape.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from taskstream.adapters.db.database import OutboxSignal
from taskstream.adapters.system import new_id
from taskstream.adapters.workers import Hub, HubLink, hub_address, ownership
from taskstream.app.events import CloudEvent, EventFactory, EventType, Topic
from taskstream.app.services.sync import LINK_LOST, SyncService
from taskstream.bootstrap import build
from taskstream.settings import Settings
from tests.conftest import AdjustableClock, eventually

UPDATES = frozenset({EventType.TASK_CHANGED, EventType.NOTIFICATION})


@dataclass
class Received:
    """A follower's bus: what the link handed over, in order."""

    events: list[CloudEvent] = field(default_factory=list)

    async def publish(self, event: CloudEvent) -> None:
        self.events.append(event)


@dataclass
class Follower:
    link: HubLink
    bus: Received
    outbox_ready: OutboxSignal
    links: list[int]
    """The count of links made, each time one is made."""
    asked: list[bool]
    """Each answer `take_over` gave."""


Start = Callable[..., Awaitable[Follower]]


@pytest.fixture
def address(tmp_path: Path) -> str:
    return hub_address(f"sqlite+aiosqlite:///{tmp_path}/test.db")


@contextlib.asynccontextmanager
async def _running(loop: Hub | HubLink) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(loop.run())
    try:
        yield task
    finally:
        loop.stop()
        await asyncio.wait_for(task, 5)


@pytest.fixture
async def follower(address: str) -> AsyncIterator[Start]:
    running: list[contextlib.AbstractAsyncContextManager[asyncio.Task[None]]] = []

    async def start(*, owns: Callable[[], bool] = lambda: False) -> Follower:
        links: list[int] = []
        asked: list[bool] = []

        async def take_over() -> bool:
            asked.append(owns())
            return asked[-1]

        bus, ready = Received(), OutboxSignal()
        link = HubLink(address, ready, bus, lambda: links.append(len(links) + 1), take_over)
        context = _running(link)
        await context.__aenter__()
        running.append(context)
        return Follower(link, bus, ready, links, asked)

    yield start
    for context in running:
        await context.__aexit__(None, None, None)


def _events() -> EventFactory:
    return EventFactory("tests/workers", new_id, AdjustableClock())


async def test_a_followers_commits_wake_the_owners_relay_loops_of_their_topics(
    address: str, follower: Start
) -> None:
    owner_ready = OutboxSignal()
    woken = {topic: owner_ready.listen(topic) for topic in Topic}
    hub = Hub(address, owner_ready, UPDATES)
    async with _running(hub):
        await hub.listening.wait()
        worker = await follower()
        await asyncio.wait_for(worker.link.linked.wait(), 5)
        worker.outbox_ready.set({Topic.TASK_EVENTS, Topic.TASK_UPDATES})

        async def awake() -> set[Topic]:
            return {topic for topic, event in woken.items() if event.is_set()}

        await eventually(awake, within=5)
        assert await awake() == {Topic.TASK_EVENTS, Topic.TASK_UPDATES}
    assert worker.links == [1]
    assert worker.asked == []  # the hub answered: no one asked to take over


async def test_the_owner_forwards_each_update_to_every_follower_in_order(
    address: str, follower: Start
) -> None:
    hub = Hub(address, OutboxSignal(), UPDATES)
    events = _events()
    sent = [events.make(EventType.TASK_CHANGED, "ada", {"n": n}) for n in range(50)]
    async with _running(hub):
        await hub.listening.wait()
        workers = [await follower() for _ in range(2)]
        await eventually(lambda: hub.links() == 2, within=5)
        for event in sent:
            await hub.forward(event)

        for worker in workers:
            await eventually(lambda w=worker: len(w.bus.events) == len(sent), within=5)
            assert [e.to_dict() for e in worker.bus.events] == [e.to_dict() for e in sent]
    assert [handles.types for handles in hub.subscriptions()] == [UPDATES]
    assert [handles.topic for handles in hub.subscriptions()] == [Topic.TASK_UPDATES]


async def test_a_follower_whose_link_breaks_links_again_and_says_so_each_time(
    address: str, follower: Start
) -> None:
    hub = Hub(address, OutboxSignal(), UPDATES)
    async with _running(hub):
        await hub.listening.wait()
        worker = await follower()
        await asyncio.wait_for(worker.link.linked.wait(), 5)
    # The owner is gone and this process may not take over: it asks, then waits.
    await eventually(lambda: len(worker.asked) >= 2, within=5)
    assert not worker.link.linked.is_set()
    assert set(worker.asked) == {False}

    hub = Hub(address, OutboxSignal(), UPDATES)
    async with _running(hub):
        await asyncio.wait_for(worker.link.linked.wait(), 5)
        assert worker.links == [1, 2]  # each link made is one its sync service restarts on
        await hub.forward(_events().make(EventType.NOTIFICATION, "ada", {}))
        await eventually(lambda: len(worker.bus.events) == 1, within=5)


async def test_a_follower_that_takes_over_stops_linking(address: str, follower: Start) -> None:
    worker = await follower(owns=lambda: True)
    await eventually(lambda: worker.asked == [True], within=5)
    hub = Hub(address, OutboxSignal(), UPDATES)
    async with _running(hub):
        await hub.listening.wait()
        await asyncio.sleep(0.3)  # longer than a retry: it would have linked by now
        assert hub.links() == 0
    assert worker.links == []


async def test_the_owner_drops_a_follower_that_does_not_read_and_keeps_the_others(
    address: str, follower: Start
) -> None:
    hub = Hub(address, OutboxSignal(), UPDATES, max_backlog=64 * 1024)
    events = _events()
    async with _running(hub):
        await hub.listening.wait()
        worker = await follower()
        await asyncio.wait_for(worker.link.linked.wait(), 5)
        # A raw client that links and never reads a byte.
        mute_reader, mute = await asyncio.open_unix_connection(sock=_unix(address))
        await eventually(lambda: hub.links() == 2, within=5)
        padding = "x" * 16 * 1024
        for n in range(400):
            await hub.forward(events.make(EventType.NOTIFICATION, "ada", {"n": n, "p": padding}))
            await asyncio.sleep(0)
            if hub.links() == 1:
                break
        assert hub.links() == 1, "the mute follower was never dropped"
        await eventually(lambda: len(worker.bus.events) == n + 1, within=5)
        assert [e.data["n"] for e in worker.bus.events] == list(range(n + 1))
        mute.close()
        del mute_reader


def _unix(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(address)
    return sock


def test_one_process_at_a_time_owns_the_work_and_the_next_takes_it_when_it_dies(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/test.db"
    program = (
        "import time\n"
        "from pathlib import Path\n"
        "from taskstream.adapters.workers import ownership\n"
        f"assert ownership({url!r}, Path({str(tmp_path)!r})).take()\n"
        "print('owner', flush=True)\n"
        "time.sleep(60)\n"
    )
    command = [sys.executable, "-c", program]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as holder:  # noqa: S603
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline() == "owner\n"
            assert not ownership(url, tmp_path).take()
            assert ownership(f"{url}.other", tmp_path).take()  # another database: another owner
        finally:
            holder.kill()
    assert ownership(url, tmp_path).take()
    assert not ownership(url, tmp_path).take()


async def test_a_restarted_sync_service_tells_every_client_to_refetch_in_a_new_epoch() -> None:
    sync = SyncService(8, 8, epoch="e1")
    events = _events()
    await sync.push(events.make(EventType.NOTIFICATION, "ada", {}))
    ada = sync.connect("ada", since=None, epoch=None, session="s1")
    bob = sync.connect("bob", since=None, epoch=None)
    revoked = events.make(EventType.SESSION_REVOKED, "cy", {"session": "cy-session"})
    await sync.end_session(revoked)

    sync.restart()

    assert sync.epoch != "e1"
    for connection in (ada, bob):
        assert connection.evicted
        assert connection.reason == LINK_LOST
        assert await connection.next() is None
    assert sync.streams() == 0
    assert sync.offset("ada") == 0
    again = sync.connect("ada", since=1, epoch="e1")
    assert [m for m in again.first if "refetch" in m] != []  # an offset of the old epoch
    with pytest.raises(Exception, match="ended"):
        sync.connect("cy", since=None, epoch=None, session="cy-session")


class _Broken:
    async def run(self) -> None:
        raise RuntimeError("out of order")

    def stop(self) -> None:
        pass


async def test_a_background_loop_that_fails_says_so_at_once(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A follower whose link failed for good would otherwise go unnoticed until it stops."""
    container = build(settings)
    container.loops.append(_Broken())
    await container.start()
    try:

        async def logged() -> list[str]:
            return [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]

        assert await eventually(logged, within=5) == ["the _Broken loop stopped on an error"]
    finally:
        await container.stop()
