"""Defects 5, 7 and 8: private data files, log-in throttling that cannot lock the owner
out, rate-limited sign-ups, NUL characters, offsets on wall-clock times, empty time zones,
security headers, no CDN docs page, and no open sidecar routes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from taskstream.app.access_tokens import NAME_MAX
from taskstream.bootstrap import Container, build
from taskstream.entrypoints.api.app import create_app
from taskstream.settings import Settings
from tests.conftest import AdjustableClock
from tests.integration.conftest import Login
from tests.security.cases import NUL_IN_CHAT, NUL_IN_TASK_TEXT, NUL_IN_URLS

PASSWORD = "correct horse battery"


# --- 5: data at rest -------------------------------------------------------------------------


async def test_the_data_dir_and_database_files_are_private_whatever_the_umask(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    settings = Settings(_env_file=None, data_dir=data)  # type: ignore[call-arg]
    old = os.umask(0o022)
    try:
        container = build(settings)
        await container.database.migrate()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(container, migrate=False)),
            base_url="http://t/api/v1",
        ) as http:
            await http.post("/auth/signup", json={"email": "ada@example.com", "password": PASSWORD})
        await container.database.dispose()
    finally:
        os.umask(old)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = sorted(p for p in data.iterdir() if p.is_file())
    assert {p.name for p in files} >= {"taskstream.db", "jwt-secret"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


# --- 7: log-in throttling and sign-ups ---------------------------------------------------------


def _client(container: Container, address: str) -> httpx.AsyncClient:
    app = create_app(container, migrate=False)
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://t/api/v1")


async def _log_in(http: httpx.AsyncClient, password: str = PASSWORD) -> int:
    response = await http.post(
        "/auth/login", json={"email": "ada@example.com", "password": password}
    )
    return response.status_code


async def test_a_strangers_wrong_passwords_do_not_lock_the_owner_out(
    container: Container, settings: Settings
) -> None:
    async with (
        _client(container, "203.0.113.5") as owner,
        _client(container, "198.51.100.7") as stranger,
    ):
        signup = await owner.post(
            "/auth/signup", json={"email": "ada@example.com", "password": PASSWORD}
        )
        assert signup.status_code == 201
        assert await _log_in(owner) == 200  # the owner's client is known from now on
        for _ in range(settings.login_attempts_per_account):
            assert await _log_in(stranger, "wrong password") == 401
        assert await _log_in(stranger, "wrong password") == 429
        assert await _log_in(stranger) == 429  # the guesser is held back, right or wrong
        assert await _log_in(owner) == 200  # the owner is not


async def test_signups_are_limited_per_address(settings: Settings, clock: AdjustableClock) -> None:
    limited = build(settings.model_copy(update={"signups_per_address": 3}), clock=clock)
    await limited.start()
    try:
        async with _client(limited, "203.0.113.9") as http:
            for i in range(3):
                response = await http.post(
                    "/auth/signup", json={"email": f"u{i}@example.com", "password": PASSWORD}
                )
                assert response.status_code == 201
            response = await http.post(
                "/auth/signup", json={"email": "u9@example.com", "password": PASSWORD}
            )
            assert response.status_code == 429
            assert response.json()["code"] == "rate_limited"
            assert int(response.headers["retry-after"]) >= 1
    finally:
        await limited.stop()


# --- 8: the smaller ones ------------------------------------------------------------------------


@pytest.mark.parametrize("fields", NUL_IN_TASK_TEXT)
async def test_nul_characters_are_refused_in_task_text(
    client: httpx.AsyncClient, login: Login, fields: dict[str, object]
) -> None:
    headers = await login()
    response = await client.post("/tasks", headers=headers, json=fields)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == "nul_character"


async def test_nul_characters_are_refused_in_emails_and_urls(
    client: httpx.AsyncClient, login: Login
) -> None:
    response = await client.post(
        "/auth/signup", json={"email": "a\x00@example.com", "password": PASSWORD}
    )
    assert response.status_code == 422
    response = await client.post(
        "/auth/login", json={"email": "a\x00@example.com", "password": PASSWORD}
    )
    assert response.status_code == 401
    headers = await login()
    for path, params in NUL_IN_URLS:
        response = await client.get(path, headers=headers, params=params)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["code"] == "nul_character"


@pytest.mark.parametrize("body", NUL_IN_CHAT)
async def test_nul_characters_are_refused_in_chat_messages(
    client: httpx.AsyncClient, login: Login, body: dict[str, object]
) -> None:
    headers = await login()
    response = await client.post("/chat", headers=headers, json=body)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["code"] == "nul_character"
    assert error["field"] == next(k for k, v in body.items() if "\x00" in str(v))
    conversations = await client.get("/conversations", headers=headers)
    assert conversations.json()["data"] == []


async def test_chat_messages_and_token_names_are_held_to_the_limits_the_schema_states(
    client: httpx.AsyncClient, login: Login, container: Container
) -> None:
    headers = await login()
    longest = container.settings.chat_max_message_chars
    for message, code in (
        (" \t\n", "message_blank"),
        ("x" * longest + " ", "message_too_long"),  # counted as given, as the schema does
    ):
        response = await client.post("/chat", headers=headers, json={"message": message})
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["code"] == code
    for name, code in (
        ("x" * (NAME_MAX + 1), "token_name_length"),
        (" " * NAME_MAX, "token_name_length"),
        ("x" * NAME_MAX + " ", "token_name_length"),
        ("desk\x00top", "nul_character"),
    ):
        response = await client.post("/tokens", headers=headers, json={"name": name})
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["code"] == code
    assert (await client.get("/tokens", headers=headers)).json()["data"] == []
    response = await client.post("/tokens", headers=headers, json={"name": " x" * (NAME_MAX // 2)})
    assert response.status_code == 201, response.text


async def test_an_empty_time_zone_is_refused_not_read_as_utc(
    client: httpx.AsyncClient, login: Login
) -> None:
    headers = await login(timezone="Asia/Tokyo")
    response = await client.post("/tasks", headers=headers, json={"title": "x", "timezone": ""})
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "timezone_unknown"
    made = await client.post("/tasks", headers=headers, json={"title": "x"})
    assert made.json()["timezone"] == "Asia/Tokyo"


async def test_token_responses_are_not_stored_and_every_response_has_security_headers(
    client: httpx.AsyncClient, login: Login
) -> None:
    await login()
    response = await client.post(
        "/auth/login", json={"email": "ada@example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    for one in (response, await client.get("/tasks")):
        assert one.headers["x-content-type-options"] == "nosniff"
        assert one.headers["x-frame-options"] == "DENY"
        assert one.headers["referrer-policy"] == "no-referrer"


async def test_no_docs_page_loads_code_from_a_cdn(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 404
    assert "cdn" not in response.text.lower()
    assert (await client.get("/openapi.json")).status_code == 200


def test_serve_refuses_to_start_without_the_app_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from taskstream.entrypoints.cli import app

    monkeypatch.setenv("TASKSTREAM_DAPR_HTTP_PORT", "3500")
    monkeypatch.delenv("TASKSTREAM_APP_API_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["serve", "sync"])
    assert result.exit_code != 0
    assert "TASKSTREAM_APP_API_TOKEN" in result.output
