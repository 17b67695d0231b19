"""The embedded shape as one real process: `taskstream up`, used over HTTP and WebSockets.

Everything runs as a person's clients would see it: a subprocess serving the API on a
loopback port, users signed up through it, live updates read from `/api/v1/ws` with the
`websockets` client. The scenarios follow a reminder from the write to the notification,
a recurring task to its next occurrence, a task's history in the activity log, and keep
two users apart. The last ones crash the process with SIGKILL, with reminders pending and
events still in the outbox, restart it on the same data directory and check that
everything is delivered exactly once in effect.

Reminders are set a few seconds ahead; waits are bounded polls, and "nothing more" is
asserted only after a later marker (a later reminder, or a later write) went through.
The server log is printed when a test fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from taskstream.app.services.sync import LINK_LOST
from taskstream.bootstrap import build
from taskstream.domain.tasks import Due, NewTask, Reminder
from taskstream.settings import Settings
from tests.clients import (
    PASSWORD,
    Feed,
    Json,
    User,
    create,
    due_fields,
    history,
    in_,
    now,
    open_feed,
    parse,
    post,
    remind_at,
    reminded_at,
    reminders_due,
    successors,
    task_list,
    webhook_receiver,
)
from tests.conftest import eventually

TASKSTREAM = Path(sys.executable).parent / "taskstream"
START_TIMEOUT_S = 60.0
RECEIVE_TIMEOUT_S = 15.0
"""The longest any wait polls: generous, for a loaded machine; a passing run never waits it."""


# --- the process ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """`taskstream up` over one data directory, started (and killed) as often as needed."""

    home: Path
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    startup_s: float = 0.0
    """How long the last start took until /readyz answered."""
    starts: int = 0
    env: dict[str, str] = field(default_factory=dict)
    """Settings of its own (TASKSTREAM_* variables), kept over restarts."""
    options: list[str] = field(default_factory=list)
    """Options of its own for `taskstream up`."""

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def database(self) -> Path:
        return self.data_dir / "taskstream.db"

    @property
    def log_path(self) -> Path:
        return self.home / "server.log"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/ws"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> None:
        assert self.process is None, "already running"
        self.port = _free_port()
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKSTREAM_")}
        env["TASKSTREAM_DATA_DIR"] = str(self.data_dir)
        env.update(self.env)
        with self.log_path.open("a") as log:
            log.write(f"--- start {self.starts} on port {self.port} ---\n")
            log.flush()
            began = time.monotonic()
            # cwd is the temporary directory: no `.env` of the checkout leaks in.
            self.process = subprocess.Popen(  # noqa: S603 -- our own executable, literal arguments
                [str(TASKSTREAM), "up", "--port", str(self.port), *self.options],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.home,
            )
        self._wait_until_ready()
        self.startup_s = time.monotonic() - began

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"taskstream up exited with {self.process.returncode}:\n{self.log()}")
            try:
                url = f"http://127.0.0.1:{self.port}/readyz"
                if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        pytest.fail(f"taskstream up was not ready in {START_TIMEOUT_S} s:\n{self.log()}")

    def crash(self) -> None:
        """SIGKILL: no shutdown, no last relay round, nothing flushed but what was committed."""
        assert self.process is not None, "not running"
        assert self.process.poll() is None, f"the server stopped on its own:\n{self.log()}"
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(timeout=10) == -signal.SIGKILL
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def assert_running(self) -> None:
        assert self.process is not None
        assert self.process.poll() is None, f"the server stopped on its own:\n{self.log()}"


_servers: list[Server] = []
"""The servers in use: the module's, and those of the test running (stopped by now)."""


@pytest.fixture(autouse=True)
def _server_log_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print the log of every server a failed test used (shown with its failure)."""
    failed = request.session.testsfailed
    yield  # torn down last: after the test's own server stopped
    if request.session.testsfailed > failed:
        for server in _servers:
            print(f"\n===== log of the server in {server.home} =====\n{server.log()}")
    _servers[:] = [server for server in _servers if server.process is not None]


@contextlib.contextmanager
def _running(home: Path) -> Iterator[Server]:
    server = Server(home)
    _servers.append(server)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One `taskstream up` for the scenarios that do not crash it."""
    with _running(tmp_path_factory.mktemp("embedded")) as running:
        running.start()
        yield running
        running.assert_running()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Server]:
    """A server of its own, not started yet, for a test that crashes it."""
    with _running(tmp_path) as server:
        yield server


