"""The LLM planner against a scripted OpenAI-compatible HTTP server.

`ScriptedModel` stands in for a language model (none is reachable here): a real HTTP
server speaking the chat-completions API, answering each request with the next reply a
test scripted, and recording what it was sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiohttp import web

from taskstream.bootstrap import Container, build
from taskstream.chat.llm import LlmPlanner
from taskstream.chat.offline import OfflinePlanner
from taskstream.chat.plan import KnownTask, Plan, PlanContext, ToolCall
from taskstream.entrypoints.api.app import create_app
from taskstream.settings import Settings
from tests.conftest import AdjustableClock
from tests.integration.conftest import Login

NOW = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)  # a Monday


class ScriptedModel:
    """An OpenAI-compatible chat-completions server that plays back scripted replies."""

    def __init__(self) -> None:
        self.replies: list[dict[str, Any] | int] = []
        self.requests: list[dict[str, Any]] = []
        self.delay = 0.0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(await request.json())
        self.requests[-1]["authorization"] = request.headers.get("authorization")
        await asyncio.sleep(self.delay)
        reply = self.replies.pop(0) if self.replies else _text("Done.")
        if isinstance(reply, int):
            return web.json_response({"error": {"message": "boom"}}, status=reply)
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "model": "scripted",
                "choices": [{"index": 0, "message": reply, "finish_reason": "stop"}],
            }
        )


def _text(content: str) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def _calls(*calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            for i, (name, arguments) in enumerate(calls)
        ],
    }


@pytest.fixture
async def model() -> AsyncIterator[ScriptedModel]:
    scripted = ScriptedModel()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", scripted.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    scripted.url = f"http://{host}:{port}/v1"
    yield scripted
    await runner.cleanup()


def _planner(model: ScriptedModel, timeout: float = 5.0) -> LlmPlanner:
    return LlmPlanner(
        base_url=model.url,
        model="scripted",
        api_key="sk-test",
        timeout=timeout,
        fallback=OfflinePlanner(),
    )


def _context(timezone: str = "Europe/Paris", **kwargs: Any) -> PlanContext:
    return PlanContext(now=NOW, timezone=timezone, **kwargs)


async def test_a_tool_call_becomes_the_plan_and_the_prompt_has_the_local_moment(
    model: ScriptedModel,
) -> None:
    model.replies = [
        _calls(("add_task", {"title": "Call mom", "due_date": "2026-12-01", "due_time": "18:00"})),
        _text("I added it."),
    ]
    plan = await _planner(model).plan("remind me to call mom tomorrow at 6pm", _context())

    assert plan == Plan(
        calls=(
            ToolCall(
                "add_task", {"title": "Call mom", "due_date": "2026-12-01", "due_time": "18:00"}
            ),
        )
    )
    first = model.requests[0]
    assert first["model"] == "scripted"
    assert first["authorization"] == "Bearer sk-test"
    system = first["messages"][0]["content"]
    assert "Monday 2026-11-30 15:05" in system  # 14:05 UTC is 15:05 in Paris
    assert "Europe/Paris" in system
    names = {tool["function"]["name"] for tool in first["tools"]}
    assert {"add_task", "list_tasks", "update_task", "delete_task", "set_reminder"} <= names
    assert model.requests[1]["messages"][-1]["role"] == "tool"


async def test_several_steps_read_then_act_on_each_task_found(model: ScriptedModel) -> None:
    tasks = (
        KnownTask("t-1", "Standup meeting"),
        KnownTask("t-2", "Buy milk"),
        KnownTask("t-3", "Design meeting"),
    )
    model.replies = [
        _calls(("search_tasks", {"query": "meeting"})),
        _calls(
            ("update_task", {"task_id": "t-1", "due_time": "14:00"}),
            ("update_task", {"task_id": "t-3", "due_time": "14:00"}),
        ),
        _text("Moved both."),
    ]
    plan = await _planner(model).plan("move my meetings to 2 PM", _context(tasks=tasks))

    assert plan.calls == (
        ToolCall("search_tasks", {"query": "meeting"}),
        ToolCall("update_task", {"task_id": "t-1", "due_time": "14:00"}),
        ToolCall("update_task", {"task_id": "t-3", "due_time": "14:00"}),
    )
    found = json.loads(model.requests[1]["messages"][-1]["content"])
    assert [t["id"] for t in found["tasks"]] == ["t-1", "t-3"]
    assert len(model.requests) == 3


async def test_local_wall_clock_moments_are_converted_in_the_users_zone(
    model: ScriptedModel,
) -> None:
    model.replies = [
        _calls(
            ("set_reminder", {"task_id": "t-1", "at": "2026-12-01T08:00"}),
            ("list_tasks", {"due_before": "2026-12-02T00:00", "due_after": "2026-12-01T00:00Z"}),
        ),
        _text("ok"),
    ]
    plan = await _planner(model).plan("remind me at 8 tomorrow", _context("America/New_York"))

    assert plan.calls[0].arguments == {"task_id": "t-1", "at": "2026-12-01T08:00:00-05:00"}
    assert plan.calls[1].arguments == {
        "due_before": "2026-12-02T00:00:00-05:00",
        "due_after": "2026-12-01T00:00:00+00:00",
    }


async def test_questions_and_confirmations_come_back_as_such(model: ScriptedModel) -> None:
    model.replies = [_calls(("ask_user", {"question": "Which meeting?"}))]
    assert await _planner(model).plan("move the meeting", _context()) == Plan(
        question="Which meeting?"
    )
    model.replies = [_calls(("answer_confirmation", {"yes": True}))]
    confirmed = await _planner(model).plan("sure", _context(awaiting_confirmation=True))
    assert confirmed == Plan(confirmed=True)
    assert "asked to confirm" in model.requests[-1]["messages"][0]["content"]
    model.replies = [_text("Hello there!")]
    assert await _planner(model).plan("hi", _context()) == Plan(reply="Hello there!")


async def test_a_failing_endpoint_falls_back_to_the_offline_planner_and_says_so(
    model: ScriptedModel, caplog: pytest.LogCaptureFixture
) -> None:
    offline = await OfflinePlanner().plan("what's overdue?", _context())
    model.replies = [500]
    with caplog.at_level(logging.WARNING, logger="taskstream.chat.llm"):
        plan = await _planner(model).plan("what's overdue?", _context())
    assert plan == offline
    assert "the offline planner answers" in caplog.text
    assert "HTTPStatusError" in caplog.text

    model.replies = [_calls(("no_such_tool", {}))]
    assert await _planner(model).plan("what's overdue?", _context()) == offline


async def test_a_slow_endpoint_times_out_and_the_offline_planner_answers(
    model: ScriptedModel, caplog: pytest.LogCaptureFixture
) -> None:
    model.delay = 2.0
    with caplog.at_level(logging.WARNING, logger="taskstream.chat.llm"):
        plan = await _planner(model, timeout=0.3).plan("what's overdue?", _context())
    assert plan == await OfflinePlanner().plan("what's overdue?", _context())
    assert "TimeoutError" in caplog.text or "Timeout" in caplog.text


async def test_an_unreachable_endpoint_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    planner = LlmPlanner(
        base_url="http://127.0.0.1:9/v1",
        model="m",
        api_key=None,
        timeout=2.0,
        fallback=OfflinePlanner(),
    )
    with caplog.at_level(logging.WARNING, logger="taskstream.chat.llm"):
        plan = await planner.plan("show my tasks", _context())
    assert plan.calls
    assert plan.calls[0].name == "list_tasks"
    assert "ConnectError" in caplog.text


@pytest.fixture
async def llm_container(
    settings: Settings, clock: AdjustableClock, model: ScriptedModel
) -> AsyncIterator[Container]:
    configured = settings.model_copy(update={"llm_base_url": model.url, "llm_model": "scripted"})
    built = build(configured, clock=clock)
    await built.start()
    yield built
    await built.stop()


async def test_the_chat_endpoint_uses_the_configured_model(
    llm_container: Container, model: ScriptedModel
) -> None:
    app = create_app(llm_container, migrate=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as client:
        login: Login = _login_with(client)
        ada = await login()
        model.replies = [
            _calls(("add_task", {"title": "Water the plants", "priority": "high"})),
            _text("Added."),
        ]
        response = await client.post("/chat", json={"message": "water plants!"}, headers=ada)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["response"] == "Added “Water the plants”, high priority."
        assert answer["tool_calls"][0]["result"]["priority"] == "high"


def _login_with(client: httpx.AsyncClient) -> Login:
    async def login(email: str = "ada@example.com") -> dict[str, str]:
        password = "correct horse battery"
        await client.post(
            "/auth/signup", json={"email": email, "password": password, "timezone": "Europe/Paris"}
        )
        response = await client.post("/auth/login", json={"email": email, "password": password})
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return login
