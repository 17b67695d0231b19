"""Benchmark of the distributed shape (six services, Dapr sidecars, Kafka); prints figures.

    .venv/bin/python bench/distributed.py [--rate 100] [--duration 20] [--users 50]
        [--per-user 4] [--outbox-events 4000] [--reminders 300] [--reminder-window 30]

Starts an instance of its own with `scripts/distributed.sh up` on ports and directories
that no developer's or test's instance uses (TMPDIR=/tmp/taskstream-bench-$UID, PostgreSQL
25452, Kafka 29292, gateway 28000, ...; a clean slate each time), and stops it with `down`
at the end, also on Ctrl-C. Its logs stay there until the next run.

1. Floor: the same Kafka, a plain client (aiokafka) in this process: open-loop Poisson
   produces at --rate of 1 KB messages (acks=all, linger 0) to a topic of 3 partitions,
   consumed by this process; latency = consumed - handed to the producer.
2. The system: --users users signed up through the gateway, each with --per-user
   WebSockets; open-loop task writes at --rate (bench/events.py's fan-out); latency = the
   write's HTTP response received -> its `task.changed` message on each of the writer's
   sockets: api, outbox relay, daprd, Kafka, daprd, sync, gateway.
3. Throughput: --outbox-events `task.created` facts put straight into the outbox in one
   transaction, as if that many writes had just committed; the time until the relay has
   published them all through daprd (rows marked sent) and until the audit service has
   recorded them all (activity rows). The rate between 10% and 90% of the rows is the
   sustained one: it leaves out the relay's wake-up (it polls once a second for rows other
   processes wrote) and the tail.
4. Reminder lateness: bench/events.py's reminders phase, one socket per user.

Before phases 3 and 4 the bench waits (up to a minute) until the outbox is empty and every
service's consumer group has committed the end of its topics, so that an overloaded
phase's backlog is not charged to the next one.

The targets of the distributed shape close the output. The machine is shared by all
these processes and the load generator, so the cores and load average are printed too.

Exit status 0 when the run completed, whatever the figures (failed writes included); 1 when
the instance does not start, sign-up fails, the floor cannot be measured or no write makes
it to a WebSocket.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import Final

import aiohttp
import psutil  # type: ignore[import-untyped]
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from _load import ms, percentile, system_busy_seconds, table
from api import verdict
from events import (
    API_PREFIX,
    DRAIN_TIMEOUT_S,
    HTTP_CONNECTIONS,
    NOTIFICATION_GRACE_S,
    FanoutResult,
    Fleet,
    Options,
    ReminderResult,
    SetupError,
    fanout,
    fanout_report,
    raise_open_files,
    reminders,
    reminders_report,
    sign_up,
)
from taskstream.adapters.db.tables import activity, outbox
from taskstream.app.events import CloudEvent, EventType

ROOT: Final = Path(__file__).resolve().parent.parent
LAUNCHER: Final = ROOT / "scripts" / "distributed.sh"

# The bench's own instance: nothing else on the machine uses these.
INSTANCE_ENV: Final = {
    "TASKSTREAM_PG_PORT": "25452",
    "TASKSTREAM_KAFKA_PORT": "29292",
    "TASKSTREAM_SCHEDULER_PORT": "26026",
    "TASKSTREAM_SCHEDULER_HEALTHZ_PORT": "26106",
    "TASKSTREAM_SCHEDULER_ETCD_PORT": "26379",
    "TASKSTREAM_DIST_PORT": "28000",
    "TASKSTREAM_DIST_APP_PORT_BASE": "28100",
    "TASKSTREAM_DIST_DAPR_HTTP_BASE": "23600",
    "TASKSTREAM_DIST_DAPR_GRPC_BASE": "23700",
    "TASKSTREAM_DIST_DATABASE": "taskstream_bench",
    "TASKSTREAM_DIST_FRESH": "1",
    # Tokens must outlive the run; the bench signs up and logs in every user from one
    # address.
    "TASKSTREAM_ACCESS_TOKEN_MINUTES": "240",
    "TASKSTREAM_SIGNUPS_PER_ADDRESS": "100000",
    "TASKSTREAM_LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
    "TASKSTREAM_LOGIN_ATTEMPTS_PER_ACCOUNT": "100000",
}

# Targets
ADDED_P95_TARGET_S: Final = 0.050  # system p95 over the floor's p95
SYSTEM_P95_TARGET_S: Final = 0.150
EVENTS_PER_S_TARGET: Final = 300.0
LATENESS_P99_TARGET_S: Final = 2.0

FLOOR_TOPIC: Final = "bench-floor"
FLOOR_PARTITIONS: Final = 3  # as the system's topics
FLOOR_PAYLOAD_BYTES: Final = 1024  # about a task.changed message
OUTBOX_USERS: Final = 20  # lanes of the relay: one per (topic, user)
OUTBOX_TIMEOUT_S: Final = 120.0
OUTBOX_POLL_S: Final = 0.1
SETTLE_TIMEOUT_S: Final = 60.0


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class DistOptions:
    events: Options  # what bench/events.py's phases read
    outbox_events: int


def parse_args(argv: Sequence[str] | None = None) -> DistOptions:
    parser = argparse.ArgumentParser(
        description="Benchmark the distributed shape against a plain Kafka client.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--users", type=int, default=50, help="users signed up")
    add("--per-user", type=int, default=4, help="WebSockets open per user")
    add("--rate", type=float, default=100.0, help="writes (and raw produces) per second")
    add("--duration", type=float, default=20.0, help="measured seconds of each latency phase")
    add("--warmup", type=float, default=3.0, help="seconds before, not measured")
    add("--outbox-events", type=int, default=4000, help="events for the throughput; 0 skips")
    add("--reminders", type=int, default=300, help="tasks with a reminder; 0 skips the phase")
    add("--reminder-window", type=float, default=30.0, help="seconds the reminders spread over")
    add("--reminder-lead", type=float, default=5.0, help="a task is created this long before")
    add("--seed", type=int, default=1, help="random seed")
    args = parser.parse_args(argv)
    if args.users < 1 or args.per_user < 1 or args.rate <= 0 or args.duration <= 0:
        parser.error("--users, --per-user, --rate and --duration must be positive")
    return DistOptions(
        events=Options(
            users=args.users,
            per_user=args.per_user,
            rate=args.rate,
            duration_s=args.duration,
            warmup_s=args.warmup,
            reminders=args.reminders,
            reminder_window_s=args.reminder_window,
            reminder_lead_s=args.reminder_lead,
            compress=True,
            idle_s=0.0,
            seed=args.seed,
            keep_data=False,
        ),
        outbox_events=args.outbox_events,
    )


# --------------------------------------------------------------------------- the instance


class InstanceError(RuntimeError):
    """The launcher failed."""


@dataclass
class Instance:
    """The bench's own distributed instance, driven through scripts/distributed.sh."""

    env: dict[str, str]
    log_path: Path
    settings: dict[str, str] = field(default_factory=dict)
    trees: dict[str, int] = field(default_factory=dict)  # name -> pid of its root process

    @classmethod
    def for_bench(cls) -> Instance:
        # A short path: Kafka's and Dapr's Unix sockets live below it. Ours alone, checked.
        base = Path(f"/tmp/taskstream-bench-{os.getuid()}")  # noqa: S108
        base.mkdir(exist_ok=True)
        if base.is_symlink() or base.stat().st_uid != os.getuid():
            raise InstanceError(f"{base} is a symbolic link or someone else's; remove it")
        # Others may pass through but not list or write: run as root, PostgreSQL runs as
        # its own user and keeps its cluster in a directory of its own below this one.
        base.chmod(0o711)
        # The caller's own instance settings must not leak in (its run directory above all).
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKSTREAM_DIST_")}
        env.update(INSTANCE_ENV, TMPDIR=str(base))
        log_path = base / "launcher.log"
        log_path.write_text("")  # this run's output only
        return cls(env=env, log_path=log_path)

    def _launcher(self, *args: str, new_session: bool = False) -> subprocess.CompletedProcess[str]:
        with self.log_path.open("a") as log:
            log.write(f"\n$ scripts/distributed.sh {' '.join(args)}\n")
            log.flush()
            return subprocess.run(
                ["bash", str(LAUNCHER), *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if args[0] in {"env", "status"} else log,
                stderr=log,
                text=True,
                env=self.env,
                cwd=ROOT,
                check=False,
                start_new_session=new_session,
            )

    def up(self) -> float:
        started = perf_counter()
        if self._launcher("up").returncode != 0:
            raise InstanceError(f"`scripts/distributed.sh up` failed; see {self.log_path}")
        done = self._launcher("env")
        if done.returncode != 0:
            raise InstanceError(f"`scripts/distributed.sh env` failed; see {self.log_path}")
        self.settings = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        self.trees = self._trees()
        return perf_counter() - started

    def down(self) -> bool:
        """Stop everything; a second Ctrl-C (or a SIGTERM) must not leave half of it running."""
        previous = {
            sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            return self._launcher("down", new_session=True).returncode == 0
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _trees(self) -> dict[str, int]:
        """The apps, sidecars, gateway, scheduler, Kafka and PostgreSQL, by name."""
        trees: dict[str, int] = {}
        service = ""
        # Lines like "api        runs (pid 767)  app ..." then "  daprd    runs (pid 590)  ...".
        for line in self._launcher("status").stdout.splitlines():
            found = re.search(r"^(\s*)(\S+)\s+runs \(pid (\d+)\)", line)
            if found is None:
                continue
            indent, name, pid = found.groups()
            if indent:
                name = f"{name} ({service})"
            else:
                service = name
            trees[name] = int(pid)
        postmaster = Path(self.env["TMPDIR"]) / f"taskstream-pg-{os.getuid()}/data/postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            trees["postgres"] = int(postmaster.read_text().split()[0])
        return trees

    def cpu_by_tree(self) -> dict[str, float]:
        """CPU seconds so far of each process tree of the instance, children included.

        Terminated children count through their parent's children_* times (PostgreSQL
        backends, for one), so a process that ended during a window is not lost.
        """
        out: dict[str, float] = {}
        for name, pid in self.trees.items():
            total = 0.0
            with contextlib.suppress(psutil.NoSuchProcess):
                root = psutil.Process(pid)
                for proc in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        t = proc.cpu_times()
                        total += t.user + t.system + t.children_user + t.children_system
            out[name] = total
        return out

    def cpu_seconds(self) -> float:
        return sum(self.cpu_by_tree().values())

    def process_count(self) -> int:
        count = 0
        for pid in self.trees.values():
            with contextlib.suppress(psutil.NoSuchProcess):
                count += 1 + len(psutil.Process(pid).children(recursive=True))
        return count

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no launcher log)"
        return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------- the floor


@dataclass
class FloorResult:
    latencies: list[float]  # handed to the producer -> consumed, measured, sorted
    acks: list[float]  # handed to the producer -> acknowledged by the broker, sorted
    sent: int  # measured or not, acknowledged
    lost: int
    duplicates: int
    errors: Counter[str]
    max_send_lag_s: float


async def _create_topic(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(FLOOR_TOPIC, num_partitions=FLOOR_PARTITIONS, replication_factor=1)]
        )
    finally:
        await admin.close()
    for _topic, code, *_ in response.topic_errors:
        if code not in (0, 36):  # 36: the topic exists already
            raise SetupError(f"creating the topic {FLOOR_TOPIC}: Kafka error code {code}")


