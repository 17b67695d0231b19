"""Benchmark of live updates (the `sync` service) and reminder lateness; prints figures.

    .venv/bin/python bench/events.py [--duration 20] [--rate 100] [--users 100]
        [--per-user 10] [--reminders 1000] [--reminder-window 60] [--no-compress]

1. Starts `taskstream up` on a fresh data directory (SQLite) on a free port, and signs up
   --users users through the API (not timed).
2. Memory: the server's resident set size before and after opening --per-user WebSockets
   per user (1,000 by default), idle.
3. Fan-out latency: open-loop Poisson task writes at --rate (creates and updates, spread
   over the users) for a warm-up and a measured phase. For each write, the time from the
   HTTP response received to the `task.changed` message for that task (and version)
   received on each of the writer's WebSockets; messages lost are those a connection open
   at the acknowledgement never received (also checked by gaps in each socket's offsets).
4. Reminder lateness: one WebSocket per user stays open; --reminders tasks are created, each
   a few seconds ahead of its absolute reminder, the reminders spread over
   --reminder-window seconds. Lateness is `fired_at - remind_at` of the `notification`
   messages that arrive (data written by the notifier).

The load generator is this process (uvloop, aiohttp), apart from the server's. 1,000
sockets need more open files than some defaults allow: the bench raises its own
RLIMIT_NOFILE, and the server's too (in the child, before exec). A server run by hand for
this many clients needs the same (`ulimit -n 4096` or the service manager's LimitNOFILE).

Exit status 0 whatever the figures, 1 when the server does not start, sign-up fails or
most writes fail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any, Final, Protocol

import aiohttp
import uvloop

from _load import (
    ServerProcess,
    ServerStartError,
    free_port,
    ms,
    percentile,
    system_busy_seconds,
    table,
)
from api import bearer, fail, server_env, taskstream_executable, verdict

API_PREFIX: Final = "/api/v1"
MB: Final = 1024 * 1024

# Targets
FANOUT_P95_TARGET_S: Final = 0.050
CONNECTIONS_RSS_TARGET_BYTES: Final = 100 * MB
LATENESS_P99_TARGET_S: Final = 1.0

OPEN_FILES_WANTED: Final = 65_536
HTTP_CONNECTIONS: Final = 100
REQUEST_TIMEOUT_S: Final = 10.0
DRAIN_TIMEOUT_S: Final = 15.0  # after the last write, how long late messages may still come
NOTIFICATION_GRACE_S: Final = 20.0  # after the last reminder, how long we wait for it
BUSY_MACHINE_CORES: Final = 0.25
PRIORITIES: Final = ("none", "low", "medium", "high", "urgent")


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    users: int
    per_user: int
    rate: float
    duration_s: float
    warmup_s: float
    reminders: int
    reminder_window_s: float
    reminder_lead_s: float
    compress: bool
    idle_s: float
    seed: int
    keep_data: bool

    @property
    def connections(self) -> int:
        return self.users * self.per_user


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        description="Benchmark live updates over WebSockets and reminder lateness.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--users", type=int, default=100, help="users signed up")
    add("--per-user", type=int, default=10, help="WebSockets open per user")
    add("--rate", type=float, default=100.0, help="task writes per second (open loop)")
    add("--duration", type=float, default=20.0, help="measured seconds of writes")
    add("--warmup", type=float, default=3.0, help="seconds of writes before (not measured)")
    add("--reminders", type=int, default=1000, help="tasks with a reminder; 0 skips the phase")
    add("--reminder-window", type=float, default=60.0, help="seconds the reminders spread over")
    add("--reminder-lead", type=float, default=5.0, help="a task is created this long before")
    add(
        "--no-compress",
        dest="compress",
        action="store_false",
        help="clients do not offer permessage-deflate (browsers do)",
    )
    add("--idle", type=float, default=3.0, help="idle seconds before each RSS reading")
    add("--seed", type=int, default=1, help="random seed")
    add("--keep-data", action="store_true", help="keep the data directory and server log")
    args = parser.parse_args(argv)
    if args.users < 1 or args.per_user < 2:
        parser.error("--users must be >= 1 and --per-user >= 2")
    return Options(
        users=args.users,
        per_user=args.per_user,
        rate=args.rate,
        duration_s=args.duration,
        warmup_s=args.warmup,
        reminders=args.reminders,
        reminder_window_s=args.reminder_window,
        reminder_lead_s=args.reminder_lead,
        compress=args.compress,
        idle_s=args.idle,
        seed=args.seed,
        keep_data=args.keep_data,
    )


# --------------------------------------------------------------------------- open files


def raise_open_files(wanted: int = OPEN_FILES_WANTED) -> int:
    """Raise the soft RLIMIT_NOFILE towards `wanted` (up to the hard limit); the new soft."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def start_server(workdir: Path) -> ServerProcess:
    """`taskstream up` with a raised open-file limit, in a session of its own."""
    host, port = "127.0.0.1", free_port()
    log_path = workdir / "server.log"
    env = server_env(workdir / "data")
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            [taskstream_executable(), "up", "--host", host, "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
            start_new_session=True,
            preexec_fn=raise_open_files,  # setrlimit only; no thread runs yet
        )
    return ServerProcess("taskstream server", popen, f"http://{host}:{port}", log_path)


