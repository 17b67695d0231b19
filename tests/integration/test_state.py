"""The SQL state store on SQLite and PostgreSQL: ETags, first writes, and expiry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from taskstream.adapters.db.database import Database
from taskstream.adapters.db.state import SqlStateStore
from taskstream.app.ports import ETagMismatch

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


class SetClock:
    def __init__(self) -> None:
        self.moment = NOW

    def now(self) -> datetime:
        return self.moment


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    built = Database(database_url)
    yield built
    await built.dispose()


@pytest.fixture
def clock() -> SetClock:
    return SetClock()


@pytest.fixture
def store(database: Database, clock: SetClock) -> SqlStateStore:
    return SqlStateStore(database, clock)


async def test_an_item_written_with_a_ttl_reads_as_absent_once_it_expires(
    store: SqlStateStore, clock: SetClock
) -> None:
    await store.set("a", {"n": 1}, first_write=True, ttl=DAY)
    await store.set("kept", {"n": 2})

    clock.moment = NOW + DAY - timedelta(microseconds=1)
    item = await store.get("a")
    assert item is not None
    assert item.value == {"n": 1}
    clock.moment = NOW + DAY
    assert await store.get("a") is None
    assert await store.get("kept") is not None


async def test_a_write_over_an_expired_item_finds_its_key_free(
    store: SqlStateStore, clock: SetClock
) -> None:
    await store.set("a", {"n": 1}, first_write=True, ttl=DAY)
    stale = await store.get("a")
    assert stale is not None
    clock.moment = NOW + 2 * DAY

    with pytest.raises(ETagMismatch):  # what was read is gone
        await store.set("a", {"n": 2}, stale.etag)
    await store.set("a", {"n": 3}, first_write=True)

    clock.moment = NOW + 30 * DAY
    item = await store.get("a")
    assert item is not None
    assert item.value == {"n": 3}  # written without a ttl: it stays


async def test_a_write_with_an_etag_sets_a_new_expiry_or_none(
    store: SqlStateStore, clock: SetClock
) -> None:
    await store.set("a", {"n": 1}, first_write=True)
    item = await store.get("a")
    assert item is not None
    await store.set("a", {"n": 2}, item.etag, ttl=DAY)
    clock.moment = NOW + DAY
    assert await store.get("a") is None

    await store.set("b", {"n": 1}, first_write=True, ttl=DAY)
    clock.moment = NOW + DAY / 2
    item = await store.get("b")
    assert item is not None
    await store.set("b", {"n": 2}, item.etag)
    clock.moment = NOW + 10 * DAY
    item = await store.get("b")
    assert item is not None
    assert item.value == {"n": 2}


async def test_writes_with_a_ttl_delete_the_items_expired_by_then(
    store: SqlStateStore, database: Database, clock: SetClock
) -> None:
    for n in range(3):
        await store.set(f"old/{n}", {"n": n}, first_write=True, ttl=DAY)
    await store.set("forever", {"n": 0})
    clock.moment = NOW + DAY

    await store.set("new", {"n": 1}, first_write=True, ttl=DAY)

    async with database.engine.connect() as conn:
        keys = (await conn.exec_driver_sql("SELECT key FROM state ORDER BY key")).scalars()
        assert list(keys) == ["forever", "new"]
    assert await store.purge() == 0
