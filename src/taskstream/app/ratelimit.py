"""A sliding-window limiter kept in process memory (one API process owns logins)."""

from __future__ import annotations

import math
from collections import deque
from datetime import timedelta

from taskstream.app.ports import Clock
from taskstream.domain.errors import RateLimited


class SlidingWindowLimiter:
    """At most `limit` hits per key within any `window`."""

    def __init__(
        self, clock: Clock, limit: int, window: timedelta, max_keys: int = 100_000
    ) -> None:
        self._clock = clock
        self._limit = limit
        self._window = window.total_seconds()
        self._max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def check(self, key: str, what: str) -> None:
        """Raise RateLimited if `key`'s window is full; count nothing."""
        hits = self._hits.get(key)
        if not hits:
            return
        now = self._clock.now().timestamp()
        while hits and hits[0] <= now - self._window:
            hits.popleft()
        if len(hits) >= self._limit:
            retry = max(1, math.ceil(hits[0] + self._window - now))
            raise RateLimited(f"Too many {what}; try again in {retry} seconds.", retry)

    def hit(self, key: str, what: str) -> None:
        """Count one hit for `key`, or raise RateLimited if the window is full."""
        now = self._clock.now().timestamp()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self._max_keys:
                self._evict(now)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self._window:
            hits.popleft()
        if len(hits) >= self._limit:
            retry = max(1, math.ceil(hits[0] + self._window - now))
            raise RateLimited(f"Too many {what}; try again in {retry} seconds.", retry)
        hits.append(now)

    def _evict(self, now: float) -> None:
        stale = [k for k, h in self._hits.items() if not h or h[-1] <= now - self._window]
        for key in stale:
            del self._hits[key]
        if len(self._hits) >= self._max_keys:  # still full: forget the oldest keys
            for key in list(self._hits)[: len(self._hits) // 2]:
                del self._hits[key]