async def _partitions(producer: AIOKafkaProducer) -> list[TopicPartition]:
    deadline = perf_counter() + 30.0
    while perf_counter() < deadline:
        found = await producer.partitions_for(FLOOR_TOPIC)
        if found and len(found) == FLOOR_PARTITIONS:
            return [TopicPartition(FLOOR_TOPIC, p) for p in sorted(found)]
        await asyncio.sleep(0.2)
    raise SetupError(f"the topic {FLOOR_TOPIC} has no partitions after 30 s")


async def kafka_floor(bootstrap: str, opts: Options) -> FloorResult:
    await _create_topic(bootstrap)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await producer.start()
    try:
        await consumer.start()
        try:
            return await _round_trips(producer, consumer, opts)
        finally:
            await consumer.stop()
    finally:
        await producer.stop()


async def _round_trips(
    producer: AIOKafkaProducer, consumer: AIOKafkaConsumer, opts: Options
) -> FloorResult:
    partitions = await _partitions(producer)
    # Partitions assigned, not a group: no rebalance to wait for.
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)
    for partition in partitions:
        await consumer.position(partition)  # resolved now, not at the first fetch
    handed: dict[int, float] = {}
    received: dict[int, float] = {}
    duplicates = 0

    all_in = asyncio.Event()  # set once the sends are over and every acked one came back
    draining = False

    async def consume() -> None:
        nonlocal duplicates
        async for message in consumer:
            now = perf_counter()
            serial = int(message.value[:12])
            if serial in received:
                duplicates += 1
            else:
                received[serial] = now
            if draining and acked <= received.keys():
                all_in.set()

    loop = asyncio.get_running_loop()
    reader = loop.create_task(consume())
    rng = random.Random(opts.seed * 31)
    padding = b"x" * (FLOOR_PAYLOAD_BYTES - 12)
    acks: list[float] = []
    acked: set[int] = set()
    measured: set[int] = set()
    errors: Counter[str] = Counter()
    max_lag = 0.0

    async def send(serial: int, scheduled: float, is_measured: bool) -> None:
        nonlocal max_lag
        handed[serial] = sent = perf_counter()
        if is_measured:
            max_lag = max(max_lag, sent - scheduled)
        try:
            key = f"user-{serial % opts.users}".encode()  # as user ids
            delivery = await producer.send(FLOOR_TOPIC, f"{serial:012d}".encode() + padding, key)
            await delivery
        except KafkaError as exc:
            errors[type(exc).__name__] += 1
            return
        acked.add(serial)
        if is_measured:
            acks.append(perf_counter() - sent)
            measured.add(serial)

    start = perf_counter() + 0.1
    measure_from = start + opts.warmup_s
    end = measure_from + opts.duration_s
    inflight: set[asyncio.Task[None]] = set()
    scheduled, serial = start, 0
    while True:
        scheduled += rng.expovariate(opts.rate)
        if scheduled >= end:
            break
        delay = scheduled - perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        serial += 1
        task = loop.create_task(send(serial, scheduled, scheduled >= measure_from))
        inflight.add(task)
        task.add_done_callback(inflight.discard)
    if inflight:
        await asyncio.wait(inflight, timeout=DRAIN_TIMEOUT_S)
    draining = True
    if acked <= received.keys():
        all_in.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_in.wait(), DRAIN_TIMEOUT_S)
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader
    return FloorResult(
        latencies=sorted(received[s] - handed[s] for s in measured if s in received),
        acks=sorted(acks),
        sent=len(acked),
        lost=len(acked - received.keys()),
        duplicates=duplicates,
        errors=errors,
        max_send_lag_s=max_lag,
    )