# --- users, tasks and the activity log over HTTP --------------------------------------------


def _sign_up(api: str, email: str) -> User:
    with httpx.Client(base_url=api, timeout=30, trust_env=False) as http:
        body = {"email": email, "password": PASSWORD, "timezone": "UTC"}
        created = http.post("/auth/signup", json=body)
        assert created.status_code == 201, created.text
    return _log_in(api, email)


def _log_in(api: str, email: str) -> User:
    with httpx.Client(base_url=api, timeout=30, trust_env=False) as http:
        tokens = http.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert tokens.status_code == 200, tokens.text
        headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        me = http.get("/users/me", headers=headers)
        assert me.status_code == 200, me.text
    return User(me.json()["id"], email, headers)


@pytest.fixture(scope="module")
def ada(server: Server) -> User:
    return _sign_up(server.api, "ada@example.com")


@pytest.fixture(scope="module")
def bob(server: Server) -> User:
    return _sign_up(server.api, "bob@example.com")


@pytest.fixture
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.api, timeout=30, trust_env=False) as client:
        yield client


# --- live updates over the WebSocket --------------------------------------------------------


OpenFeed = Callable[[str, User], Awaitable[Feed]]


@pytest.fixture
async def feeds() -> AsyncIterator[OpenFeed]:
    """Opens WebSockets (closed at the end of the test, even a failed one)."""
    opened: list[Feed] = []

    async def open_user_feed(ws_url: str, user: User) -> Feed:
        feed = await open_feed(ws_url, user, within=RECEIVE_TIMEOUT_S)
        opened.append(feed)
        return feed

    yield open_user_feed
    for feed in opened:
        with contextlib.suppress(Exception):
            await feed.close()


# --- scenarios on one running process -------------------------------------------------------


async def test_a_reminder_reaches_its_owners_socket_once_when_its_moment_comes(
    server: Server, http: httpx.AsyncClient, ada: User, feeds: OpenFeed
) -> None:
    feed = await feeds(server.ws, ada)
    task = await reminded_at(http, ada, "Call the plumber", 2.0)
    marker = await reminded_at(http, ada, "marker", 3.0)

    (notification,) = await feed.until(lambda: feed.notifications(task["id"]))
    arrived = now()
    assert notification["kind"] == "reminder"
    assert notification["title"] == "Call the plumber"
    assert parse(notification["remind_at"]) == remind_at(task)
    assert parse(notification["fired_at"]) >= remind_at(task)
    assert arrived >= remind_at(task)

    await feed.until(lambda: feed.notifications(marker["id"]))
    assert len(feed.notifications(task["id"])) == 1
    events = [e for e in feed.events() if e["type"] == "notification"]
    assert all(e["userid"] == ada.id for e in events)
    # Fired once, not only shown once: each firing would log a reminder.due of its own.
    (due,) = reminders_due(await history(http, ada, task["id"]), task["id"])
    assert due["data"]["fired_at"] == notification["fired_at"]


async def test_a_moved_due_date_moves_its_reminder_and_a_deleted_task_reminds_no_one(
    server: Server, http: httpx.AsyncClient, ada: User, feeds: OpenFeed
) -> None:
    feed = await feeds(server.ws, ada)
    old_due = in_(60 + 2.5)  # the reminder, a minute before, in 2.5 s
    moved = await create(
        http, ada, "Dentist", **due_fields(old_due), reminders=[{"minutes_before": 1}]
    )
    old_moment = remind_at(moved)
    response = await http.patch(
        f"/tasks/{moved['id']}",
        headers=ada.headers,
        json=due_fields(old_due + timedelta(seconds=2)),
    )
    assert response.status_code == 200, response.text
    new_moment = remind_at(response.json())
    assert new_moment - old_moment == timedelta(seconds=2)
    deleted = await reminded_at(http, ada, "Cancelled", 3.0)
    response = await http.delete(f"/tasks/{deleted['id']}", headers=ada.headers)
    assert response.status_code == 204, response.text
    marker = await reminded_at(http, ada, "marker", 5.5)
    assert now() < old_moment, "too slow to move the reminder before its old moment"

    (notification,) = await feed.until(lambda: feed.notifications(moved["id"]))
    assert now() >= new_moment
    assert parse(notification["remind_at"]) == new_moment
    assert parse(notification["fired_at"]) >= new_moment

    await feed.until(lambda: feed.notifications(marker["id"]))
    assert len(feed.notifications(moved["id"])) == 1
    assert feed.notifications(deleted["id"]) == []
    due = [e for e in await history(http, ada) if e["type"] == "reminder.due"]
    assert [e["task_id"] for e in due if e["task_id"] in (moved["id"], deleted["id"])] == [
        moved["id"]
    ]


