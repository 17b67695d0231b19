"""The ASGI middleware that observes every HTTP request and WebSocket of an app, and the
/metrics route.

Each request runs in the trace context of its `traceparent` header (daprd sends one
with every delivery and invocation; a browser usually none: a new trace starts), and its
duration is recorded by route template (`/api/v1/tasks/{task_id}`, never the raw path,
so the series stay few). A WebSocket counts as open from its accept to its end.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskstream.observability import metrics, trace

METRICS_PATH = "/metrics"


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 500
        traceparent = _header(scope, b"traceparent")

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        start = time.perf_counter()
        with trace.use(traceparent):
            try:
                await self.app(scope, receive, send_status)
            finally:
                metrics.HTTP_DURATION.labels(scope["method"], _route(scope), str(status)).observe(
                    time.perf_counter() - start
                )

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        opened = False

        async def count_accept(message: Message) -> None:
            nonlocal opened
            if message["type"] == "websocket.accept" and not opened:
                opened = True
                metrics.WEBSOCKETS_OPEN.inc()
            await send(message)

        with trace.use(_header(scope, b"traceparent")):
            try:
                await self.app(scope, receive, count_accept)
            finally:
                if opened:
                    metrics.WEBSOCKETS_OPEN.dec()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _route(scope: Scope) -> str:
    """The template of the route that served the request (`/api/v1/tasks/{task_id}`), or a
    fixed label if none did. A route of an included router knows only its own part of the
    template: the prefix is what the path has before that part, filled in."""
    route: Any = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not template:
        return "unmatched"
    try:
        filled = str(template).format(**scope.get("path_params", {}))
    except (KeyError, IndexError, ValueError):
        return str(template)
    path = str(scope.get("path", ""))
    return path.removesuffix(filled) + str(template) if path.endswith(filled) else str(template)


def install(app: FastAPI, *, serve_metrics: bool = True) -> None:
    """Observe `app`; with `serve_metrics`, answer GET /metrics on its own port too (off
    when TASKSTREAM_METRICS_PORT gives the metrics a port of their own)."""
    app.add_middleware(ObservabilityMiddleware)
    if serve_metrics:

        @app.get(METRICS_PATH, include_in_schema=False)
        async def prometheus_metrics() -> Response:
            return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)
