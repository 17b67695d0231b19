"""The api service serves the built web app at /, behind every API route."""

from __future__ import annotations

from pathlib import Path

import httpx
from pydantic import SecretStr

from taskstream.bootstrap import build
from taskstream.entrypoints.api.app import create_app
from taskstream.settings import Settings


def _client(web_dir: Path) -> httpx.AsyncClient:
    settings = Settings(
        jwt_secret=SecretStr("s" * 40), database_url="sqlite+aiosqlite://", web_dir=web_dir
    )
    app = create_app(build(settings), migrate=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test")


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
