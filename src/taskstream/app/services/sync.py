"""The `sync` service: pushes what each user's clients must see to their live connections.

It consumes `task-updates` (`task.changed`, `notification`) and keeps, per user, a stream:
an offset that grows by one for every message, a bounded buffer of recent messages, the ids
of recent events (a redelivered event is pushed once and takes no new offset) and the
user's open connections. Offsets are only meaningful within one `epoch`, a random id drawn
when the process starts: a client that comes back with an offset of another epoch, or one
older than the buffer, is told to refetch instead of being replayed a partial history.
A client learns offsets only from its connections, so a stream buffers messages from its
first connection on: a user who never connects (an API or MCP client, the assistant) costs
an offset and recent event ids, not a buffer of messages nobody can ask for.

The handler never awaits a socket: it puts the message, serialized once, into each
connection's bounded queue and returns; each connection has its own sender (see
`entrypoints/api/ws.py`). A connection whose queue is full is evicted: its queue is
emptied, it is told to refetch and closed, and the other connections carry on.

A connection belongs to the log-in (session) whose access token opened it. When that
session is revoked (`session.revoked`, from `api`'s outbox, whichever process logged out)
its connections are ended, and the session is remembered (the last `revoked` ones), so its
access tokens, valid until they expire, cannot open new ones here.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import pydantic_core

from taskstream.app.events import CloudEvent, EventType, Topic
from taskstream.app.ports import Drop
from taskstream.app.services import Handles
from taskstream.domain.errors import Unauthorized

PUSHED: Final = frozenset({EventType.TASK_CHANGED, EventType.NOTIFICATION})
REVOKED: Final = frozenset({EventType.SESSION_REVOKED})
TOO_FAR_BEHIND: Final = "too far behind"
LINK_LOST: Final = "the server may have missed updates"


def _text(message: dict[str, Any]) -> str:
    # pydantic-core: a quarter of the json module's time (every process encodes each event)
    return pydantic_core.to_json(message).decode()


def refetch(reason: str) -> str:
    """The message telling a client to reload its data: what it missed is not replayable."""
    return _text({"type": "refetch", "reason": reason})


PONG: Final = _text({"type": "pong"})


class Connection:
    """One live client: the messages to send first, then a bounded queue of live ones.

    The sender takes `first`, then `await next()` until it returns None: the connection was
    evicted (it fell too far behind, or the server lost track) and must be told
    `refetch(reason)` and closed.
    `ended` is set when its session is revoked: the socket must be closed at once.
    """

    __slots__ = (
        "_queue",
        "ended",
        "evicted",
        "first",
        "on_evict",
        "reason",
        "session",
        "user_id",
    )

    def __init__(
        self, user_id: str, first: list[str], queue_size: int, session: str | None = None
    ) -> None:
        self.user_id = user_id
        self.session = session
        self.first = first
        self.ended = asyncio.Event()
        self.evicted = False
        self.reason = TOO_FAR_BEHIND
        """Why it was evicted."""
        self.on_evict: Callable[[], None] | None = None
        """Called once on eviction, e.g. to bound how long the sender may still block."""
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(queue_size)

    async def next(self) -> str | None:
        """The next message to send; None once evicted."""
        return await self._queue.get()

    def offer(self, text: str) -> bool:
        """Queue a message without waiting; False (and evicted) when the queue is full."""
        if self.evicted:
            return False
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            self.evict(TOO_FAR_BEHIND)
            return False
        return True

    def pending(self) -> int:
        """Live messages queued, not sent yet."""
        return self._queue.qsize()

    def evict(self, reason: str) -> None:
        if self.evicted:
            return
        self.evicted = True
        self.reason = reason
        while not self._queue.empty():  # what it has not received yet, it will refetch
            self._queue.get_nowait()
        self._queue.put_nowait(None)
        if self.on_evict is not None:
            self.on_evict()


@dataclass(slots=True)
class _Stream:
    """One user's messages: offsets, recent messages, recent event ids, connections."""

    buffer_size: int
    remembered: int
    offset: int
    recent: deque[str] = field(init=False)
    seen: dict[str, None] = field(default_factory=dict)  # insertion-ordered: oldest first
    connections: set[Connection] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.recent = deque(maxlen=0)  # until the first connection

    def attach(self, connection: Connection) -> None:
        if self.recent.maxlen == 0:
            self.recent = deque(maxlen=self.buffer_size)
        self.connections.add(connection)

    def is_new(self, event_id: str) -> bool:
        if event_id in self.seen:
            return False
        self.seen[event_id] = None
        if len(self.seen) > self.remembered:
            del self.seen[next(iter(self.seen))]
        return True

    def since(self, offset: int) -> list[str] | None:
        """The messages after `offset`, oldest first; None if some already left the buffer."""
        missed = self.offset - offset
        if missed < 0 or missed > len(self.recent):
            return None
        return list(self.recent)[len(self.recent) - missed :] if missed else []


