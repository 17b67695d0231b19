"""The assistant on the distributed shape: a short conversation and an MCP tool call,
through the gateway, and the events they cause arriving at the audit log and on the
user's WebSocket (the api's outbox, Kafka, the audit and sync services)."""

from __future__ import annotations

from typing import Any

import httpx
import httpx2
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from tests.clients import Json, history
from tests.conftest import eventually
from tests.e2e.conftest import RECEIVE_TIMEOUT_S, Distributed, NewUser, OpenFeed


async def _say(
    http: httpx.AsyncClient, headers: dict[str, str], message: str, conversation: str | None
) -> Json:
    response = await http.post(
        "/chat", headers=headers, json={"message": message, "conversation_id": conversation}
    )
    assert response.status_code == 200, response.text
    answer: Json = response.json()
    return answer


async def test_a_conversation_acts_and_its_events_reach_audit_and_the_socket(
    http: httpx.AsyncClient, new_user: NewUser, feeds: OpenFeed
) -> None:
    ada = await new_user("ada")
    feed = await feeds(ada)

    added = await _say(http, ada.headers, "add call the plumber tomorrow at 9am", None)
    conversation = added["conversation_id"]
    [call] = added["tool_calls"]
    assert call["name"] == "add_task", added
    task_id = call["result"]["id"]
    assert "Added “" in added["response"]

    listed = await _say(http, ada.headers, "show my tasks", conversation)
    assert listed["tool_calls"][0]["name"] == "list_tasks"
    done = await _say(http, ada.headers, "done with the plumber one", conversation)
    assert [c["name"] for c in done["tool_calls"]] == ["complete_task"], done

    await feed.until(lambda: feed.changed(task_id, "task.completed"))
    assert feed.changed(task_id, "task.created")

    async def audited() -> list[str]:
        types = [e["type"] for e in await history(http, ada, task_id)]
        return types if "task.completed" in types else []

    assert await eventually(audited, within=RECEIVE_TIMEOUT_S) == [
        "task.created",
        "task.completed",
    ]
    messages = await http.get(f"/conversations/{conversation}/messages", headers=ada.headers)
    assert [m["role"] for m in messages.json()["data"]] == ["user", "assistant"] * 3


async def test_an_mcp_tool_call_through_the_gateway_is_audited_and_pushed(
    dist: Distributed, http: httpx.AsyncClient, new_user: NewUser, feeds: OpenFeed
) -> None:
    ada = await new_user("ada")
    feed = await feeds(ada)
    created = await http.post("/tokens", headers=ada.headers, json={"name": "e2e"})
    assert created.status_code == 201, created.text
    token = created.json()["token"]

    async with (
        httpx2.AsyncClient(
            headers={"authorization": f"Bearer {token}"}, timeout=30, trust_env=False
        ) as client,
        Client(streamable_http_client(f"{dist.gateway}/mcp", http_client=client)) as mcp,
    ):
        result = await mcp.call_tool("add_task", {"title": "Renew the passport"})
        assert not result.is_error, result.content
        task: dict[str, Any] = result.structured_content or {}
    assert task["title"] == "Renew the passport"

    await feed.until(lambda: feed.changed(task["id"], "task.created"))
    async with httpx.AsyncClient(trust_env=False) as plain:
        metadata = await plain.get(f"{dist.gateway}/.well-known/oauth-protected-resource/mcp")
    assert metadata.json()["resource"] == f"{dist.gateway}/mcp"

    async def audited() -> list[Json]:
        return await history(http, ada, task["id"])

    [entry] = await eventually(audited, within=RECEIVE_TIMEOUT_S)
    assert entry["type"] == "task.created"
