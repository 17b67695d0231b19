"""A conversation through the default (offline) planner, end to end over the chat API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import AdjustableClock
from tests.integration.conftest import Login


async def _say(
    client: httpx.AsyncClient, user: dict[str, str], message: str, conversation: str | None
) -> dict[str, Any]:
    body = {"message": message, "conversation_id": conversation}
    response = await client.post("/chat", json=body, headers=user)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_add_list_complete_and_delete_in_plain_words(
    client: httpx.AsyncClient, login: Login, clock: AdjustableClock
) -> None:
    ada = await login()  # Europe/Paris
    tomorrow = (clock.now().astimezone(ZoneInfo("Europe/Paris")) + timedelta(days=1)).date()

    added = await _say(client, ada, "call mom tomorrow at 6pm #family p2", None)
    conversation = added["conversation_id"]
    [call] = added["tool_calls"]
    assert call["name"] == "add_task"
    assert call["result"]["due_date"] == tomorrow.isoformat()
    assert call["result"]["due_time"] == "18:00:00"
    assert call["result"]["tags"] == ["family"]
    assert (
        f"due tomorrow ({tomorrow:%a} {tomorrow.day} {tomorrow:%b}) at 18:00" in (added["response"])
    )
    await _say(client, ada, "add buy milk", conversation)
    await _say(client, ada, "add team meeting notes", conversation)

    listed = await _say(client, ada, "show my tasks", conversation)
    assert listed["tool_calls"][0]["name"] == "list_tasks"
    assert "3 tasks" in listed["response"]

    done = await _say(client, ada, "done with the milk one", conversation)
    assert done["response"].startswith("Marked “buy milk” as done") or done["response"].startswith(
        "Marked “Buy milk” as done"
    )

    asked = await _say(client, ada, "delete the meeting task", conversation)
    assert asked["awaiting_confirmation"] is True
    assert "delete “" in asked["response"]
    gone = await _say(client, ada, "yes", conversation)
    assert gone["response"].startswith("Deleted “")
    assert [c["name"] for c in gone["tool_calls"]] == ["delete_task"]

    response = await client.get("/tasks", headers=ada)
    titles = sorted(t["title"].lower() for t in response.json()["data"])
    assert titles == ["buy milk", "call mom"]
