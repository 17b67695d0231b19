"""The clock and the id factory of a running process."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def new_id() -> str:
    """A time-ordered UUIDv7-like id would index better; uuid4 keeps ids unguessable."""
    return str(uuid.uuid4())