# --------------------------------------------------------------------------- users


class SetupError(RuntimeError):
    """Sign-up or a connection the bench needs failed."""


@dataclass
class User:
    index: int
    token: str
    task_ids: list[str] = field(default_factory=list)


async def _expect(resp: aiohttp.ClientResponse, status: int, what: str) -> Any:
    body = await resp.text()
    if resp.status != status:
        raise SetupError(f"{what}: expected HTTP {status}, got {resp.status}: {body[:300]}")
    return json.loads(body) if body else None


async def sign_up(api_url: str, count: int, rng: random.Random) -> list[User]:
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        slots = asyncio.Semaphore(4)  # Argon2id is slow on purpose

        async def one(index: int) -> User:
            email = f"events-{index:04d}@example.com"
            password = f"Bench-{index:04d}-{rng.getrandbits(64):016x}"
            async with slots:
                body = {"email": email, "password": password, "timezone": "UTC"}
                async with session.post(f"{api_url}/auth/signup", json=body) as resp:
                    await _expect(resp, 201, f"signup of {email}")
                body = {"email": email, "password": password}
                async with session.post(f"{api_url}/auth/login", json=body) as resp:
                    tokens = await _expect(resp, 200, f"login of {email}")
            return User(index, str(tokens["access_token"]))

        return list(await asyncio.gather(*(one(i) for i in range(count))))


# --------------------------------------------------------------------------- the sockets


@dataclass
class Socket:
    index: int
    user: int
    ws: aiohttp.ClientWebSocketResponse
    offset: int | None = None
    gaps: int = 0
    refetches: Counter[str] = field(default_factory=Counter)
    close_code: int | None = None
    closing: bool = False  # closed by the bench on purpose

    @property
    def open(self) -> bool:
        return self.close_code is None and not self.ws.closed


