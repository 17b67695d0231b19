"""The chat endpoint and its service, with a scripted planner.

`ScriptedPlanner` is a test double of the planner port (it returns the plans a test
gives it and records what it was told): it lets these tests pin down what the chat
service does with each kind of plan, apart from how a planner reads a sentence.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from taskstream.bootstrap import Container, build
from taskstream.chat.plan import Plan, PlanContext, ToolCall
from taskstream.entrypoints.api.app import create_app
from taskstream.settings import Settings
from tests.conftest import AdjustableClock
from tests.integration.conftest import Login

Headers = dict[str, str]
PARIS = ZoneInfo("Europe/Paris")


class ScriptedPlanner:
    """Answers each message with the plan the test scripted for it (a test double)."""

    def __init__(self) -> None:
        self.script: dict[str, Plan | Callable[[PlanContext], Plan]] = {}
        self.seen: list[tuple[str, PlanContext]] = []

    async def plan(self, message: str, context: PlanContext) -> Plan:
        self.seen.append((message, context))
        planned = self.script.get(message, Plan())
        return planned(context) if callable(planned) else planned


@pytest.fixture
def planner() -> ScriptedPlanner:
    return ScriptedPlanner()


@pytest.fixture
async def container(
    settings: Settings, clock: AdjustableClock, planner: ScriptedPlanner
) -> AsyncIterator[Container]:
    built = build(settings, clock=clock, planner=planner)
    await built.start()
    yield built
    await built.stop()


async def _say(
    client: httpx.AsyncClient,
    user: Headers,
    message: str,
    conversation_id: str | None = None,
    status: int = 200,
) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message}
    if conversation_id:
        body["conversation_id"] = conversation_id
    response = await client.post("/chat", json=body, headers=user)
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def _tasks(client: httpx.AsyncClient, user: Headers) -> list[dict[str, Any]]:
    response = await client.get("/tasks", headers=user, params={"sort": "title"})
    assert response.status_code == 200
    tasks: list[dict[str, Any]] = response.json()["data"]
    return tasks


def _tomorrow(clock: AdjustableClock) -> datetime:
    return clock.now().astimezone(PARIS) + timedelta(days=1)


async def test_a_task_added_in_chat_is_told_back_with_its_date_in_the_users_zone(
    client: httpx.AsyncClient, login: Login, planner: ScriptedPlanner, clock: AdjustableClock
) -> None:
    ada = await login()
    day = _tomorrow(clock).date()
    planner.script["remind me to call mom tomorrow at 6pm"] = Plan(
        calls=(
            ToolCall(
                "add_task",
                {
                    "title": "Call mom",
                    "due_date": day.isoformat(),
                    "due_time": "18:00",
                    "tags": ["family"],
                    "priority": "high",
                },
            ),
        )
    )
    answer = await _say(client, ada, "remind me to call mom tomorrow at 6pm")

    label = f"{day:%a} {day.day} {day:%b}"
    assert answer["response"] == (
        f"Added “Call mom”, due tomorrow ({label}) at 18:00, high priority, tagged #family."
    )
    [call] = answer["tool_calls"]
    assert call["name"] == "add_task"
    assert call["result"]["title"] == "Call mom"
    assert call["result"]["timezone"] == "Europe/Paris"
    [task] = await _tasks(client, ada)
    assert task["id"] == call["result"]["id"]
    assert (task["due_date"], task["due_time"]) == (day.isoformat(), "18:00:00")
    _message, context = planner.seen[0]
    assert context.timezone == "Europe/Paris"
    assert context.now.tzinfo is not None


async def test_a_change_to_several_tasks_waits_for_a_yes_and_reports_each_one(
    client: httpx.AsyncClient, login: Login, planner: ScriptedPlanner, clock: AdjustableClock
) -> None:
    ada = await login()
    day = _tomorrow(clock).date().isoformat()
    for title in ("Standup meeting", "Design meeting", "Buy milk"):
        response = await client.post(
            "/tasks", headers=ada, json={"title": title, "due_date": day, "due_time": "09:00"}
        )
        assert response.status_code == 201
    planner.script["move my meetings to 2 PM"] = Plan(
        calls=(ToolCall("search_tasks", {"query": "meeting"}),),
        for_each=ToolCall("update_task", {"due_time": "14:00"}),
    )
    planner.script["yes"] = Plan(confirmed=True)

    asked = await _say(client, ada, "move my meetings to 2 PM")
    assert asked["awaiting_confirmation"] is True
    assert asked["response"].endswith("Shall I go ahead? (yes / no)")
    assert "change “Design meeting” (due time 14:00)" in asked["response"]
    assert [c["name"] for c in asked["tool_calls"]] == ["search_tasks"]
    assert {t["due_time"] for t in await _tasks(client, ada)} == {"09:00:00"}  # not yet

    done = await _say(client, ada, "yes", asked["conversation_id"])
    assert done["awaiting_confirmation"] is False
    assert [c["name"] for c in done["tool_calls"]] == ["update_task", "update_task"]
    assert "Updated “Design meeting”: due tomorrow" in done["response"]
    assert "Updated “Standup meeting”: due tomorrow" in done["response"]
    times = {t["title"]: t["due_time"] for t in await _tasks(client, ada)}
    assert times == {
        "Buy milk": "09:00:00",
        "Design meeting": "14:00:00",
        "Standup meeting": "14:00:00",
    }
    assert planner.seen[-1][1].awaiting_confirmation is True


async def test_a_delete_asks_first_and_a_no_leaves_the_task(
    client: httpx.AsyncClient, login: Login, planner: ScriptedPlanner
) -> None:
    ada = await login()
    response = await client.post("/tasks", headers=ada, json={"title": "Meeting notes"})
    task_id = response.json()["id"]
    planner.script["delete the meeting task"] = Plan(
        calls=(ToolCall("delete_task", {"task_id": task_id}),)
    )
    planner.script["no"] = Plan(confirmed=False)
    planner.script["delete it"] = Plan(calls=(ToolCall("delete_task", {"task_id": task_id}),))
    planner.script["yes"] = Plan(confirmed=True)

    asked = await _say(client, ada, "delete the meeting task")
    assert asked["response"] == "I'm about to delete “Meeting notes”. Shall I go ahead? (yes / no)"
    assert asked["tool_calls"] == []
    kept = await _say(client, ada, "no", asked["conversation_id"])
    assert kept["response"] == "Okay, I left everything as it was."
    assert len(await _tasks(client, ada)) == 1

    await _say(client, ada, "delete it", asked["conversation_id"])
    gone = await _say(client, ada, "yes", asked["conversation_id"])
    assert gone["response"] == "Deleted “Meeting notes”."
    assert await _tasks(client, ada) == []


async def test_the_next_message_sees_the_last_listing_and_the_users_tasks(
    client: httpx.AsyncClient, login: Login, planner: ScriptedPlanner
) -> None:
    ada = await login()
    for title in ("Buy milk", "Call the bank"):
        await client.post("/tasks", headers=ada, json={"title": title})
    planner.script["what do I have?"] = Plan(
        calls=(ToolCall("list_tasks", {"status": "open", "sort": "title"}),)
    )

    def complete_second(context: PlanContext) -> Plan:
        return Plan(calls=(ToolCall("complete_task", {"task_id": context.listed[1].id}),))

    planner.script["done with the second one"] = complete_second

    listed = await _say(client, ada, "what do I have?")
    assert listed["response"] == "Here are 2 tasks:\n1. Buy milk\n2. Call the bank"
    done = await _say(client, ada, "done with the second one", listed["conversation_id"])
    assert done["response"] == "Marked “Call the bank” as done."
    _, context = planner.seen[-1]
    assert [t.title for t in context.listed] == ["Buy milk", "Call the bank"]
    assert {t.title for t in context.tasks} == {"Buy milk", "Call the bank"}


async def test_a_refused_call_is_told_with_its_reason_and_no_task_is_written(
    client: httpx.AsyncClient, login: Login, planner: ScriptedPlanner
) -> None:
    ada = await login()
    planner.script["add at 6pm"] = Plan(
        calls=(ToolCall("add_task", {"title": "Call mom", "due_time": "18:00"}),)
    )
    planner.script["add blank"] = Plan(calls=(ToolCall("add_task", {"title": "  "}),))
    answer = await _say(client, ada, "add at 6pm")
    assert answer["response"] == "I couldn't add that task: A due time needs a due date."
    [call] = answer["tool_calls"]
    assert call["result"] is None
    assert call["error"]["code"] == "validation_failed"
    assert call["error"]["errors"][0]["code"] == "due_time_needs_date"
    blank = await _say(client, ada, "add blank")
    assert blank["tool_calls"][0]["error"]["errors"][0]["code"] == "title_blank"
    assert await _tasks(client, ada) == []


async def test_questions_and_replies_are_said_as_they_are(
    client: httpx.AsyncClient, login: Login, planner: ScriptedPlanner
) -> None:
    ada = await login()
    planner.script["move it"] = Plan(question="Which task do you mean?")
    planner.script["hello"] = Plan(reply="Hello! What shall we do?")
    assert (await _say(client, ada, "move it"))["response"] == "Which task do you mean?"
    assert (await _say(client, ada, "hello"))["response"] == "Hello! What shall we do?"


async def test_conversations_are_kept_per_user_and_another_users_is_not_found(
    client: httpx.AsyncClient, login: Login, planner: ScriptedPlanner
) -> None:
    ada = await login()
    bob = await login("bob@example.com")
    planner.script["hello"] = Plan(reply="Hi!")
    first = await _say(client, ada, "hello")
    await _say(client, ada, "hello", first["conversation_id"])

    listed = (await client.get("/conversations", headers=ada)).json()["data"]
    assert [c["id"] for c in listed] == [first["conversation_id"]]
    assert listed[0]["title"] == "hello"
    messages = (
        await client.get(f"/conversations/{first['conversation_id']}/messages", headers=ada)
    ).json()["data"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "hello"),
        ("assistant", "Hi!"),
        ("user", "hello"),
        ("assistant", "Hi!"),
    ]

    assert (await client.get("/conversations", headers=bob)).json()["data"] == []
    response = await client.get(f"/conversations/{first['conversation_id']}/messages", headers=bob)
    assert response.status_code == 404
    assert response.json()["code"] == "conversation_not_found"
    refused = await _say(client, bob, "hello", first["conversation_id"], status=404)
    assert refused["code"] == "conversation_not_found"
    assert (await client.post("/chat", json={"message": "hello"})).status_code == 401


async def test_a_message_over_the_limit_or_blank_is_refused_clearly(
    client: httpx.AsyncClient, login: Login, container: Container
) -> None:
    ada = await login()
    limit = container.settings.chat_max_message_chars
    refused = await _say(client, ada, "x" * (limit + 1), status=422)
    assert refused["code"] == "validation_failed"
    assert refused["errors"][0]["code"] == "message_too_long"
    assert str(limit) in refused["errors"][0]["message"]
    blank = await _say(client, ada, "   ", status=422)
    assert blank["errors"][0]["code"] == "message_blank"
    assert (await client.get("/conversations", headers=ada)).json()["data"] == []


async def test_a_conversation_resumes_after_a_restart(
    settings: Settings, clock: AdjustableClock, planner: ScriptedPlanner
) -> None:
    planner.script["list"] = Plan(calls=(ToolCall("list_tasks", {}),))
    planner.script["next"] = Plan(reply="ok")

    async def one_process(run: Callable[[httpx.AsyncClient], Any]) -> Any:
        container = build(settings, clock=clock, planner=planner)
        app = create_app(container, migrate=False)
        transport = httpx.ASGITransport(app=app)
        await container.start()
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as c:
                return await run(c)
        finally:
            await container.stop()

    async def first(c: httpx.AsyncClient) -> tuple[Headers, str]:
        await c.post(
            "/auth/signup",
            json={"email": "ada@example.com", "password": "correct horse battery"},
        )
        token = (
            await c.post(
                "/auth/login",
                json={"email": "ada@example.com", "password": "correct horse battery"},
            )
        ).json()["access_token"]
        ada = {"Authorization": f"Bearer {token}"}
        await c.post("/tasks", headers=ada, json={"title": "Buy milk"})
        return ada, (await _say(c, ada, "list"))["conversation_id"]

    ada, conversation_id = await one_process(first)

    async def second(c: httpx.AsyncClient) -> None:
        await _say(c, ada, "next", conversation_id)

    await one_process(second)
    _, context = planner.seen[-1]
    assert [t.title for t in context.listed] == ["Buy milk"]