class SyncService:
    """The hub of live connections, per user. One instance per process (one epoch).

    Memory stays bounded: a stream keeps at most `buffer_size` messages and `remembered`
    event ids, and only the `idle_streams` most recently active users without a connection
    keep theirs. Beyond that the least recent one is forgotten but for its offset, so its
    clients, when they come back, are told to refetch rather than replayed a partial gap
    (and an event redelivered after that would be pushed again).
    """

    name = "sync"

    def __init__(
        self,
        buffer_size: int,
        queue_size: int,
        *,
        epoch: str | None = None,
        remembered: int | None = None,
        idle_streams: int = 256,
        revoked: int = 65_536,
    ) -> None:
        self.epoch = epoch or secrets.token_hex(8)
        self._buffer_size = buffer_size
        self._queue_size = queue_size
        self._remembered = remembered or max(buffer_size, 1024)
        self._max_idle = idle_streams
        self._streams: dict[str, _Stream] = {}
        self._idle: OrderedDict[str, None] = OrderedDict()  # no connection; oldest first
        self._offsets: dict[str, int] = {}  # of forgotten streams
        self._revoked: OrderedDict[str, None] = OrderedDict()  # sessions; oldest first
        self._max_revoked = revoked
        self.pushed = 0
        self.duplicates = 0
        self.evictions = 0

    def subscriptions(self) -> list[Handles]:
        return [
            Handles(f"{self.name}.{Topic.TASK_UPDATES}", Topic.TASK_UPDATES, PUSHED, self.push),
            Handles(f"{self.name}.sessions", Topic.TASK_UPDATES, REVOKED, self.end_session),
        ]

    async def push(self, event: CloudEvent) -> None:
        """Number the event in its user's stream and queue it for each of their connections."""
        stream = self._stream(event.userid)
        if not stream.is_new(event.id):
            self.duplicates += 1
            return
        stream.offset += 1
        text = _text({"offset": stream.offset, "epoch": self.epoch, "event": event.to_dict()})
        stream.recent.append(text)
        self.pushed += 1
        for connection in list(stream.connections):
            self.send(connection, text)
        self._touch(event.userid, stream)

    def send(self, connection: Connection, text: str) -> bool:
        """Queue `text` for one connection; False if that evicted it (or it was already)."""
        if connection.offer(text):
            return True
        stream = self._streams.get(connection.user_id)
        if stream is not None and connection in stream.connections:
            stream.connections.discard(connection)
            self.evictions += 1
            self._touch(connection.user_id, stream)
        return False

    async def end_session(self, event: CloudEvent) -> None:
        """End the connections of a revoked session, and refuse it new ones."""
        session = event.data.get("session")
        if not isinstance(session, str) or not session:
            raise Drop(f"session.revoked {event.id} names no session")
        self._revoked[session] = None
        self._revoked.move_to_end(session)
        while len(self._revoked) > self._max_revoked:
            self._revoked.popitem(last=False)
        stream = self._streams.get(event.userid)
        for connection in () if stream is None else stream.connections:
            if connection.session == session:
                connection.ended.set()

    def restart(self) -> None:
        """Start a new epoch, with every stream empty: for when updates may have been
        missed (this process lost its link to them). Each open connection is told to
        refetch and closed; revoked sessions stay refused."""
        self.epoch = secrets.token_hex(8)
        for stream in self._streams.values():
            for connection in stream.connections:
                connection.evict(LINK_LOST)
        self._streams.clear()
        self._idle.clear()
        self._offsets.clear()

    def connect(
        self, user_id: str, since: int | None, epoch: str | None, session: str | None = None
    ) -> Connection:
        """A new connection of `user_id` in `session`, registered for live messages.

        Its first messages are `hello` (epoch and current offset), then, if the client gave
        the `since` offset and `epoch` of its last message, what it missed; or `refetch`
        when that cannot be replayed. Nothing happens between taking the missed messages
        and registering, so a client sees every message once, in order. Unauthorized when
        the session was revoked.
        """
        if session is not None and session in self._revoked:
            raise Unauthorized("This log-in has ended; log in again.", code="session_revoked")
        stream = self._stream(user_id)
        first = [_text({"type": "hello", "epoch": self.epoch, "offset": stream.offset})]
        if since is not None or epoch is not None:
            first.extend(self._catch_up(stream, since, epoch))
        connection = Connection(user_id, first, self._queue_size, session)
        stream.attach(connection)
        self._idle.pop(user_id, None)
        return connection

    def _catch_up(self, stream: _Stream, since: int | None, epoch: str | None) -> list[str]:
        if since is None or epoch is None:
            return [refetch("since and epoch come together")]
        if epoch != self.epoch:
            return [refetch("the server restarted (another epoch)")]
        missed = stream.since(since)
        if missed is None:
            return [refetch("too old" if since < stream.offset else "unknown offset")]
        return missed

    def disconnect(self, connection: Connection) -> None:
        stream = self._streams.get(connection.user_id)
        if stream is not None and connection in stream.connections:
            stream.connections.discard(connection)
            self._touch(connection.user_id, stream)

    def connections(self, user_id: str) -> int:
        stream = self._streams.get(user_id)
        return 0 if stream is None else len(stream.connections)

    def offset(self, user_id: str) -> int:
        stream = self._streams.get(user_id)
        return self._offsets.get(user_id, 0) if stream is None else stream.offset

    def streams(self) -> int:
        """How many users' streams are held in memory."""
        return len(self._streams)

    def _stream(self, user_id: str) -> _Stream:
        stream = self._streams.get(user_id)
        if stream is None:
            offset = self._offsets.pop(user_id, 0)
            stream = _Stream(self._buffer_size, self._remembered, offset)
            self._streams[user_id] = stream
        return stream

    def _touch(self, user_id: str, stream: _Stream) -> None:
        """Mark the stream recently active; forget the least recent idle ones over the cap."""
        if stream.connections:
            return
        self._idle[user_id] = None
        self._idle.move_to_end(user_id)
        while len(self._idle) > self._max_idle:
            forgotten, _ = self._idle.popitem(last=False)
            self._offsets[forgotten] = self._streams.pop(forgotten).offset
