"""The security tests use the API fixtures of the integration tier (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.conftest import (  # noqa: F401 - fixtures, found by name
    client,
    clock,
    container,
    database_url,
    login,
    postgres_url,
    server,
    settings,
    sqlite_template,
)


def cursor_of(payload: Any) -> str:
    """A hand-made cursor: the JSON `payload`, URL-safe base64 without padding."""
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class LoopLag:
    """The longest the event loop went without running a 10 ms ticker, in seconds."""

    def __init__(self) -> None:
        self.worst = 0.0

    async def run(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            self.worst = max(self.worst, now - last - 0.01)
            last = now


@pytest.fixture
async def loop_lag() -> AsyncIterator[LoopLag]:
    lag = LoopLag()
    ticker = asyncio.create_task(lag.run())
    yield lag
    ticker.cancel()
    await asyncio.gather(ticker, return_exceptions=True)
