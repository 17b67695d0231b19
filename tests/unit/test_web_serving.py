"""The api service serves the built web app at /, behind every API route."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from starlette.routing import Mount

from taskstream.bootstrap import build, build_service
from taskstream.entrypoints.api.app import create_app
from taskstream.settings import Settings


def _app(web_dir: Path) -> FastAPI:
    settings = Settings(
        jwt_secret=SecretStr("s" * 40), database_url="sqlite+aiosqlite://", web_dir=web_dir
    )
    return create_app(build(settings), migrate=False)


def _client(web_dir: Path) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(_app(web_dir)), base_url="http://test")


async def test_pages_of_the_static_export_are_served_and_the_api_still_answers(
    tmp_path: Path,
) -> None:
    (tmp_path / "login").mkdir()
    (tmp_path / "index.html").write_text("<html>tasks</html>")
    (tmp_path / "login" / "index.html").write_text("<html>log in</html>")
    async with _client(tmp_path) as client:
        home = await client.get("/")
        login = await client.get("/login/")
        document = await client.get("/api/v1/openapi.json")
        health = await client.get("/healthz")
    assert (home.status_code, home.text) == (200, "<html>tasks</html>")
    assert home.headers["content-type"].startswith("text/html")
    assert (login.status_code, login.text) == (200, "<html>log in</html>")
    assert document.json()["info"]["title"] == "taskstream"
    assert health.json() == {"status": "ok"}


async def test_without_a_build_nothing_is_served_at_the_root(tmp_path: Path) -> None:
    async with _client(tmp_path / "missing") as client:
        home = await client.get("/")
    assert home.status_code == 404


async def test_the_web_app_is_mounted_after_every_route_the_sidecar_calls_too(
    tmp_path: Path,
) -> None:
    """A mount at / takes every path that reaches it: anything routed after it is lost."""
    (tmp_path / "index.html").write_text("<html></html>")
    settings = Settings(
        jwt_secret=SecretStr("s" * 40),
        database_url="postgresql+asyncpg://taskstream@127.0.0.1:1/taskstream",
        dapr_http_port=1,
        web_dir=tmp_path,
    )
    app = create_app(build_service(settings, "api"), migrate=False)
    last = app.routes[-1]
    assert isinstance(last, Mount)
    assert last.name == "web"
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        subscriptions = await client.get("/dapr/subscribe")
    # The sidecar's route answers (it wants the sidecar's token), not the web app's 404.
    assert subscriptions.status_code == 401
    assert subscriptions.json()["code"] == "not_the_sidecar"