def floor_report(result: FloorResult, opts: Options) -> str:
    lat, acks = result.latencies, result.acks
    rows = [
        ["produce -> consume", str(len(lat)), *(ms(percentile(lat, p)) for p in (50, 95, 99))],
        ["produce -> broker ack", str(len(acks)), *(ms(percentile(acks, p)) for p in (50, 95, 99))],
    ]
    lines = [
        f"Floor: aiokafka against the instance's broker, Poisson produces at {opts.rate:g}/s "
        f"of {FLOOR_PAYLOAD_BYTES} B messages over {opts.users} keys to a topic of "
        f"{FLOOR_PARTITIONS} partitions (acks=all on one broker: the same as acks=1; linger "
        f"0), consumed in this process; {opts.duration_s:g} s measured after "
        f"{opts.warmup_s:g} s",
        table(["measure", "count", "p50 ms", "p95 ms", "p99 ms"], rows),
        f"  acknowledged: {result.sent}; lost: {result.lost}; duplicates: {result.duplicates}; "
        f"errors: {dict(result.errors) or 0}; worst send lag {ms(result.max_send_lag_s)} ms",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- throughput


@dataclass
class ThroughputResult:
    events: int
    insert_s: float
    # (seconds since the commit, rows marked sent, rows recorded by audit)
    samples: list[tuple[float, int, int]]
    cpu_s: float  # of the instance, from the commit to the end of the phase
    machine_cpu_s: float

    def _series(self, column: int) -> list[tuple[float, int]]:
        return [(sample[0], sample[column]) for sample in self.samples]

    def crossing(self, column: int, level: float) -> float:
        """Seconds after the commit at which the column reached `level` (interpolated)."""
        before_t, before_n = 0.0, 0
        for t, n in self._series(column):
            if n >= level:
                if n == before_n:
                    return t
                return before_t + (t - before_t) * (level - before_n) / (n - before_n)
            before_t, before_n = t, n
        return math.nan

    def done(self, column: int) -> int:
        return self.samples[-1][column] if self.samples else 0

    def overall_rate(self, column: int) -> float:
        took = self.crossing(column, self.events)
        return self.events / took if took > 0 else math.nan

    def sustained_rate(self, column: int) -> float:
        """Events per second between 10% and 90% of the events."""
        low, high = (
            self.crossing(column, 0.1 * self.events),
            self.crossing(column, 0.9 * self.events),
        )
        return 0.8 * self.events / (high - low) if high > low else math.nan

    @property
    def window_s(self) -> float:
        return self.samples[-1][0] if self.samples else math.nan


SENT: Final = 1
RECORDED: Final = 2


def _task_created(user_id: str, now: datetime, n: int) -> CloudEvent:
    """A `task.created` fact as the api writes it, for a task that no table holds."""
    task_id = str(uuid.uuid4())
    stamp = now.isoformat().replace("+00:00", "Z")
    task = {  # the shape of taskstream.app.events.task_data
        "id": task_id,
        "owner_id": user_id,
        "title": f"Outbox #{n}",
        "description": "",
        "status": "open",
        "priority": "none",
        "tags": [],
        "due_date": None,
        "due_time": None,
        "due_at": None,
        "timezone": "UTC",
        "reminders": [],
        "recurrence": None,
        "series_id": None,
        "occurrence": 0,
        "created_at": stamp,
        "updated_at": stamp,
        "completed_at": None,
        "version": 1,
    }
    return CloudEvent(
        id=str(uuid.uuid4()),
        type=EventType.TASK_CREATED,
        source="/bench/distributed",
        userid=user_id,
        data={"task": task},
        time=now,
        subject=task_id,
    )


async def _counts(engine: AsyncEngine, user_ids: list[str]) -> tuple[int, int]:
    async with engine.connect() as conn:
        sent = await conn.scalar(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.partition_key.in_(user_ids), outbox.c.sent_at.is_not(None))
        )
        recorded = await conn.scalar(
            select(func.count()).select_from(activity).where(activity.c.user_id.in_(user_ids))
        )
    return int(sent or 0), int(recorded or 0)


