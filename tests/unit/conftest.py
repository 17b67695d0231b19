"""Fixtures of the unit tests that keep state in a real SQLite file."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from taskstream.adapters.db.database import Database


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test that asks for `database` gets a copy."""
    path = tmp_path_factory.mktemp("migrated") / "taskstream.db"

    async def migrate() -> None:
        database = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await database.migrate()
        finally:
            await database.dispose()

    asyncio.run(migrate())
    return path


@pytest.fixture
async def database(migrated: Path, tmp_path: Path) -> AsyncIterator[Database]:
    shutil.copy(migrated, tmp_path / "taskstream.db")
    built = Database(f"sqlite+aiosqlite:///{tmp_path / 'taskstream.db'}")
    yield built
    await built.dispose()
