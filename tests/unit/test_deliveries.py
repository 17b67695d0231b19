"""Unit tests of the delivery log's lease (`DeliveryLog.claim`) over the embedded shape's
SQL state store on a SQLite file: who may deliver an entry, and when another may take it
over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from taskstream.adapters.db.database import Database
from taskstream.adapters.db.state import SqlStateStore
from taskstream.app.deliveries import (
    Attempt,
    Channel,
    Delivery,
    DeliveryLog,
    DeliveryStatus,
)
from taskstream.app.ports import StateItem

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
USER = "user-1"


class SetClock:
    def __init__(self) -> None:
        self.moment = NOW

    def now(self) -> datetime:
        return self.moment


@pytest.fixture
def state(database: Database) -> SqlStateStore:
    return SqlStateStore(database, SetClock())


@pytest.fixture
def log(state: SqlStateStore) -> DeliveryLog:
    return DeliveryLog(state)


def a_delivery(id_: str = "d-1") -> Delivery:
    return Delivery(
        id=id_,
        user_id=USER,
        channel=Channel.WEBHOOK,
        target="hook-1",
        event_id="e-1",
        task_id="t-1",
        status=DeliveryStatus.PENDING,
        created_at=NOW,
        updated_at=NOW,
    )


async def test_the_first_claim_writes_and_lists_the_entry_under_its_first_watch(
    log: DeliveryLog,
) -> None:
    claimed = await log.claim(a_delivery(), "a", NOW, NOW + LEASE)

    assert claimed is not None
    assert (claimed.holder, claimed.leased_until, claimed.watch) == ("a", NOW + LEASE, 1)
    assert await log.get(USER, "d-1") == claimed
    assert await log.recent(USER, "hook-1", 10) == [claimed]


async def test_its_holder_claims_it_again_under_the_same_watch(log: DeliveryLog) -> None:
    await log.claim(a_delivery(), "a", NOW, NOW + LEASE)
    later = NOW + timedelta(minutes=1)

    claimed = await log.claim(a_delivery(), "a", later, later + LEASE, after=7)

    assert claimed is not None
    assert (claimed.leased_until, claimed.watch) == (later + LEASE, 1)


async def test_another_cannot_claim_it_while_the_lease_runs(log: DeliveryLog) -> None:
    first = await log.claim(a_delivery(), "a", NOW, NOW + LEASE)
    just_before = NOW + LEASE - timedelta(microseconds=1)

    assert await log.claim(a_delivery(), "b", just_before, just_before + LEASE) is None
    assert await log.get(USER, "d-1") == first


async def test_another_takes_it_over_from_its_stored_attempts_once_the_lease_ran_out(
    log: DeliveryLog,
) -> None:
    first = await log.claim(a_delivery(), "a", NOW, NOW + LEASE)
    assert first is not None
    tried = first.after(Attempt(NOW, "HTTP 503"), DeliveryStatus.RETRYING, "HTTP 503")
    await log.record(tried)
    at = NOW + LEASE

    claimed = await log.claim(a_delivery(), "b", at, at + LEASE, after=1)

    assert claimed is not None
    assert claimed.holder == "b"
    assert claimed.watch == 2  # a new job watches it: the one that asked is done
    assert claimed.status is DeliveryStatus.RETRYING
    assert claimed.attempts == (Attempt(NOW, "HTTP 503"),)
    assert await log.claim(a_delivery(), "a", at, at + LEASE) is None  # "a" lost it


async def test_a_watch_of_a_later_generation_than_the_entry_counts_on_from_there(
    log: DeliveryLog,
) -> None:
    """The deliverer died before its first claim: the watch (generation 1) takes it."""
    claimed = await log.claim(a_delivery(), "b", NOW, NOW + LEASE, after=1)

    assert claimed is not None
    assert claimed.watch == 2


@pytest.mark.parametrize("status", [DeliveryStatus.DELIVERED, DeliveryStatus.FAILED])
async def test_a_finished_delivery_is_never_claimed(
    log: DeliveryLog, status: DeliveryStatus
) -> None:
    first = await log.claim(a_delivery(), "a", NOW, NOW + LEASE)
    assert first is not None
    await log.record(first.after(Attempt(NOW, "x"), status, None))
    late = NOW + 10 * LEASE

    assert await log.claim(a_delivery(), "a", late, late + LEASE) is None
    assert await log.claim(a_delivery(), "b", late, late + LEASE) is None


async def test_of_two_claims_from_one_reading_only_one_wins(
    log: DeliveryLog, state: SqlStateStore
) -> None:
    """Two deliverers read the expired entry at once; the second write finds the first."""
    await log.claim(a_delivery(), "a", NOW, NOW + LEASE)
    at = NOW + LEASE
    key = DeliveryLog.key(USER, "d-1")
    item = await state.get(key)
    assert item is not None

    class Racing:
        """The state store, but every read returns what was read before the race."""

        async def get(self, _: str) -> StateItem | None:
            return item

        set = state.set
        delete = state.delete

    racing = DeliveryLog(Racing())
    won = await racing.claim(a_delivery(), "b", at, at + LEASE, after=1)
    lost = await racing.claim(a_delivery(), "c", at, at + LEASE, after=1)

    assert won is not None
    assert lost is None
    stored = await log.get(USER, "d-1")
    assert stored is not None
    assert stored.holder == "b"


def test_an_entry_written_before_leases_reads_as_never_held() -> None:
    value = a_delivery().to_state()
    for field in ("holder", "leased_until", "watch"):
        del value[field]

    read = Delivery.from_state(value)

    assert (read.holder, read.leased_until, read.watch) == (None, None, 0)
    assert not read.leased(NOW)
    assert not read.held_by_another("a", NOW)