async def outbox_throughput(database_url: str, count: int, instance: Instance) -> ThroughputResult:
    engine = create_async_engine(database_url)
    try:
        user_ids = [str(uuid.uuid4()) for _ in range(OUTBOX_USERS)]
        now = datetime.now(UTC)
        events = [_task_created(user_ids[n % OUTBOX_USERS], now, n) for n in range(count)]
        rows = [
            {
                "event_id": e.id,
                "topic": e.topic.value,
                "partition_key": e.partition_key,
                "payload": e.to_dict(),
                "created_at": e.time,
            }
            for e in events
        ]
        began = perf_counter()
        async with engine.begin() as conn:
            await conn.execute(insert(outbox), rows)
        committed = perf_counter()
        cpu_before, machine_before = instance.cpu_seconds(), system_busy_seconds()
        samples: list[tuple[float, int, int]] = []
        while perf_counter() - committed < OUTBOX_TIMEOUT_S:
            sent, recorded = await _counts(engine, user_ids)
            samples.append((perf_counter() - committed, sent, recorded))
            if sent >= count and recorded >= count:
                break
            await asyncio.sleep(OUTBOX_POLL_S)
        return ThroughputResult(
            events=count,
            insert_s=committed - began,
            samples=samples,
            cpu_s=instance.cpu_seconds() - cpu_before,
            machine_cpu_s=system_busy_seconds() - machine_before,
        )
    finally:
        await engine.dispose()


