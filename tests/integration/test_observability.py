"""Metrics, trace context and logs of a running taskstream (the embedded shape, served by
uvicorn on a loopback port): the test scrapes GET /metrics over HTTP and finds every series,
moved by what it did. The distributed shape serves the same series from each service (the
hooks are in the Dapr adapters too); tests/e2e drives those."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from taskstream.app.events import CloudEvent, EventType, Topic
from taskstream.bootstrap import EmbeddedContainer
from taskstream.entrypoints.api.app import create_app
from taskstream.entrypoints.server import log_config
from taskstream.observability import trace
from tests.conftest import eventually
from tests.integration.conftest import serving, settled

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def server(container: EmbeddedContainer) -> AsyncIterator[str]:
    """The embedded app served by uvicorn on a free loopback port; its http:// base URL."""
    async with serving(create_app(container, migrate=False)) as port:
        yield f"http://127.0.0.1:{port}"


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_show_every_series_of_what_the_service_did(
    server: str, container: EmbeddedContainer
) -> None:
    async def always_fails(event: CloudEvent) -> None:
        raise RuntimeError("a broken consumer")

    container.bus.subscribe(
        "broken", Topic.TASK_EVENTS, frozenset({EventType.TASK_CREATED}), always_fails
    )
    async with httpx.AsyncClient(base_url=server) as http:
        before = await scrape(http)
        password = "correct horse battery"
        signup = {"email": "ada@example.com", "password": password, "timezone": "UTC"}
        assert (await http.post("/api/v1/auth/signup", json=signup)).status_code == 201
        credentials = {"email": "ada@example.com", "password": password}
        login = await http.post("/api/v1/auth/login", json=credentials)
        token = login.json()["access_token"]
        headers = {"authorization": f"Bearer {token}"}
        remind_at = datetime.now(UTC) + timedelta(seconds=15)  # room for a busy machine
        task = {"title": "Call Bob", "reminders": [{"at": remind_at.isoformat()}]}
        created = await http.post("/api/v1/tasks", json=task, headers=headers)
        assert created.status_code == 201, created.text

        async with connect(f"ws://{server.removeprefix('http://')}/api/v1/ws?token={token}"):

            async def reminded_and_dead_lettered() -> Samples | None:
                now = await scrape(http)
                fired = value(now, "taskstream_reminder_lateness_seconds_count") > value(
                    before, "taskstream_reminder_lateness_seconds_count"
                )
                dead = value(now, "taskstream_dead_lettered_total", subscription="broken")
                return (
                    now
                    if fired
                    and dead
                    > value(before, "taskstream_dead_lettered_total", subscription="broken")
                    else None
                )

            during = await eventually(reminded_and_dead_lettered, within=60)
        await settled(container)

        async def closed() -> Samples | None:
            now = await scrape(http)
            open_now = value(now, "taskstream_websocket_connections")
            return now if open_now < value(during, "taskstream_websocket_connections") else None

        after = await eventually(closed, within=30)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = {"method": "POST", "route": "/api/v1/tasks", "status": "201"}
    assert grew("taskstream_http_request_duration_seconds_count", **route) == 1
    assert grew("taskstream_http_request_duration_seconds_bucket", **route, le="+Inf") == 1
    assert grew("taskstream_events_published_total", topic="task-events") >= 1
    assert grew("taskstream_events_published_total", topic="task-updates") >= 1
    assert grew("taskstream_events_published_total", topic="reminders") >= 1
    handled = {"topic": "task-events", "subscriber": "audit.task-events", "outcome": "handled"}
    assert grew("taskstream_events_consumed_total", **handled) >= 1
    failed = {"topic": "task-events", "subscriber": "broken", "outcome": "failed"}
    assert grew("taskstream_events_consumed_total", **failed) == 5  # the bus's attempts
    assert grew("taskstream_handler_failures_total", topic="task-events", subscriber="broken") == 5
    assert grew("taskstream_dead_lettered_total", subscription="broken") == 1
    assert grew("taskstream_reminder_lateness_seconds_count") == 1
    assert 0 <= grew("taskstream_reminder_lateness_seconds_sum") < 5
    assert value(during, "taskstream_websocket_connections") >= 1
    assert grew("taskstream_websocket_connections") == 0
    for topic in Topic:
        assert ("taskstream_outbox_backlog", (("topic", topic.value),)) in after
    assert value(after, "taskstream_outbox_backlog", topic="task-events") == 0


async def test_events_of_a_request_continue_its_trace(
    server: str, container: EmbeddedContainer
) -> None:
    seen: list[CloudEvent] = []

    async def record(event: CloudEvent) -> None:
        seen.append(event)

    container.bus.subscribe("recorder", Topic.TASK_EVENTS, frozenset(EventType), record)
    trace_id, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    async with httpx.AsyncClient(base_url=server) as http:
        signup = {"email": "ada@example.com", "password": "correct horse battery"}
        await http.post("/api/v1/auth/signup", json=signup)
        login = await http.post("/api/v1/auth/login", json=signup)
        headers = {
            "authorization": f"Bearer {login.json()['access_token']}",
            "traceparent": f"00-{trace_id}-{caller_span}-01",
        }
        created = await http.post("/api/v1/tasks", json={"title": "Traced"}, headers=headers)
        assert created.status_code == 201
    await settled(container)
    [event] = seen
    context = trace.parse(event.traceparent)
    assert context is not None
    assert context.trace_id == trace_id  # the caller's trace, followed into the event
    assert context.span_id != caller_span  # a span of its own


def test_json_log_lines_carry_the_trace_and_span_ids() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    try:
        logging.config.dictConfig(log_config(json_lines=True, level="INFO"))
        [handler] = root.handlers
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(stream)
        logger = logging.getLogger("taskstream.test")
        with trace.use("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") as context:
            logger.info("created task %s", "t1")
        logger.info("outside any trace, token=abc")
    finally:
        root.handlers, root.level = saved
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["message"] == "created task t1"
    assert inside["level"] == "INFO"
    assert inside["logger"] == "taskstream.test"
    assert inside["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert inside["span_id"] == context.span_id != "00f067aa0ba902b7"
    assert datetime.fromisoformat(inside["time"]).tzinfo is not None
    assert "trace_id" not in outside
    assert outside["message"] == "outside any trace, token=[redacted]"
