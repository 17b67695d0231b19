"""The MCP server, through the SDK's own client: over HTTP at /mcp, and over stdio.

The API runs under uvicorn on a loopback port with its real lifespan (which runs the MCP
session manager); `taskstream mcp` runs as a subprocess, as a desktop client starts it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from taskstream.bootstrap import build
from taskstream.chat.plan import TOOL_NAMES
from taskstream.entrypoints.api.app import create_app
from taskstream.settings import Settings
from tests.conftest import AdjustableClock
from tests.integration.conftest import serving

PASSWORD = "correct horse battery"


@pytest.fixture
async def api(settings: Settings, clock: AdjustableClock) -> AsyncIterator[str]:
    """The API served by uvicorn with its lifespan; its base URL."""
    app = create_app(build(settings, clock=clock), migrate=False)
    async with serving(app, lifespan="on") as port:
        yield f"http://127.0.0.1:{port}"


async def _login(base: str, email: str) -> str:
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", trust_env=False) as http:
        response = await http.post(
            "/auth/signup", json={"email": email, "password": PASSWORD, "timezone": "Europe/Paris"}
        )
        assert response.status_code == 201, response.text
        response = await http.post("/auth/login", json={"email": email, "password": PASSWORD})
        token: str = response.json()["access_token"]
        return token


async def _personal_token(base: str, access_token: str, name: str = "desktop") -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", trust_env=False) as http:
        response = await http.post(
            "/tokens", json={"name": name}, headers={"authorization": f"Bearer {access_token}"}
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


@asynccontextmanager
async def _mcp(base: str, token: str | None) -> AsyncIterator[Client]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, trust_env=False, timeout=30) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
    ):
        yield client


async def _call(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def test_the_tools_are_listed_and_called_over_http(api: str) -> None:
    token = await _login(api, "ada@example.com")
    async with _mcp(api, token) as client:
        listed = await client.list_tools()
        assert {tool.name for tool in listed.tools} == set(TOOL_NAMES)
        add = next(tool for tool in listed.tools if tool.name == "add_task")
        assert "title" in add.input_schema["properties"]
        assert add.output_schema is not None
        delete = next(tool for tool in listed.tools if tool.name == "delete_task")
        assert delete.annotations is not None
        assert delete.annotations.destructive_hint is True

        task = await _call(
            client,
            "add_task",
            {
                "title": "Call mom",
                "due_date": "2031-05-01",
                "due_time": "18:00",
                "tags": ["Family"],
            },
        )
        assert (task["title"], task["tags"], task["timezone"]) == (
            "Call mom",
            ["family"],
            "Europe/Paris",
        )
        assert task["due_at"] == "2031-05-01T16:00:00Z"
        found = await _call(client, "search_tasks", {"query": "mom"})
        assert [t["id"] for t in found["tasks"]] == [task["id"]]
        done = await _call(client, "complete_task", {"task_id": task["id"]})
        assert done["status"] == "done"

        refused = await client.call_tool("add_task", {"title": "x", "due_time": "18:00"})
        assert refused.is_error
        assert "due_time_needs_date" in str(refused.content)


async def test_a_missing_or_bad_token_is_refused(api: str) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        headers = {"accept": "application/json, text/event-stream"}
        missing = await http.post(f"{api}/mcp", json=body, headers=headers)
        assert missing.status_code == 401
        assert "resource_metadata" in missing.headers["www-authenticate"]
        bad = await http.post(
            f"{api}/mcp", json=body, headers={**headers, "authorization": "Bearer tsk_nope"}
        )
        assert bad.status_code == 401
        forged = await http.post(
            f"{api}/mcp", json=body, headers={**headers, "authorization": "Bearer a.b.c"}
        )
        assert forged.status_code == 401

        metadata = await http.get(f"{api}/.well-known/oauth-protected-resource/mcp")
        assert metadata.status_code == 200
        assert metadata.json()["resource"] == "http://127.0.0.1:8000/mcp"

    with pytest.raises(Exception):  # noqa: B017, PT011 - the SDK raises its own error group
        async with _mcp(api, None) as client:
            await client.list_tools()


async def test_a_host_that_is_not_allowed_gets_421(api: str) -> None:
    token = await _login(api, "ada@example.com")
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(
            f"{api}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
            headers={
                "accept": "application/json, text/event-stream",
                "authorization": f"Bearer {token}",
                "host": "evil.example",
            },
        )
    assert response.status_code == 421


async def test_two_users_never_see_each_others_tasks(api: str) -> None:
    ada = await _login(api, "ada@example.com")
    bob = await _login(api, "bob@example.com")
    async with _mcp(api, ada) as client:
        task = await _call(client, "add_task", {"title": "Ada's secret"})
    bob_pat = (await _personal_token(api, bob))["token"]
    async with _mcp(api, bob_pat) as client:
        assert (await _call(client, "list_tasks", {}))["tasks"] == []
        assert (await _call(client, "search_tasks", {"query": "secret"}))["tasks"] == []
        refused = await client.call_tool("delete_task", {"task_id": task["id"]})
        assert refused.is_error
        assert "task_not_found" in str(refused.content)
    async with _mcp(api, ada) as client:
        [still] = (await _call(client, "list_tasks", {}))["tasks"]
        assert still["id"] == task["id"]


async def test_personal_tokens_are_created_listed_and_revoked(api: str) -> None:
    ada = await _login(api, "ada@example.com")
    created = await _personal_token(api, ada, "laptop")
    assert created["token"].startswith("tsk_")
    headers = {"authorization": f"Bearer {ada}"}
    async with httpx.AsyncClient(base_url=f"{api}/api/v1", trust_env=False) as http:
        listed = (await http.get("/tokens", headers=headers)).json()["data"]
        assert [(t["id"], t["name"]) for t in listed] == [(created["id"], "laptop")]
        assert "token" not in listed[0]
        pat = {"authorization": f"Bearer {created['token']}"}
        assert (await http.get("/users/me", headers=pat)).status_code == 200
        minted = await http.post("/tokens", json={"name": "more"}, headers=pat)
        assert minted.status_code == 401
        assert minted.json()["code"] == "login_required"

        blank = await http.post("/tokens", json={"name": "  "}, headers=headers)
        assert blank.status_code == 422
        assert blank.json()["errors"][0]["code"] == "token_name_length"

        bob = await _login(api, "bob@example.com")
        others = await http.delete(
            f"/tokens/{created['id']}", headers={"authorization": f"Bearer {bob}"}
        )
        assert others.status_code == 404
        assert (await http.delete(f"/tokens/{created['id']}", headers=headers)).status_code == 204
        assert (await http.get("/tokens", headers=headers)).json()["data"] == []
        revoked = await http.get("/users/me", headers=pat)
        assert revoked.status_code == 401
        assert revoked.json()["code"] == "token_invalid"
    with pytest.raises(Exception):  # noqa: B017, PT011
        async with _mcp(api, created["token"]) as client:
            await client.list_tools()


def _stdio(settings: Settings, token: str) -> StdioServerParameters:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "TASKSTREAM_DATABASE_URL": settings.sqlalchemy_url(),
        "TASKSTREAM_DATA_DIR": str(settings.data_dir),
        "TASKSTREAM_JWT_SECRET": settings.signing_secret(),
        "TASKSTREAM_TOKEN": token,
    }
    executable = Path(sys.executable).parent / "taskstream"
    return StdioServerParameters(command=str(executable), args=["mcp"], env=env)


async def test_stdio_serves_the_user_of_a_personal_access_token(
    api: str, settings: Settings
) -> None:
    ada = await _login(api, "ada@example.com")
    bob = await _login(api, "bob@example.com")
    async with _mcp(api, bob) as client:
        await _call(client, "add_task", {"title": "Bob's task"})
    pat = (await _personal_token(api, ada))["token"]

    async with Client(_stdio(settings, pat), read_timeout_seconds=60) as client:
        assert {t.name for t in (await client.list_tools()).tools} == set(TOOL_NAMES)
        task = await _call(client, "add_task", {"title": "Written over stdio"})
        listed = await _call(client, "list_tasks", {})
        assert [t["title"] for t in listed["tasks"]] == ["Written over stdio"]

    async with httpx.AsyncClient(base_url=f"{api}/api/v1", trust_env=False) as http:
        seen = await http.get(f"/tasks/{task['id']}", headers={"authorization": f"Bearer {ada}"})
        assert seen.status_code == 200

    with pytest.raises(Exception):  # noqa: B017, PT011
        async with Client(_stdio(settings, "tsk_wrong"), read_timeout_seconds=30) as client:
            await client.list_tools()
