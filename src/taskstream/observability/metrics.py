"""The Prometheus series of taskstream, in one registry of their own.

Every process (the embedded one, each service of the distributed shape) has them all;
a series that does not apply to a service stays at zero there. The functions below are
the hooks the bus, the outbox relay, the schedulers and the HTTP middleware call.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

REGISTRY: Final = CollectorRegistry(auto_describe=True)
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST

HTTP_DURATION: Final = Histogram(
    "taskstream_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route", "status"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
EVENTS_PUBLISHED: Final = Counter(
    "taskstream_events_published",
    "Events handed to the event bus (the broker, in the distributed shape), by topic.",
    ["topic"],
    registry=REGISTRY,
)
EVENTS_CONSUMED: Final = Counter(
    "taskstream_events_consumed",
    "Deliveries of an event to a subscriber, by topic, subscriber and outcome "
    "(handled, dropped, failed).",
    ["topic", "subscriber", "outcome"],
    registry=REGISTRY,
)
HANDLER_FAILURES: Final = Counter(
    "taskstream_handler_failures",
    "Handler runs that raised (the delivery is retried), by topic and subscriber.",
    ["topic", "subscriber"],
    registry=REGISTRY,
)
DEAD_LETTERED: Final = Counter(
    "taskstream_dead_lettered",
    "Events whose retries were spent, parked as dead letters, by subscription.",
    ["subscription"],
    registry=REGISTRY,
)
OUTBOX_BACKLOG: Final = Gauge(
    "taskstream_outbox_backlog",
    "Outbox rows waiting to be published, by topic (as the relay last saw them).",
    ["topic"],
    registry=REGISTRY,
)
REMINDER_LATENESS: Final = Histogram(
    "taskstream_reminder_lateness_seconds",
    "How long after its moment a scheduled job (a reminder) ran.",
    registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
WEBSOCKETS_OPEN: Final = Gauge(
    "taskstream_websocket_connections",
    "WebSocket connections open now.",
    registry=REGISTRY,
)


def published(topic: str, count: int = 1) -> None:
    if count:
        EVENTS_PUBLISHED.labels(topic).inc(count)


def consumed(topic: str, subscriber: str, outcome: str, count: int = 1) -> None:
    """`outcome`: handled, dropped (no retry can help) or failed (retried later)."""
    EVENTS_CONSUMED.labels(topic, subscriber, outcome).inc(count)
    if outcome == "failed":
        HANDLER_FAILURES.labels(topic, subscriber).inc()


def dead_lettered(subscription: str) -> None:
    DEAD_LETTERED.labels(subscription).inc()


def outbox_backlog(topic: str, rows: int) -> None:
    OUTBOX_BACKLOG.labels(topic).set(rows)


def reminder_late(seconds: float) -> None:
    REMINDER_LATENESS.observe(max(seconds, 0.0))


def serve(host: str, port: int) -> None:
    """Answer Prometheus on `port` from a thread of its own, apart from the app's port."""
    start_http_server(port, addr=host, registry=REGISTRY)


def exposition() -> bytes:
    """Every series in the Prometheus text format."""
    return generate_latest(REGISTRY)