def throughput_report(result: ThroughputResult) -> str:
    rows = []
    for label, column in (
        ("published by the relay through daprd (sent_at set)", SENT),
        ("recorded by audit (activity rows)", RECORDED),
    ):
        took = result.crossing(column, result.events)
        rows.append(
            [
                label,
                f"{result.done(column)}/{result.events}",
                "-" if math.isnan(took) else f"{took:.1f}",
                f"{result.overall_rate(column):.0f}",
                f"{result.sustained_rate(column):.0f}",
            ]
        )
    window = result.window_s
    return "\n".join(
        [
            f"Outbox relay + Dapr: {result.events} task.created facts of {OUTBOX_USERS} users put "
            f"in the outbox in one transaction ({result.insert_s:.2f} s); times from its commit",
            table(["measure", "done", "all in s", "events/s", "events/s 10-90%"], rows),
            f"  CPU over those {window:.1f} s (100% = one core): instance "
            f"{result.cpu_s / window:.0%}, whole machine {result.machine_cpu_s / window:.0%}",
        ]
    )


# --------------------------------------------------------------------------- settling


async def _kafka_lag(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer) -> int:
    """Messages the services' consumer groups have not committed yet, all topics summed."""
    lag = 0
    for group, *_ in await admin.list_consumer_groups():
        offsets = await admin.list_consumer_group_offsets(group)
        if not offsets:
            continue
        ends = await consumer.end_offsets(list(offsets))
        lag += sum(
            max(0, ends[tp] - meta.offset) for tp, meta in offsets.items() if meta.offset >= 0
        )
    return lag