async def test_completing_a_daily_task_creates_exactly_one_next_occurrence(
    server: Server, http: httpx.AsyncClient, ada: User, feeds: OpenFeed
) -> None:
    feed = await feeds(server.ws, ada)
    today = now().date()
    daily = await create(
        http,
        ada,
        "Water the plants",
        due_date=today.isoformat(),
        due_time="09:00",
        recurrence={"rule": "FREQ=DAILY"},
    )
    series = daily["series_id"]
    assert series is not None
    await post(http, ada, f"/tasks/{daily['id']}/complete")

    def of_series(data: Json) -> bool:
        return bool(data["task"]["series_id"] == series)

    created = await feed.until(lambda: feed.changes("task.created", of_series), count=2)
    (following,) = [t for t in created if t["id"] != daily["id"]]
    assert following["id"] != daily["id"]
    assert following["occurrence"] == 2
    assert following["status"] == "open"
    assert following["due_date"] == (today + timedelta(days=1)).isoformat()
    assert following["recurrence"] == {"rule": "FREQ=DAILY", "anchor": "due"}

    # A later write of the same user has gone through every handler after the completion.
    marker = await create(http, ada, "marker")
    await feed.until(lambda: feed.changes("task.created", lambda d: d["task_id"] == marker["id"]))
    listed = await task_list(http, ada)
    assert [t["id"] for t in successors(listed, series)] == [following["id"]]
    done = next(t for t in listed if t["id"] == daily["id"])
    assert done["status"] == "done"
    assert len(feed.changes("task.created", of_series)) == 2  # the first, and the next one


async def test_the_activity_log_shows_the_whole_history_of_a_task(
    server: Server, http: httpx.AsyncClient, ada: User, feeds: OpenFeed
) -> None:
    feed = await feeds(server.ws, ada)
    task = await reminded_at(http, ada, "Book flights", 1.5)
    response = await http.patch(
        f"/tasks/{task['id']}", headers=ada.headers, json={"title": "Book the flights"}
    )
    assert response.status_code == 200, response.text
    await feed.until(lambda: feed.notifications(task["id"]))
    await post(http, ada, f"/tasks/{task['id']}/complete")
    await post(http, ada, f"/tasks/{task['id']}/reopen")
    response = await http.delete(f"/tasks/{task['id']}", headers=ada.headers)
    assert response.status_code == 204, response.text

    expected = [
        "task.created",
        "task.updated",
        "reminder.due",
        "task.completed",
        "task.reopened",
        "task.deleted",
    ]

    async def whole_history() -> list[Json]:
        entries = await history(http, ada, task["id"])
        return entries if len(entries) >= len(expected) else []

    entries = await eventually(whole_history, within=RECEIVE_TIMEOUT_S)
    assert [e["type"] for e in entries] == expected
    assert {e["task_id"] for e in entries} == {task["id"]}
    assert len({e["id"] for e in entries}) == len(entries)
    created, updated, due, completed, _reopened, deleted = entries
    assert created["data"]["task"]["title"] == "Book flights"
    assert updated["data"]["changes"] == {"title": "Book the flights"}
    assert updated["data"]["task"]["title"] == "Book the flights"
    assert parse(due["data"]["remind_at"]) == remind_at(task)
    assert parse(due["data"]["fired_at"]) >= remind_at(task)
    assert completed["data"]["task"]["status"] == "done"
    assert deleted["data"]["task"]["id"] == task["id"]