@dataclass
class Fleet:
    """Every WebSocket of the bench and what they received."""

    url: str
    compress: bool
    sockets: list[Socket] = field(default_factory=list)
    by_user: dict[int, list[Socket]] = field(default_factory=lambda: defaultdict(list))
    # (task id, version) -> [(socket index, perf_counter at receipt)]
    changes: dict[tuple[str, int], list[tuple[int, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    notifications: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    malformed: int = 0
    # (task id, version) -> the event's time (set by the server at the write), in epoch s
    stamped: dict[tuple[str, int], float] = field(default_factory=dict)
    # (task id, version) -> wall-clock seconds from that time to each receipt
    stamp_lag: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))

    async def open(self, session: aiohttp.ClientSession, users: list[User], per_user: int) -> None:
        slots = asyncio.Semaphore(50)

        async def one(user: User, index: int) -> None:
            async with slots:
                ws = await session.ws_connect(
                    f"{self.url}?token={user.token}",
                    compress=15 if self.compress else 0,
                    autoping=True,
                    heartbeat=None,
                    max_msg_size=4 * MB,
                )
                hello = await ws.receive_json(timeout=REQUEST_TIMEOUT_S)
            if hello.get("type") != "hello":
                raise SetupError(f"expected hello, got {hello!r}")
            sock = Socket(index, user.index, ws, offset=int(hello["offset"]))
            self.sockets.append(sock)
            self.by_user[user.index].append(sock)
            self.readers.append(asyncio.create_task(self._read(sock)))

        plan = [(user, user.index * per_user + n) for user in users for n in range(per_user)]
        await asyncio.gather(*(one(user, index) for user, index in plan))

    async def _read(self, sock: Socket) -> None:
        async for msg in sock.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            received = perf_counter()
            message = json.loads(msg.data)
            if "offset" in message:
                offset = int(message["offset"])
                if sock.offset is not None and offset != sock.offset + 1:
                    sock.gaps += 1
                sock.offset = offset
                self._record(sock, message["event"], received)
            elif message.get("type") == "refetch":
                sock.refetches[str(message.get("reason"))] += 1
        sock.close_code = sock.ws.close_code

    def _record(self, sock: Socket, event: dict[str, Any], received: float) -> None:
        data = event.get("data") or {}
        if event.get("type") == "task.changed":
            task = data.get("task") or {}
            try:
                key = (str(data["task_id"]), int(task["version"]))
            except (KeyError, TypeError, ValueError):
                self.malformed += 1
                return
            self.changes[key].append((sock.index, received))
            if key not in self.stamped:
                moment = _moment(event.get("time"))
                self.stamped[key] = math.nan if moment is None else moment.timestamp()
            self.stamp_lag[key].append(time.time() - self.stamped[key])
        elif event.get("type") == "notification":
            self.notifications.append((time.time(), data))

    def received_by(self, key: tuple[str, int]) -> set[int]:
        return {index for index, _ in self.changes.get(key, ())}

    async def close(self, sockets: Sequence[Socket]) -> None:
        for sock in sockets:
            sock.closing = True
        await asyncio.gather(*(sock.ws.close() for sock in sockets), return_exceptions=True)

    async def close_all(self) -> None:
        await self.close(self.sockets)
        await asyncio.gather(*self.readers, return_exceptions=True)

    def unexpected_closes(self) -> Counter[int | None]:
        return Counter(s.close_code for s in self.sockets if not s.open and not s.closing)


# --------------------------------------------------------------------------- fan-out


@dataclass
class Write:
    user: int
    key: tuple[str, int]  # (task id, version)
    acked: float
    expected: frozenset[int]  # the writer's sockets open at the acknowledgement
    measured: bool


@dataclass
class FanoutResult:
    writes: list[Write]
    http_latencies: list[float]  # from the scheduled send, successful writes
    errors: Counter[str]
    latencies: list[float]  # ack -> receipt, per delivery, measured writes only (>= 0)
    from_event: list[float]  # the event's time (at the write) -> receipt, measured writes
    before_ack: int  # deliveries that arrived before the HTTP response
    expected: int
    lost: int
    duplicates: int
    gaps: int
    refetches: Counter[str]
    closes: Counter[int | None]
    window_s: float
    server_cpu_s: float
    machine_cpu_s: float
    generator_cpu_s: float
    max_send_lag_s: float


class CpuMeter(Protocol):
    """What the fan-out reads of the server: a ServerProcess, or every process of an instance."""

    def cpu_seconds(self) -> float: ...


async def fanout(
    api_url: str, fleet: Fleet, users: list[User], server: CpuMeter, opts: Options
) -> FanoutResult:
    rng = random.Random(opts.seed * 7919)
    writes: list[Write] = []
    http_latencies: list[float] = []
    errors: Counter[str] = Counter()
    max_lag = 0.0
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=HTTP_CONNECTIONS, limit_per_host=HTTP_CONNECTIONS)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    serial = 0

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def write(user: User, scheduled: float, measured: bool) -> None:
            nonlocal serial, max_lag
            serial += 1
            max_lag = max(max_lag, perf_counter() - scheduled) if measured else max_lag
            headers = bearer(user.token)
            try:
                if user.task_ids and rng.random() < 0.5:
                    task_id = rng.choice(user.task_ids)
                    body = {"title": f"Edited #{serial}", "priority": rng.choice(PRIORITIES)}
                    call = session.patch(f"{api_url}/tasks/{task_id}", json=body, headers=headers)
                    expected_status = 200
                else:
                    body = {"title": f"Task #{serial}", "priority": rng.choice(PRIORITIES)}
                    call = session.post(f"{api_url}/tasks", json=body, headers=headers)
                    expected_status = 201
                async with call as resp:
                    payload = await resp.read()
                    acked = perf_counter()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                if measured:
                    errors[type(exc).__name__] += 1
                return
            if status != expected_status:
                if measured:
                    errors[f"HTTP {status}"] += 1
                return
            task = json.loads(payload)
            if status == 201:
                user.task_ids.append(str(task["id"]))
            open_now = frozenset(s.index for s in fleet.by_user[user.index] if s.open)
            key = (str(task["id"]), int(task["version"]))
            writes.append(Write(user.index, key, acked, open_now, measured))
            if measured:
                http_latencies.append(acked - scheduled)

        start = perf_counter() + 0.1
        measure_from = start + opts.warmup_s
        end = measure_from + opts.duration_s
        inflight: set[asyncio.Task[None]] = set()
        meters: dict[str, float] = {}

        async def meter() -> None:
            await asyncio.sleep(max(0.0, measure_from - perf_counter()))
            meters.update(
                server=server.cpu_seconds(), machine=system_busy_seconds(), me=time.process_time()
            )
            await asyncio.sleep(max(0.0, end - perf_counter()))
            meters.update(
                server=server.cpu_seconds() - meters["server"],
                machine=system_busy_seconds() - meters["machine"],
                me=time.process_time() - meters["me"],
            )

        metering = loop.create_task(meter())
        scheduled = start
        while True:
            scheduled += rng.expovariate(opts.rate)
            if scheduled >= end:
                break
            delay = scheduled - perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            user = users[rng.randrange(len(users))]
            task = loop.create_task(write(user, scheduled, scheduled >= measure_from))
            inflight.add(task)
            task.add_done_callback(inflight.discard)
        if inflight:
            await asyncio.wait(inflight, timeout=REQUEST_TIMEOUT_S + 5.0)
        await metering

    # Let the last messages arrive: every expected delivery, or the drain timeout.
    deadline = perf_counter() + DRAIN_TIMEOUT_S
    waiting = list(writes)
    while waiting and perf_counter() < deadline:
        waiting = [w for w in waiting if not w.expected <= fleet.received_by(w.key)]
        if waiting:
            await asyncio.sleep(0.25)

    latencies: list[float] = []
    before_ack = expected = lost = duplicates = 0
    for w in writes:
        receipts = fleet.changes.get(w.key, [])
        first: dict[int, float] = {}
        for index, received in receipts:
            if index in first:
                duplicates += 1
            else:
                first[index] = received
        for index in w.expected:
            expected += 1
            if index not in first:
                lost += 1
            elif w.measured:
                delta = first[index] - w.acked
                before_ack += delta < 0
                latencies.append(max(0.0, delta))
    latencies.sort()
    http_latencies.sort()
    from_event = sorted(lag for w in writes if w.measured for lag in fleet.stamp_lag.get(w.key, ()))
    return FanoutResult(
        writes=writes,
        http_latencies=http_latencies,
        errors=errors,
        latencies=latencies,
        from_event=from_event,
        before_ack=before_ack,
        expected=expected,
        lost=lost,
        duplicates=duplicates,
        gaps=sum(s.gaps for s in fleet.sockets),
        refetches=sum((s.refetches for s in fleet.sockets), Counter()),
        closes=fleet.unexpected_closes(),
        window_s=opts.duration_s,
        server_cpu_s=meters.get("server", math.nan),
        machine_cpu_s=meters.get("machine", math.nan),
        generator_cpu_s=meters.get("me", math.nan),
        max_send_lag_s=max_lag,
    )