async def settle(instance: Instance) -> tuple[float, int, int]:
    """Wait until the outbox is empty and every consumer group has caught up, so that the
    backlog of one phase does not count in the next; (seconds waited, unsent rows, lag)."""
    bootstrap = instance.settings["KAFKA_BOOTSTRAP"]
    engine = create_async_engine(instance.settings["DATABASE_URL"])
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    started = perf_counter()
    unsent = lag = -1
    try:
        await admin.start()
        await consumer.start()
        while perf_counter() - started < SETTLE_TIMEOUT_S:
            async with engine.connect() as conn:
                unsent = int(
                    await conn.scalar(
                        select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
                    )
                    or 0
                )
            lag = await _kafka_lag(admin, consumer)
            if unsent == 0 and lag == 0:
                break
            await asyncio.sleep(0.5)
    finally:
        await consumer.stop()
        await admin.close()
        await engine.dispose()
    return perf_counter() - started, unsent, lag


async def settle_and_say(instance: Instance) -> None:
    print("waiting for the outbox and the consumers to catch up ...", end=" ", flush=True)
    took, unsent, lag = await settle(instance)
    if unsent == 0 and lag == 0:
        print(f"done in {took:.1f} s", flush=True)
    else:
        print(
            f"still {unsent} outbox rows unsent and {lag} messages not consumed after "
            f"{took:.0f} s; the next phase runs on a backlog",
            flush=True,
        )


# --------------------------------------------------------------------------- report


def comparison_report(floor: FloorResult, fan: FanoutResult) -> str:
    raw, system = floor.latencies, fan.latencies
    rows = []
    for pct in (50, 95, 99):
        r, s = percentile(raw, pct), percentile(system, pct)
        rows.append([f"p{pct}", ms(r), ms(s), ms(s - r)])
    return "Round trip: plain Kafka client vs the system (write acknowledged -> WebSocket)\n" + (
        table(["", "raw Kafka ms", "system ms", "difference ms"], rows)
    )