async def test_a_users_socket_receives_nothing_of_another_users(
    server: Server, http: httpx.AsyncClient, ada: User, bob: User, feeds: OpenFeed
) -> None:
    ada_feed = await feeds(server.ws, ada)
    bob_feed = await feeds(server.ws, bob)
    secret = await reminded_at(http, ada, "Ada's secret", 1.5)
    await post(http, ada, f"/tasks/{secret['id']}/complete", expect=200)
    reminded = await reminded_at(http, ada, "Ada's reminder", 1.5)
    await ada_feed.until(lambda: ada_feed.notifications(reminded["id"]))

    # Bob's own writes come after all of Ada's were pushed: anything of hers would precede.
    bobs = await reminded_at(http, bob, "Bob's marker", 0.5)
    await bob_feed.until(lambda: bob_feed.notifications(bobs["id"]))
    adas = await create(http, ada, "Ada's marker")
    await ada_feed.until(
        lambda: ada_feed.changes("task.created", lambda d: d["task_id"] == adas["id"])
    )

    assert {e["userid"] for e in bob_feed.events()} == {bob.id}
    assert {e["data"]["task_id"] for e in bob_feed.events()} == {bobs["id"]}
    assert {e["userid"] for e in ada_feed.events()} == {ada.id}
    assert bobs["id"] not in {e["data"]["task_id"] for e in ada_feed.events()}
    assert secret["id"] not in {e["task_id"] for e in await history(http, bob)}
    response = await http.get(f"/tasks/{secret['id']}", headers=bob.headers)
    assert response.status_code == 404, response.text


# --- crash and restart ----------------------------------------------------------------------


def _rows(database: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read the server's SQLite file directly (to check a scenario's preconditions only)."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        return conn.execute(sql).fetchall()


def _settings(server: Server) -> Settings:
    """The settings `taskstream up` has over the server's data directory."""
    return Settings(
        _env_file=None,
        data_dir=server.data_dir,
        database_url=None,
        jwt_secret=None,
    )


def _lead(server: Server) -> float:
    """How far ahead to set reminders that must still be ahead after a crash and restart
    (a restart on a busy machine can take twice as long as the start before it)."""
    return max(6.0, 2 * server.startup_s + 3.0)


def _client(server: Server) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.api, timeout=30, trust_env=False)


async def _quiet_after(http: httpx.AsyncClient, user: User, after: datetime) -> None:
    """Wait until a reminder later than `after` fired: everything due before has fired."""
    marker = await reminded_at(http, user, "marker", max(0.5, (after - now()).total_seconds() + 1))

    async def fired() -> list[Json]:
        return reminders_due(await history(http, user, marker["id"]), marker["id"])

    await eventually(fired, within=RECEIVE_TIMEOUT_S + 5)


