"""The FastAPI application of the `api` service."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import SecretStr
from starlette.routing import Match, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from taskstream import __version__
from taskstream.bootstrap import Container
from taskstream.entrypoints.api import (
    activity,
    auth,
    chat,
    dapr,
    notifications,
    openapi,
    tasks,
    tokens,
    webhooks,
    ws,
)
from taskstream.entrypoints.api.deps import principal_of
from taskstream.entrypoints.api.errors import (
    BodyLimitMiddleware,
    HardeningMiddleware,
    install_error_handlers,
    problem,
)
from taskstream.observability import http as observability
from taskstream.settings import Settings

API_PREFIX = "/api/v1"
MCP_PATH = "/mcp"
METADATA_PATH = "/.well-known/oauth-protected-resource/mcp"

ROUTERS: dict[str, list[APIRouter]] = {
    "api": [auth.router, auth.users, tasks.router, tasks.tags, chat.router, tokens.router],
    "audit": [activity.router],
    "notifier": [webhooks.router, notifications.router],
    "sync": [ws.router],
}
"""The public routes of each service: in the embedded shape, all of them on one port."""


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


@contextmanager
def _collecting_less() -> Iterator[None]:
    """The cyclic garbage collector's work while the app serves, cut to what requests leave.

    What start-up built (modules, models, routes, the container: about 160,000 objects)
    lives as long as the app: frozen, it is left out of the full collections, each of which
    walked all of it again (0.1 s of CPU, every few seconds under load). A request frees
    nearly everything it allocates, so the youngest generation is collected after 7,000
    net allocations instead of 700: the objects of the requests in flight, not garbage, set
    it off about 40 times a second, scanning the same live objects each time. Together the
    collector took 4-8% of a loaded server's CPU, and now well under 1%.
    """
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(7_000, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def create_app(container: Container, *, migrate: bool = True) -> FastAPI:
    """The HTTP app of the services of `container` (all of them, in the embedded shape);
    on start-up it applies migrations when `migrate` is set."""

    mcp = LazyMcp(container) if "api" in container.roles else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            await container.database.migrate()
        await container.start()
        try:
            with _collecting_less():
                if mcp is None:
                    yield
                else:
                    async with mcp.running():
                        yield
        finally:
            await container.stop()

    app = FastAPI(
        title="taskstream",
        version=__version__,
        summary="Tasks with priorities, tags, dues, reminders and recurrence, per user.",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # Swagger UI would load its code from a CDN; the document is enough
        redoc_url=None,
        # The services export Prometheus metrics themselves and ship no OpenTelemetry SDK:
        # FastAPI's own telemetry would only look up the no-op global providers on every
        # request (5% of a create's CPU).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.container = container
    install_error_handlers(app)
    chat_max = container.settings.chat_max_message_chars
    openapi.install(app, limits={"ChatIn": {"message": {"maxLength": chat_max}}})
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=container.settings.max_body_bytes,
        exempt_prefix=None if container.dapr is None else "/events/",
    )
    app.add_middleware(HardeningMiddleware, no_store_prefix=f"{API_PREFIX}/auth/")
    observability.install(app, serve_metrics=container.settings.metrics_port is None)

    for service, routers in ROUTERS.items():
        if service in container.roles:
            for router in routers:  # each straight under the app: one router to match less
                app.include_router(router, prefix=API_PREFIX)
    app.include_router(_health(container))
    if mcp is not None:
        # The MCP app routes these two paths itself, behind its bearer-token middleware.
        for path in (MCP_PATH, METADATA_PATH):
            app.router.routes.append(Route(path, endpoint=mcp))
    if container.dapr is not None:
        dapr.install(app, container)
    if "api" in container.roles and (container.settings.web_dir / "index.html").is_file():
        # Last of all, so that every route above (the sidecar's too) wins: a mount at /
        # takes every path that reaches it. The static export of the web app.
        app.router.routes.append(
            _WebApp("/", StaticFiles(directory=container.settings.web_dir, html=True), name="web")
        )
    return app


def worker_app() -> FastAPI:
    """The app of one process of `taskstream up --workers N` (uvicorn calls it in each):
    the parent applied the migrations and made the signing secret."""
    from taskstream.bootstrap import build_worker
    from taskstream.entrypoints.server import return_large_buffers_to_the_system

    return_large_buffers_to_the_system()
    return create_app(build_worker(Settings()), migrate=False)


class LazyMcp:
    """The MCP app at /mcp, built on its first request: the SDK's imports would add about
    a second of CPU to every start-up of every `api` process.

    The host's lifespan runs it (`running`): a task of the lifespan builds the app when
    first asked and runs its session manager until the app stops."""

    def __init__(self, container: Container) -> None:
        self._container = container
        self._asked = asyncio.Event()
        self._stopping = asyncio.Event()
        self._ready: asyncio.Future[ASGIApp] | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self._ready = asyncio.get_running_loop().create_future()
        runner = asyncio.create_task(self._run(self._ready), name="mcp")
        try:
            yield
        finally:
            self._stopping.set()
            self._asked.set()
            await runner

    async def _run(self, ready: asyncio.Future[ASGIApp]) -> None:
        await self._asked.wait()
        if self._stopping.is_set():
            return
        from taskstream.entrypoints.mcp import http_app

        container = self._container

        async def principal(token: str) -> object:
            return await principal_of(container, token)

        try:
            server, app = http_app(container.tools, container.settings, principal, MCP_PATH)
            async with server.session_manager.run():  # the MCP app's own lifespan
                ready.set_result(app)
                await self._stopping.wait()
        except Exception as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._ready is None:
            raise RuntimeError("the app's lifespan must run before /mcp serves")
        self._asked.set()
        app = await asyncio.shield(self._ready)
        await app(scope, receive, send)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the embedded shape (every public route), built without I/O:
    the web app's typed client is generated from it."""
    from taskstream.bootstrap import build

    settings = Settings(jwt_secret=SecretStr("0" * 32), database_url="sqlite+aiosqlite://")
    return create_app(build(settings), migrate=False).openapi()


def _health(container: Container) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", name="live")
    async def live() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @router.get("/readyz", name="ready", response_model=None)
    async def ready() -> object:
        """The process can serve: its database (if it has one) answers."""
        if not container.has_database:
            return {"status": "ready"}
        try:
            await container.database.ping()
        except Exception:  # any failure means "not ready", reported, never raised
            return problem(503, "not_ready", "The database does not answer yet.")
        return {"status": "ready"}

    return router


class _WebApp(Mount):
    """The web app at /, except under /api/: those paths stay the API's, so an unknown one
    is a 404 problem and a known one with a wrong method a 405, never the app's HTML page."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get("path", "").startswith("/api/"):
            return Match.NONE, {}
        return super().matches(scope)