def targets_report(
    floor: FloorResult,
    fan: FanoutResult,
    put: ThroughputResult | None,
    rem: ReminderResult | None,
    opts: DistOptions,
) -> str:
    raw_p95, p95 = percentile(floor.latencies, 95), percentile(fan.latencies, 95)
    rate = opts.events.rate
    rows = [
        [
            f"system p95 over raw Kafka p95 at {rate:g} writes/s",
            "<= +50 ms",
            f"+{ms(p95 - raw_p95)} ms",
            verdict(p95 - raw_p95 <= ADDED_P95_TARGET_S),
        ],
        [
            f"system p95 at {rate:g} writes/s",
            "<= 150 ms",
            f"{ms(p95)} ms",
            verdict(p95 <= SYSTEM_P95_TARGET_S),
        ],
        [
            f"messages not on their sockets {DRAIN_TIMEOUT_S:g} s after the last write",
            "0",
            str(fan.lost),
            verdict(fan.lost == 0),
        ],
    ]
    if put is not None:
        for label, column in (
            ("relay -> daprd -> Kafka", SENT),
            ("... -> audit recorded", RECORDED),
        ):
            sustained = put.sustained_rate(column)
            rows.append(
                [
                    f"events/s sustained, {label}",
                    ">= 300/s",
                    f"{sustained:.0f}/s",
                    verdict(sustained >= EVENTS_PER_S_TARGET),
                ]
            )
    if rem is not None:
        if rem.lateness:
            p99 = percentile(rem.lateness, 99)
            missing = rem.created - len(rem.lateness)
            rows += [
                [
                    "reminder lateness p99",
                    "<= 2 s",
                    f"{ms(p99)} ms",
                    verdict(p99 <= LATENESS_P99_TARGET_S),
                ],
                ["reminders never notified", "0", str(missing), verdict(missing == 0)],
                ["early firings", "0", str(rem.early), verdict(rem.early == 0)],
            ]
        else:
            rows.append(["reminder lateness p99", "<= 2 s", "no notifications", "MISS"])
    return "Targets\n" + table(["target", "goal", "measured", ""], rows)


def cpu_line(before: dict[str, float], after: dict[str, float], seconds: float) -> str:
    """Where the instance's CPU went in a window, busiest first (100% = one core)."""
    used = sorted(((after[n] - before.get(n, 0.0), n) for n in after), reverse=True)
    shown = ", ".join(f"{name} {cpu / seconds:.0%}" for cpu, name in used if cpu / seconds >= 0.01)
    return f"  CPU by process over those {seconds:.0f} s (100% = one core): {shown}"


def load_line() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


# --------------------------------------------------------------------------- main


def fail(message: str, instance: Instance | None = None) -> int:
    print(f"\nFAILED: {message}", file=sys.stderr)
    if instance is not None and not instance.settings:
        print("\n--- last lines of the launcher's output ---", file=sys.stderr)
        print(instance.log_tail(), file=sys.stderr)
    elif instance is not None:
        print(
            f"the logs stay after `down`: {instance.settings.get('RUN_DIR')}/app-*.log, "
            f"{instance.settings.get('DAPR_RUN_DIR')}/daprd-*.log",
            file=sys.stderr,
        )
    return 1