async def test_after_a_crash_pending_reminders_and_outbox_events_are_delivered_once(
    fresh: Server, feeds: OpenFeed
) -> None:
    fresh.start()
    ada = _sign_up(fresh.api, "ada@example.com")
    lead = _lead(fresh)
    async with _client(fresh) as http:
        # A reminder already scheduled when the process dies: its job is in the table.
        scheduled = await reminded_at(http, ada, "Scheduled before the crash", lead)
        job = f"reminder/{scheduled['id']}/"

        async def booked() -> bool:
            return any(
                name.startswith(job) for (name,) in _rows(fresh.database, "SELECT name FROM jobs")
            )

        await eventually(booked)
    fresh.crash()

    # While it is down, writes straight into its database: their events wait in the outbox.
    container = build(_settings(fresh))  # never started: no relay, no scheduler
    try:
        absolute = await container.tasks.create(
            ada.id,
            NewTask("Written while down", reminders=(Reminder(at=in_(lead + 0.3)),)),
        )
        due = in_(60 + lead + 0.6).replace(microsecond=0)
        relative = await container.tasks.create(
            ada.id,
            NewTask(
                "Relative, written while down",
                due=Due(due.date(), due.time()),
                reminders=(Reminder(minutes_before=1),),
            ),
        )
        daily = await container.tasks.create(
            ada.id,
            NewTask("Daily, done while down", due=Due(due.date()), recurrence_rule="FREQ=DAILY"),
        )
        await container.tasks.complete(ada.id, daily.id)
        in_outbox = await container.relay.pending()
    finally:
        await container.database.dispose()
    assert in_outbox >= 8, "the writes should wait in the outbox: 2 events for each of 4"
    moments = {
        scheduled["id"]: remind_at(scheduled),
        absolute.id: absolute.reminder_moments()[0],
        relative.id: relative.reminder_moments()[0],
    }

    fresh.start()
    feed = await feeds(fresh.ws, ada)
    assert now() < min(moments.values()), (
        f"the restart took {fresh.startup_s:.1f} s: the reminders fell due before the socket "
        "opened (raise the lead)"
    )
    async with _client(fresh) as http:
        for task_id, moment in moments.items():
            (notification,) = await feed.until(partial(feed.notifications, task_id))
            assert parse(notification["remind_at"]) == moment
            assert parse(notification["fired_at"]) >= moment

        async def next_one() -> list[Json]:
            return successors(await task_list(http, ada), daily.series_id or "")

        await eventually(next_one, within=RECEIVE_TIMEOUT_S)
        await _quiet_after(http, ada, max(moments.values()))

        for task_id in moments:
            assert len(feed.notifications(task_id)) == 1, task_id
        entries = await history(http, ada)
        for task_id, moment in moments.items():
            (due_entry,) = reminders_due(entries, task_id)
            assert parse(due_entry["data"]["fired_at"]) >= moment
        facts = [(e["type"], e["task_id"]) for e in entries if e["type"] != "reminder.due"]
        (following,) = await next_one()
        for written in [
            ("task.created", absolute.id),
            ("task.created", relative.id),
            ("task.created", daily.id),
            ("task.completed", daily.id),
            ("task.created", following["id"]),
        ]:
            assert facts.count(written) == 1, (written, facts)
        assert following["occurrence"] == 2
        assert following["status"] == "open"
    assert _rows(fresh.database, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == [(0,)]


async def test_reminders_set_just_before_a_kill_9_fire_once_after_the_restart(
    fresh: Server,
) -> None:
    fresh.start()
    ada = _sign_up(fresh.api, "ada@example.com")
    lead = _lead(fresh)
    async with _client(fresh) as http:
        absolute = await reminded_at(http, ada, "Absolute", lead)
        relative = await create(
            http,
            ada,
            "Relative",
            **due_fields(in_(60 + lead + 0.5)),
            reminders=[{"minutes_before": 1}],
        )
        daily = await create(
            http,
            ada,
            "Daily",
            due_date=now().date().isoformat(),
            recurrence={"rule": "FREQ=DAILY"},
        )
        await post(http, ada, f"/tasks/{daily['id']}/complete")
        fresh.crash()  # at once: the relay and the reminders service may be half-way
    moments = {absolute["id"]: remind_at(absolute), relative["id"]: remind_at(relative)}

    fresh.start()
    assert now() < min(moments.values()), (
        f"the restart took {fresh.startup_s:.1f} s: the reminders fell due while it was down"
    )
    async with _client(fresh) as http:
        await _quiet_after(http, ada, max(moments.values()))
        entries = await history(http, ada)
        for task_id, moment in moments.items():
            (due_entry,) = reminders_due(entries, task_id)
            assert parse(due_entry["time"]) >= moment
            assert parse(due_entry["data"]["remind_at"]) == moment
            assert parse(due_entry["data"]["fired_at"]) >= moment
        (following,) = successors(await task_list(http, ada), daily["series_id"])
        assert following["occurrence"] == 2
        facts = [(e["type"], e["task_id"]) for e in entries if e["type"] != "reminder.due"]
        for written in [
            ("task.created", absolute["id"]),
            ("task.created", relative["id"]),
            ("task.created", daily["id"]),
            ("task.completed", daily["id"]),
            ("task.created", following["id"]),
        ]:
            assert facts.count(written) == 1, (written, facts)


async def test_a_reminder_that_fell_due_while_the_process_was_down_fires_after_the_restart(
    fresh: Server,
) -> None:
    # The whole set-up while no process runs: the task's event waits in the outbox.
    container = build(_settings(fresh))
    try:
        await container.database.migrate()
        user = await container.auth.sign_up("ada@example.com", PASSWORD, "UTC")
        task = await container.tasks.create(
            user.id, NewTask("Due while down", reminders=(Reminder(at=in_(0.5)),))
        )
        assert await container.relay.pending() == 2
    finally:
        await container.database.dispose()
    (moment,) = task.reminder_moments()

    fresh.start()
    assert now() > moment, "the reminder should have fallen due while the process was down"
    ada = _log_in(fresh.api, "ada@example.com")
    async with _client(fresh) as http:
        await _quiet_after(http, ada, now())
        entries = await history(http, ada)
        assert [e["type"] for e in entries if e["task_id"] == task.id] == [
            "task.created",
            "reminder.due",
        ]
        (due_entry,) = reminders_due(entries, task.id)
        assert parse(due_entry["data"]["fired_at"]) >= moment


DELIVERY_LEASE_S = 4.0


async def test_a_webhook_delivery_cut_short_by_a_kill_9_is_made_after_the_restart(
    fresh: Server,
) -> None:
    fresh.env.update(
        {
            "TASKSTREAM_WEBHOOK_ALLOW": "127.0.0.1",
            "TASKSTREAM_WEBHOOK_TIMEOUT_SECONDS": "1",
            "TASKSTREAM_DELIVERY_LEASE_SECONDS": str(DELIVERY_LEASE_S),
        }
    )
    async with webhook_receiver() as hook:
        fresh.start()
        ada = _sign_up(fresh.api, "ada@example.com")
        async with _client(fresh) as http:
            response = await http.post("/webhooks", headers=ada.headers, json={"url": hook.url})
            assert response.status_code == 201, response.text
            webhook_id = response.json()["id"]
            await reminded_at(http, ada, "Call Bob", 0.5)

        async def sent() -> list[str]:
            return list(hook.deliveries)

        await eventually(sent, within=RECEIVE_TIMEOUT_S)
        fresh.crash()  # the webhook's request is in flight
        [(entry,)] = _rows(
            fresh.database, "SELECT value FROM state WHERE key LIKE 'notifier/log/%'"
        )
        assert json.loads(entry)["status"] == "pending"
        hook.released.set()

        fresh.start()

        async def sent_again() -> bool:
            return len(hook.deliveries) >= 2

        await eventually(sent_again, within=DELIVERY_LEASE_S + RECEIVE_TIMEOUT_S)
        async with _client(fresh) as http:

            async def delivered() -> list[Json]:
                response = await http.get(f"/webhooks/{webhook_id}/deliveries", headers=ada.headers)
                assert response.status_code == 200, response.text
                found: list[Json] = response.json()["data"]
                return found if found and found[0]["status"] == "delivered" else []

            [delivery] = await eventually(delivered, within=RECEIVE_TIMEOUT_S)
        assert [a["outcome"] for a in delivery["attempts"]] == ["HTTP 200"]
        assert hook.deliveries == [delivery["id"], delivery["id"]]  # at least once: twice here
        watched = "SELECT name FROM jobs WHERE name LIKE 'delivery/%'"
        assert _rows(fresh.database, watched) == []  # nothing left that could send it again


# --- several worker processes ---------------------------------------------------------------

WORKERS = 2


def _workers(server: Server) -> list[psutil.Process]:
    """The processes serving under `taskstream up --workers` (its own process is uvicorn's
    supervisor, which starts them)."""
    assert server.process is not None
    children = psutil.Process(server.process.pid).children()
    return [child for child in children if "spawn_main" in " ".join(child.cmdline())]


def _owners(server: Server) -> list[psutil.Process]:
    """The workers that hold the ownership lock: those that run the relay and consumers."""
    return [
        worker
        for worker in _workers(server)
        if any(Path(f.path).name.startswith("owner-") for f in worker.open_files())
    ]


async def _feeds_on_every_worker(server: Server, user: User, feeds: OpenFeed) -> list[Feed]:
    """One socket held by each worker: the kernel hands each new connection to a worker
    that serves (a replacement may take seconds to start), and each worker numbers its
    own stream (its epoch)."""
    by_epoch: dict[str, Feed] = {}
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        feed = await feeds(server.ws, user)
        epoch = feed.messages[0]["epoch"]
        if epoch in by_epoch:
            await feed.close()
            continue
        by_epoch[epoch] = feed
        if len(by_epoch) == WORKERS:
            return list(by_epoch.values())
    pytest.fail(f"in {START_TIMEOUT_S} s, sockets reached {len(by_epoch)} of {WORKERS} workers")


async def _create_side_by_side(server: Server, user: User, count: int) -> list[str]:
    """Tasks created at once, each over a connection of its own (to either worker)."""

    async def one(n: int) -> str:
        async with _client(server) as http:
            return str((await create(http, user, f"Side by side {n}"))["id"])

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def _every_socket_sees(sockets: list[Feed], created: list[str]) -> None:
    for feed in sockets:
        got = await feed.until(
            partial(feed.changes, "task.created", lambda d: d["task_id"] in created), len(created)
        )
        assert sorted(task["id"] for task in got) == sorted(created)  # each once


async def test_workers_share_one_port_and_every_socket_sees_every_write_once(
    fresh: Server, feeds: OpenFeed
) -> None:
    fresh.options = ["--workers", str(WORKERS)]
    fresh.start()
    assert len(_workers(fresh)) == WORKERS
    assert len(_owners(fresh)) == 1
    ada = _sign_up(fresh.api, "ada@example.com")
    sockets = await _feeds_on_every_worker(fresh, ada, feeds)

    created = await _create_side_by_side(fresh, ada, 30)  # writers of both processes queue

    await _every_socket_sees(sockets, created)
    async with _client(fresh) as http:
        facts = [e["task_id"] for e in await history(http, ada) if e["type"] == "task.created"]
    assert sorted(facts) == sorted(created)


async def test_when_the_owner_worker_dies_another_takes_over_and_nothing_is_lost(
    fresh: Server, feeds: OpenFeed
) -> None:
    fresh.options = ["--workers", str(WORKERS)]
    fresh.start()
    ada = _sign_up(fresh.api, "ada@example.com")
    before = await _feeds_on_every_worker(fresh, ada, feeds)
    async with _client(fresh) as http:
        pending = await reminded_at(http, ada, "Set before the owner died", _lead(fresh))
    [owner] = _owners(fresh)

    owner.kill()
    owner.wait(timeout=10)

    # Its sockets are cut; the other worker's are told to refetch: it may miss updates.
    await eventually(lambda: all(feed.closed for feed in before), within=RECEIVE_TIMEOUT_S)
    told = [feed for feed in before if feed.closed and feed.closed.rcvd]
    assert [feed.closed.rcvd.code for feed in told if feed.closed and feed.closed.rcvd] == [4008]
    assert told[0].messages[-1] == {"type": "refetch", "reason": LINK_LOST}

    async def led_again() -> bool:
        return len(_workers(fresh)) == WORKERS and len(_owners(fresh)) == 1

    await eventually(led_again, within=RECEIVE_TIMEOUT_S)
    assert _owners(fresh)[0].pid != owner.pid
    after = await _feeds_on_every_worker(fresh, ada, feeds)
    created = await _create_side_by_side(fresh, ada, 10)
    await _every_socket_sees(after, created)
    for feed in after:  # the reminder booked before the death fires once
        wait = (remind_at(pending) - now()).total_seconds() + RECEIVE_TIMEOUT_S
        (notification,) = await feed.until(partial(feed.notifications, pending["id"]), within=wait)
        assert parse(notification["fired_at"]) >= remind_at(pending)
    async with _client(fresh) as http:
        await _quiet_after(http, ada, remind_at(pending))
        assert len(reminders_due(await history(http, ada), pending["id"])) == 1
    for feed in after:
        assert len(feed.notifications(pending["id"])) == 1

    async def drained() -> bool:
        return _rows(fresh.database, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == [(0,)]

    await eventually(drained, within=RECEIVE_TIMEOUT_S)