# --------------------------------------------------------------------------- reminders


@dataclass
class ReminderResult:
    planned: int
    created: int
    create_errors: Counter[str]
    late_creates: int  # created after their reminder was due
    lateness: list[float]  # fired_at - remind_at, seconds, sorted
    delivered_after: list[float]  # received (wall clock) - remind_at, seconds, sorted
    early: int
    duplicates: int
    unmatched: int
    waited_s: float


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


async def reminders(api_url: str, fleet: Fleet, users: list[User], opts: Options) -> ReminderResult:
    rng = random.Random(opts.seed * 104_729)
    start = datetime.now(UTC) + timedelta(seconds=opts.reminder_lead_s + 1.0)
    offsets = sorted(rng.uniform(0, opts.reminder_window_s) for _ in range(opts.reminders))
    plan = [start + timedelta(seconds=o) for o in offsets]
    created: dict[str, datetime] = {}  # remind_at as the server echoes it (ISO) -> planned
    create_errors: Counter[str] = Counter()
    late_creates = 0
    before = len(fleet.notifications)
    connector = aiohttp.TCPConnector(limit=HTTP_CONNECTIONS, limit_per_host=HTTP_CONNECTIONS)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    lead = timedelta(seconds=opts.reminder_lead_s)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def create(n: int, remind_at: datetime) -> None:
            nonlocal late_creates
            user = users[n % len(users)]
            body = {
                "title": f"Reminder #{n}",
                "reminders": [{"at": remind_at.isoformat().replace("+00:00", "Z")}],
            }
            try:
                url = f"{api_url}/tasks"
                async with session.post(url, json=body, headers=bearer(user.token)) as resp:
                    payload = await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                create_errors[type(exc).__name__] += 1
                return
            if status != 201:
                create_errors[f"HTTP {status}"] += 1
                return
            if datetime.now(UTC) > remind_at:
                late_creates += 1
            task = json.loads(payload)
            for reminder in task.get("reminders", []):
                echoed = _moment(reminder.get("remind_at"))
                if echoed is not None:
                    created[f"{task['id']}@{echoed.isoformat()}"] = remind_at

        tasks = []
        for n, remind_at in enumerate(plan):
            wait = (remind_at - lead - datetime.now(UTC)).total_seconds()
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(create(n, remind_at)))
        await asyncio.gather(*tasks)

    # Wait for every notification, or until the last reminder is well past.
    waited_from = perf_counter()
    deadline = plan[-1] + timedelta(seconds=NOTIFICATION_GRACE_S) if plan else datetime.now(UTC)
    while datetime.now(UTC) < deadline:
        if len(fleet.notifications) - before >= len(created):
            break
        await asyncio.sleep(0.25)

    lateness: list[float] = []
    delivered_after: list[float] = []
    seen: set[str] = set()
    early = duplicates = unmatched = 0
    for received_wall, data in fleet.notifications[before:]:
        wanted, fired = _moment(data.get("remind_at")), _moment(data.get("fired_at"))
        key = f"{data.get('task_id')}@{wanted.isoformat() if wanted else None}"
        if wanted is None or fired is None or key not in created:
            unmatched += 1
            continue
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        late = (fired - wanted).total_seconds()
        early += late < 0
        lateness.append(late)
        delivered_after.append(received_wall - wanted.timestamp())
    lateness.sort()
    delivered_after.sort()
    return ReminderResult(
        planned=len(plan),
        created=len(created),
        create_errors=create_errors,
        late_creates=late_creates,
        lateness=lateness,
        delivered_after=delivered_after,
        early=early,
        duplicates=duplicates,
        unmatched=unmatched,
        waited_s=perf_counter() - waited_from,
    )


