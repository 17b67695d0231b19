"""The FastAPI application of the `api` service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from taskstream import __version__
from taskstream.bootstrap import Container
from taskstream.entrypoints.api import activity, auth, tasks, webhooks, ws
from taskstream.entrypoints.api.errors import BodyLimitMiddleware, install_error_handlers, problem

API_PREFIX = "/api/v1"


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(container: Container, *, migrate: bool = True) -> FastAPI:
    """The API over `container`; on start-up it applies migrations when `migrate` is set."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            await container.database.migrate()
        await container.start()
        try:
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
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.container = container
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=container.settings.max_body_bytes)

    v1 = APIRouter(prefix=API_PREFIX)
    for router in (
        auth.router,
        auth.users,
        tasks.router,
        tasks.tags,
        activity.router,
        ws.router,
        webhooks.router,
        # [routers]
    ):
        v1.include_router(router)
    app.include_router(v1)
    app.include_router(_health(container))
    return app


def _health(container: Container) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", name="live")
    async def live() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @router.get("/readyz", name="ready", response_model=None)
    async def ready() -> object:
        """The process can serve: its database answers."""
        try:
            await container.database.ping()
        except Exception:  # any failure means "not ready", reported, never raised
            return problem(503, "not_ready", "The database does not answer yet.")
        return {"status": "ready"}

    return router
