"""Fixtures shared by every layer of tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class AdjustableClock:
    """The real clock, shifted by an offset a test may move (JWT expiry reads real time)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta
