"""The in-process scheduler over its real table: never early, on time, at least once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from taskstream.adapters.db.database import Database
from taskstream.adapters.scheduler import InProcessScheduler
from taskstream.app.ports import Job
from taskstream.settings import Settings
from tests.conftest import AdjustableClock, eventually

ON_TIME = timedelta(seconds=1)
"""How late a job may fire on a busy machine."""


class Fired:
    """A job handler that records when each job came to it (by the scheduler's clock)."""

    def __init__(self, clock: AdjustableClock) -> None:
        self.clock = clock
        self.calls: list[tuple[Job, datetime]] = []
        self.fail_first = 0

    async def __call__(self, job: Job) -> None:
        self.calls.append((job, self.clock.now()))
        if len(self.calls) <= self.fail_first:
            raise RuntimeError(f"handler failure {len(self.calls)}")

    def of(self, name: str) -> list[tuple[Job, datetime]]:
        return [(job, at) for job, at in self.calls if job.name == name]

    def count(self, name: str) -> Callable[[], Any]:
        async def probe() -> int:
            return len(self.of(name))

        return probe


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    """The migrated test database, with no other loop (relay, scheduler) running on it."""
    db = Database(settings.sqlalchemy_url())
    yield db
    await db.dispose()


@contextlib.asynccontextmanager
async def running(scheduler: InProcessScheduler) -> AsyncIterator[None]:
    loop = asyncio.create_task(scheduler.run())
    try:
        yield
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop


def _scheduler(database: Database, clock: AdjustableClock, **kwargs: Any) -> InProcessScheduler:
    return InProcessScheduler(database, clock, **kwargs)


async def _gone(scheduler: InProcessScheduler, name: str) -> None:
    async def gone() -> bool:
        return await scheduler.get(name) is None

    await eventually(gone)


async def test_jobs_fire_in_order_never_early_and_within_a_second(
    database: Database, clock: AdjustableClock
) -> None:
    scheduler = _scheduler(database, clock)
    fired = Fired(clock)
    scheduler.on_fire("t/", fired)
    start = clock.now()
    moments = {f"t/{i}": start + timedelta(seconds=0.3 * i) for i in (3, 1, 2)}
    async with running(scheduler):
        for name, due_at in moments.items():
            await scheduler.schedule(name, due_at, {"n": name})

        async def all_fired() -> bool:
            return len(fired.calls) >= 3

        await eventually(all_fired)
        for name in moments:
            await _gone(scheduler, name)

    assert [job.name for job, _ in fired.calls] == ["t/1", "t/2", "t/3"]
    for job, at in fired.calls:
        assert job.due_at == moments[job.name]
        assert job.payload == {"n": job.name}
        assert at >= job.due_at, f"{job.name} fired {job.due_at - at} early"
        assert at - job.due_at < ON_TIME
    assert scheduler.fired == 3


async def test_scheduling_a_name_again_replaces_the_job(
    database: Database, clock: AdjustableClock
) -> None:
    scheduler = _scheduler(database, clock)
    fired = Fired(clock)
    scheduler.on_fire("t/", fired)
    now = clock.now()
    async with running(scheduler):
        # Later: the first moment passes without the job.
        await scheduler.schedule("t/later", now + timedelta(seconds=1.0), {"v": 1})
        later = now + timedelta(seconds=1.6)
        await scheduler.schedule("t/later", later, {"v": 2})
        # Sooner: the loop wakes for the new moment instead of sleeping to the old one.
        await scheduler.schedule("t/sooner", now + timedelta(minutes=5), {"v": 1})
        sooner = now + timedelta(seconds=1.2)
        await scheduler.schedule("t/sooner", sooner, {"v": 2})

        await eventually(fired.count("t/later"))
        await eventually(fired.count("t/sooner"))
        await _gone(scheduler, "t/later")
        await _gone(scheduler, "t/sooner")

    [(job, at)] = fired.of("t/later")
    assert job.payload == {"v": 2}
    assert later <= at < later + ON_TIME
    [(job, at)] = fired.of("t/sooner")
    assert job.payload == {"v": 2}
    assert sooner <= at < sooner + ON_TIME


async def test_a_cancelled_job_never_fires(database: Database, clock: AdjustableClock) -> None:
    scheduler = _scheduler(database, clock)
    fired = Fired(clock)
    scheduler.on_fire("t/", fired)
    now = clock.now()
    async with running(scheduler):
        # Moments far enough ahead that a slow machine still checks before they come.
        await scheduler.schedule("t/cancelled", now + timedelta(seconds=1.0), {})
        await scheduler.schedule("t/marker", now + timedelta(seconds=2.0), {})
        await scheduler.cancel("t/cancelled")
        await scheduler.cancel("t/never-was")  # cancelling nothing is fine
        assert await scheduler.get("t/cancelled") is None
        assert await scheduler.get("t/marker") is not None

        await eventually(fired.count("t/marker"))  # later than the cancelled moment

    assert [job.name for job, _ in fired.calls] == ["t/marker"]


async def test_a_failing_handler_is_retried_with_backoff_and_the_job_kept(
    database: Database, clock: AdjustableClock
) -> None:
    backoff = timedelta(seconds=0.5)
    scheduler = _scheduler(database, clock, retry_backoff=backoff, max_backoff=timedelta(seconds=5))
    fired = Fired(clock)
    fired.fail_first = 2
    scheduler.on_fire("t/", fired)
    due_at = clock.now() + timedelta(seconds=0.1)
    async with running(scheduler):
        await scheduler.schedule("t/flaky", due_at, {"k": "v"})

        await eventually(fired.count("t/flaky"))

        async def moved_later() -> Job | None:  # failed once: still there, later
            job = await scheduler.get("t/flaky")
            return job if job is not None and job.due_at > due_at else None

        kept = await eventually(moved_later)
        assert kept.payload == {"k": "v"}

        async def three() -> bool:
            return len(fired.calls) >= 3

        await eventually(three)
        await _gone(scheduler, "t/flaky")

    times = [at for _, at in fired.calls]
    assert len(times) == 3
    assert times[1] - times[0] >= backoff
    assert times[2] - times[1] >= 2 * backoff  # the backoff doubles
    assert fired.calls[0][0].due_at == due_at
    assert all(job.payload == {"k": "v"} for job, _ in fired.calls)  # the same job each time
    assert scheduler.fired == 1


async def test_jobs_due_while_nothing_ran_fire_at_once_when_the_loop_starts(
    database: Database, clock: AdjustableClock
) -> None:
    # Scheduled by a process that then stopped, before their moments.
    before = _scheduler(database, clock)
    now = clock.now()
    await before.schedule("t/an-hour-ago", now - timedelta(hours=1), {"n": 1})
    await before.schedule("t/a-second-ago", now - timedelta(seconds=1), {"n": 2})
    await before.schedule("t/tomorrow", now + timedelta(days=1), {"n": 3})

    # The restarted process: a new scheduler over the same table.
    after = _scheduler(database, clock)
    fired = Fired(clock)
    after.on_fire("t/", fired)
    started = clock.now()
    async with running(after):

        async def two() -> bool:
            return len(fired.calls) >= 2

        await eventually(two)
        await _gone(after, "t/an-hour-ago")
        await _gone(after, "t/a-second-ago")

    assert [job.name for job, _ in fired.calls] == ["t/an-hour-ago", "t/a-second-ago"]
    assert all(at - started < ON_TIME for _, at in fired.calls)
    assert await after.get("t/tomorrow") is not None


async def test_a_job_replaced_while_its_handler_runs_stays_scheduled(
    database: Database, clock: AdjustableClock
) -> None:
    scheduler = _scheduler(database, clock)
    fired = Fired(clock)
    release = asyncio.Event()

    async def slow(job: Job) -> None:
        await fired(job)
        if job.payload["v"] == 1:
            await release.wait()

    scheduler.on_fire("t/", slow)
    async with running(scheduler):
        await scheduler.schedule("t/moved", clock.now(), {"v": 1})
        await eventually(fired.count("t/moved"))
        again = clock.now() + timedelta(seconds=0.3)
        await scheduler.schedule("t/moved", again, {"v": 2})  # while the first run is on
        release.set()

        async def second() -> bool:
            return len(fired.of("t/moved")) >= 2

        await eventually(second)
        await _gone(scheduler, "t/moved")

    [(first, _), (replaced, at)] = fired.of("t/moved")
    assert first.payload == {"v": 1}
    assert replaced.payload == {"v": 2}
    assert replaced.due_at == again
    assert again <= at < again + ON_TIME


async def test_jobs_go_to_the_handler_of_their_prefix(
    database: Database, clock: AdjustableClock
) -> None:
    scheduler = _scheduler(database, clock)
    mine, other = Fired(clock), Fired(clock)
    scheduler.on_fire("mine/", mine)
    scheduler.on_fire("other/", other)
    now = clock.now()
    await scheduler.schedule("mine/1", now, {})
    await scheduler.schedule("other/1", now, {})
    await scheduler.schedule("nobody/1", now, {})

    assert await scheduler.fire_due() == 3

    assert [job.name for job, _ in mine.calls] == ["mine/1"]
    assert [job.name for job, _ in other.calls] == ["other/1"]
    assert await scheduler.get("nobody/1") is None  # dropped, not fired again and again


async def test_many_callers_scheduling_one_new_name_at_once_make_one_job(
    database: Database, clock: AdjustableClock
) -> None:
    scheduler = _scheduler(database, clock)
    moment = clock.now() + timedelta(days=1)

    await asyncio.gather(*(scheduler.schedule("t/race", moment, {"k": k}) for k in range(8)))

    job = await scheduler.get("t/race")
    assert job is not None
    assert job.due_at == moment
    assert job.payload["k"] in range(8)