# --------------------------------------------------------------------------- report


def fanout_report(result: FanoutResult, opts: Options) -> str:
    lat, http, stamped = result.latencies, result.http_latencies, result.from_event
    measured = sum(1 for w in result.writes if w.measured)
    rows = [
        [
            "write acknowledged -> message on each of the writer's sockets",
            str(len(lat)),
            ms(percentile(lat, 50)),
            ms(percentile(lat, 95)),
            ms(percentile(lat, 99)),
            ms(lat[-1] if lat else math.nan),
        ],
        [
            "event stamped by the server (in the write) -> message",
            str(len(stamped)),
            ms(percentile(stamped, 50)),
            ms(percentile(stamped, 95)),
            ms(percentile(stamped, 99)),
            ms(stamped[-1] if stamped else math.nan),
        ],
        [
            "write HTTP round trip (from scheduled send)",
            str(len(http)),
            ms(percentile(http, 50)),
            ms(percentile(http, 95)),
            ms(percentile(http, 99)),
            ms(http[-1] if http else math.nan),
        ],
    ]
    lines = [
        f"Fan-out: {opts.connections} WebSockets ({opts.users} users x {opts.per_user}), "
        f"Poisson writes at {opts.rate:g}/s (creates and updates), {opts.duration_s:g} s "
        f"measured after {opts.warmup_s:g} s warm-up",
        table(["measure", "count", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows),
        f"  writes measured: {measured} ({measured / opts.duration_s:.1f}/s); "
        f"errors: {dict(result.errors) or 0}",
        f"  deliveries expected (all writes, sockets open at the ack): {result.expected}; "
        f"lost: {result.lost}; duplicates: {result.duplicates}; offset gaps: {result.gaps}",
        f"  deliveries that arrived before the HTTP response (counted as 0 ms): "
        f"{result.before_ack}",
    ]
    if result.refetches:
        lines.append(f"  refetch messages: {dict(result.refetches)}")
    if result.closes:
        lines.append(f"  sockets closed by the server: {dict(result.closes)}")
    others = (result.machine_cpu_s - result.server_cpu_s - result.generator_cpu_s) / result.window_s
    lines.append(
        f"  CPU (100% = one core): server {result.server_cpu_s / result.window_s:.0%}, "
        f"load generator {result.generator_cpu_s / result.window_s:.0%}, "
        f"everything else {others:.0%}; worst send lag {ms(result.max_send_lag_s)} ms"
    )
    if others > BUSY_MACHINE_CORES:
        lines.append(
            "  WARNING: other processes took a good share of the CPU; figures are pessimistic"
        )
    return "\n".join(lines)


def reminders_report(result: ReminderResult, opts: Options) -> str:
    head = (
        f"Reminders: {result.planned} tasks with an absolute reminder over "
        f"{opts.reminder_window_s:g} s, each created {opts.reminder_lead_s:g} s ahead; "
        f"one WebSocket per user"
    )
    lines = [head, f"  created: {result.created}; errors: {dict(result.create_errors) or 0}"]
    if result.late_creates:
        lines.append(f"  created only after their reminder was due: {result.late_creates}")
    if not result.lateness:
        lines.append(
            f"  NO NOTIFICATIONS ARRIVED within {NOTIFICATION_GRACE_S:g} s after the last "
            "reminder: the reminders/notifier services are not wired (or not working), "
            "so lateness cannot be measured."
        )
        if result.unmatched:
            lines.append(f"  ({result.unmatched} notification messages matched none of ours)")
        return "\n".join(lines)
    late, delivered = result.lateness, result.delivered_after
    rows = [
        [
            "fired_at - remind_at",
            str(len(late)),
            ms(late[0]),
            ms(percentile(late, 50)),
            ms(percentile(late, 99)),
            ms(late[-1]),
        ],
        [
            "received on the socket - remind_at",
            str(len(delivered)),
            ms(delivered[0]),
            ms(percentile(delivered, 50)),
            ms(percentile(delivered, 99)),
            ms(delivered[-1]),
        ],
    ]
    lines.append(table(["lateness", "count", "min ms", "p50 ms", "p99 ms", "max ms"], rows))
    lines.append(
        f"  notifications: {len(late)} of {result.created} ({result.created - len(late)} "
        f"missing); early: {result.early}; duplicates: {result.duplicates}; "
        f"unmatched: {result.unmatched}"
    )
    return "\n".join(lines)


def targets_report(
    fan: FanoutResult | None, added_rss: int | None, rem: ReminderResult | None, opts: Options
) -> str:
    rows = []
    if fan is not None:
        p95 = percentile(fan.latencies, 95)
        rows.append(
            [
                "fan-out p95 (ack -> other socket)",
                "<= 50 ms",
                f"{ms(p95)} ms",
                verdict(p95 <= FANOUT_P95_TARGET_S),
            ]
        )
        rows.append(["messages lost", "0", str(fan.lost), verdict(fan.lost == 0)])
    if added_rss is not None:
        rows.append(
            [
                f"RSS added by {opts.connections} idle sockets",
                "<= 100 MB",
                f"{added_rss / MB:.1f} MB",
                verdict(added_rss <= CONNECTIONS_RSS_TARGET_BYTES),
            ]
        )
    if rem is not None:
        if rem.lateness:
            p99 = percentile(rem.lateness, 99)
            ok = p99 <= LATENESS_P99_TARGET_S
            rows.append(["reminder lateness p99", "<= 1 s", f"{ms(p99)} ms", verdict(ok)])
            rows.append(["early firings", "0", str(rem.early), verdict(rem.early == 0)])
            missing = rem.created - len(rem.lateness)
            rows.append(["reminders never notified", "0", str(missing), verdict(missing == 0)])
        else:
            rows.append(["reminder lateness p99", "<= 1 s", "no notifications", "MISS"])
            rows.append(["early firings", "0", "no notifications", "MISS"])
    return "Targets\n" + table(["target", "goal", "measured", ""], rows)


# --------------------------------------------------------------------------- main


def _raise_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _settle(server: ServerProcess, seconds: float) -> int:
    time.sleep(seconds)
    return server.rss_bytes()


async def _measure(server: ServerProcess, opts: Options) -> int:
    api_url = server.base_url + API_PREFIX
    ws_url = server.base_url.replace("http://", "ws://") + API_PREFIX + "/ws"
    rng = random.Random(opts.seed)
    loop = asyncio.get_running_loop()

    started = perf_counter()
    try:
        users = await sign_up(api_url, opts.users, rng)
    except (SetupError, aiohttp.ClientError, TimeoutError) as exc:
        return fail(f"sign-up: {exc!r}", server)
    print(f"signed up {len(users)} users in {perf_counter() - started:.1f} s", flush=True)

    before = await loop.run_in_executor(None, _settle, server, opts.idle_s)
    fleet = Fleet(ws_url, opts.compress)
    connector = aiohttp.TCPConnector(limit=0)  # WebSockets hold their connection
    async with aiohttp.ClientSession(connector=connector) as session:
        started = perf_counter()
        try:
            await fleet.open(session, users, opts.per_user)
        except (SetupError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            return fail(f"opening WebSockets: {exc!r}", server)
        took = perf_counter() - started
        print(f"opened {len(fleet.sockets)} WebSockets in {took:.1f} s", flush=True)
        after = await loop.run_in_executor(None, _settle, server, opts.idle_s)
        added = after - before
        print(
            f"\nServer RSS: {before / MB:.1f} MB before the sockets, {after / MB:.1f} MB with "
            f"{len(fleet.sockets)} idle sockets open: +{added / MB:.1f} MB "
            f"({added / max(1, len(fleet.sockets)) / 1024:.1f} KB per socket; "
            f"permessage-deflate {'offered' if opts.compress else 'not offered'})",
            flush=True,
        )

        print("\nfan-out ...", flush=True)
        fan = await fanout(api_url, fleet, users, server, opts)
        print(fanout_report(fan, opts), flush=True)
        measured = sum(1 for w in fan.writes if w.measured)
        if measured == 0 or sum(fan.errors.values()) > measured:
            return fail("most writes failed", server)
        print(f"  server RSS after the writes: {server.rss_bytes() / MB:.1f} MB")

        rem = None
        if opts.reminders:
            keep = [sockets[0] for sockets in fleet.by_user.values()]
            await fleet.close([s for s in fleet.sockets if s not in keep])
            print(
                f"\nreminders ... (about {opts.reminder_window_s + opts.reminder_lead_s:.0f} s "
                f"and up to {NOTIFICATION_GRACE_S:g} s more)",
                flush=True,
            )
            rem = await reminders(api_url, fleet, users, opts)
            print(reminders_report(rem, opts))
        await fleet.close_all()

    print()
    print(targets_report(fan, added, rem, opts))
    if server.popen.poll() is not None:
        return fail(f"the server exited with code {server.popen.returncode}", server)
    return 0


def run(opts: Options, workdir: Path) -> int:
    soft = raise_open_files()
    needed = opts.connections + HTTP_CONNECTIONS * 2 + 100
    print(f"open-file limit: {soft} (the bench and the server; {needed} needed)")
    if soft < needed:
        return fail(f"the open-file limit {soft} is below the {needed} this run needs")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"cores: {os.cpu_count()}; load average before start: {load}; work dir {workdir}")
    server = start_server(workdir)
    try:
        try:
            took = server.wait_ready("/readyz")
        except ServerStartError as exc:
            return fail(str(exc), server)
        print(f"taskstream up ready in {took:.1f} s", flush=True)
        return uvloop.run(_measure(server, opts))
    finally:
        server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    workdir = Path(tempfile.mkdtemp(prefix="taskstream-events-"))
    try:
        return run(opts, workdir)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        if opts.keep_data:
            print(f"data and logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