async def _measure(instance: Instance, opts: DistOptions) -> int:
    ev = opts.events
    gateway = instance.settings["GATEWAY_URL"]
    api_url = gateway + API_PREFIX
    ws_url = gateway.replace("http://", "ws://") + API_PREFIX + "/ws"

    print("\nraw Kafka round trips ...", flush=True)
    try:
        floor = await kafka_floor(instance.settings["KAFKA_BOOTSTRAP"], ev)
    except (SetupError, KafkaError, OSError) as exc:
        return fail(f"the plain Kafka client: {exc!r}", instance)
    print(floor_report(floor, ev), flush=True)
    if not floor.latencies:
        return fail("no message came back through Kafka", instance)

    started = perf_counter()
    try:
        users = await sign_up(api_url, ev.users, random.Random(ev.seed))
    except (SetupError, aiohttp.ClientError, TimeoutError) as exc:
        return fail(f"sign-up: {exc!r}", instance)
    print(f"\nsigned up {len(users)} users in {perf_counter() - started:.1f} s", flush=True)

    fleet = Fleet(ws_url, ev.compress)
    connector = aiohttp.TCPConnector(limit=0)  # WebSockets hold their connection
    async with aiohttp.ClientSession(connector=connector) as session:
        started = perf_counter()
        try:
            await fleet.open(session, users, ev.per_user)
        except (SetupError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            return fail(f"opening WebSockets through the gateway: {exc!r}", instance)
        print(
            f"opened {len(fleet.sockets)} WebSockets through the gateway in "
            f"{perf_counter() - started:.1f} s",
            flush=True,
        )

        print("\nfan-out through the system ...", flush=True)
        cpu_before, began = instance.cpu_by_tree(), perf_counter()
        fan = await fanout(api_url, fleet, users, instance, ev)
        print(fanout_report(fan, ev))
        print(cpu_line(cpu_before, instance.cpu_by_tree(), perf_counter() - began))
        print(
            f"  ('server' is the whole instance: {instance.process_count()} processes, "
            "PostgreSQL, Kafka, the scheduler, six apps, six sidecars, the gateway)",
            flush=True,
        )
        # Failed writes are a figure of an overloaded system; none at all, a broken one.
        measured = sum(1 for w in fan.writes if w.measured)
        if measured == 0 or not fan.latencies:
            return fail("no write made it to a WebSocket", instance)
        if sum(fan.errors.values()) > measured:
            print("  WARNING: most writes failed: the figures below are of an overloaded system")
        print()
        print(comparison_report(floor, fan), flush=True)

        put = None
        if opts.outbox_events:
            print("\noutbox throughput ...", flush=True)
            await settle_and_say(instance)
            cpu_before = instance.cpu_by_tree()
            put = await outbox_throughput(
                instance.settings["DATABASE_URL"], opts.outbox_events, instance
            )
            print(throughput_report(put))
            print(cpu_line(cpu_before, instance.cpu_by_tree(), put.window_s), flush=True)

        rem = None
        if ev.reminders:
            keep = [sockets[0] for sockets in fleet.by_user.values()]
            await fleet.close([s for s in fleet.sockets if s not in keep])
            print(
                f"\nreminders ... (about {ev.reminder_window_s + ev.reminder_lead_s:.0f} s "
                f"and up to {NOTIFICATION_GRACE_S:g} s more)",
                flush=True,
            )
            await settle_and_say(instance)
            rem = await reminders(api_url, fleet, users, ev)
            print(reminders_report(rem, ev), flush=True)
        await fleet.close_all()

    print()
    print(targets_report(floor, fan, put, rem, opts))
    print(f"machine: {os.cpu_count()} cores; load average (1, 5, 15 min) now: {load_line()}")
    return 0


def run(opts: DistOptions, instance: Instance) -> int:
    ev = opts.events
    # The instance's processes inherit the raised limit from the launcher.
    soft = raise_open_files()
    needed = ev.users * ev.per_user + HTTP_CONNECTIONS * 2 + 100
    if soft < needed:
        return fail(f"the open-file limit {soft} is below the {needed} this run needs")
    print(
        f"cores: {os.cpu_count()}; load average before start: {load_line()}; "
        f"{ev.users} users x {ev.per_user} WebSockets, {ev.rate:g} writes/s"
    )
    print(
        f"starting the bench's own instance (scripts/distributed.sh up, gateway port "
        f"{INSTANCE_ENV['TASKSTREAM_DIST_PORT']}, TMPDIR={instance.env['TMPDIR']}) ...",
        flush=True,
    )
    try:
        took = instance.up()
    except InstanceError as exc:
        return fail(str(exc), instance)
    print(f"instance up in {took:.0f} s ({len(instance.trees)} process trees)", flush=True)
    return uvloop.run(_measure(instance, opts))


def _raise_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    # aiokafka warns while a new topic's metadata spreads; errors still show.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    try:
        instance = Instance.for_bench()
    except InstanceError as exc:
        return fail(str(exc))
    started = time.monotonic()
    status = 1
    try:
        status = run(opts, instance)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        status = 130
    finally:
        print("\nstopping the instance (scripts/distributed.sh down) ...", flush=True)
        if not instance.down():
            print(f"WARNING: `down` failed; see {instance.log_path}", file=sys.stderr)
        print(f"run time {time.monotonic() - started:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
