"""The W3C trace context (https://www.w3.org/TR/trace-context/) of the work in progress.

A `traceparent` is `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`. The context
var holds the one of the current request or delivery; `child()` makes the traceparent of
something started from it (an event to publish): the same trace, a new span.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

_TRACEPARENT: Final = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_ZERO_TRACE: Final = "0" * 32
_ZERO_SPAN: Final = "0" * 16


@dataclass(frozen=True, slots=True)
class TraceContext:
    trace_id: str
    span_id: str
    flags: str = "01"

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    def child(self) -> TraceContext:
        """The same trace, a new span."""
        return TraceContext(self.trace_id, secrets.token_hex(8), self.flags)


_current: ContextVar[TraceContext | None] = ContextVar("taskstream_trace", default=None)


def parse(traceparent: str | None) -> TraceContext | None:
    """The context a `traceparent` header or extension holds, or None if it is not one."""
    if not traceparent:
        return None
    match = _TRACEPARENT.match(traceparent.strip().lower())
    if match is None or match.group(1) == _ZERO_TRACE or match.group(2) == _ZERO_SPAN:
        return None
    return TraceContext(match.group(1), match.group(2), match.group(3))


def new() -> TraceContext:
    """The root of a new trace (sampled)."""
    return TraceContext(secrets.token_hex(16), secrets.token_hex(8))


def current() -> TraceContext | None:
    return _current.get()


def child_traceparent() -> str:
    """The traceparent for something started now: a child of the current context, or the
    root of a new trace when there is none."""
    context = _current.get()
    return (context.child() if context is not None else new()).traceparent


@contextlib.contextmanager
def use(traceparent: str | None) -> Iterator[TraceContext]:
    """Work as a new span of the trace `traceparent` names (a new trace if it names none):
    logs show its ids and events made meanwhile continue its trace. Yields the context."""
    parent = parse(traceparent)
    context = parent.child() if parent is not None else new()
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)
