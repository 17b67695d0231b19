"""Fixtures shared by every layer of tests."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

T = TypeVar("T")


class AdjustableClock:
    """The real clock, shifted by an offset a test may move (JWT expiry reads real time)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


async def eventually(
    probe: Callable[[], Awaitable[T] | T], *, within: float = 10.0, interval: float = 0.02
) -> T:
    """The first truthy result of `probe` (a coroutine function or a plain one), polled for
    `within` seconds (then the test fails)."""
    deadline = time.monotonic() + within
    while True:
        result = probe()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still {result!r} after {within} s")
        await asyncio.sleep(interval)
