"""The LLM planner: any OpenAI-compatible chat-completions endpoint with tool calling.

The model sees the same tools as everyone else (their argument models' JSON schemas),
the user's local date, time and zone, and the user's tasks with their ids. It proposes
calls; it never acts. Reads it asks for (`list_tasks`, `search_tasks`) are answered from
the tasks it was given, so it can take several steps ("find my meetings, then move each
one"); every call it proposes goes into the plan, which the chat service runs (asking
first where it must).

The model gives local wall-clock times; the server converts them: a moment without an
offset (`2026-12-01T08:00`) is read in the user's zone. If the endpoint fails, answers
nonsense or takes longer than the timeout, the fallback planner (the offline one) answers
and the log says so.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import httpx

from taskstream.chat.plan import KnownTask, Plan, PlanContext, Planner, ToolCall
from taskstream.chat.tools import SPECS

log = logging.getLogger(__name__)

MAX_STEPS: Final = 5
_ASK: Final = "ask_user"
_CONFIRM: Final = "answer_confirmation"
_READS: Final = frozenset({"list_tasks", "search_tasks"})
_MOMENTS: Final = ("due_before", "due_after", "at")
_SHOWN_TASKS: Final = 100


class LlmFailed(Exception):
    """The endpoint answered something that is not a usable chat completion."""


def _schema(model: type[Any]) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema()
    schema.pop("title", None)
    return schema


def tool_definitions() -> list[dict[str, Any]]:
    """The tools as the chat-completions API describes functions."""
    tools = [
        {
            "type": "function",
            "function": {
                "name": spec.name,
                "description": spec.description,
                "parameters": _schema(spec.arguments),
            },
        }
        for spec in SPECS.values()
    ]
    tools.append(
        {
            "type": "function",
            "function": {
                "name": _ASK,
                "description": "Ask the user a question when a task or a required detail is "
                "unclear, instead of guessing.",
                "parameters": {
                    "type": "object",
                    "properties": {"question": {"type": "string"}},
                    "required": ["question"],
                },
            },
        }
    )
    tools.append(
        {
            "type": "function",
            "function": {
                "name": _CONFIRM,
                "description": "Only when the user was just asked to confirm an action: "
                "their answer (true for yes, false for no).",
                "parameters": {
                    "type": "object",
                    "properties": {"yes": {"type": "boolean"}},
                    "required": ["yes"],
                },
            },
        }
    )
    return tools


def system_prompt(context: PlanContext) -> str:
    local = context.now.astimezone(ZoneInfo(context.timezone))
    lines = [
        "You manage the user's tasks through the tools given. Call tools to act; never "
        "claim to have done something without a tool call. Use task ids exactly as listed.",
        f"Now it is {local:%A %Y-%m-%d %H:%M} in the user's time zone, {context.timezone}.",
        "Give dates as YYYY-MM-DD and times as HH:MM in the user's local time; give moments "
        "(due_before, due_after, at) as local YYYY-MM-DDTHH:MM without an offset.",
        "To act on several tasks, call the tool once per task.",
    ]
    if context.listed:
        lines.append("The last listing shown to the user, numbered as they saw it:")
        lines += [f"{n}. [{t.id}] {t.title}" for n, t in enumerate(context.listed, start=1)]
    if context.tasks:
        lines.append("The user's tasks:")
        lines += [
            f"- [{t.id}] {t.title}{' (done)' if t.done else ''}"
            for t in context.tasks[:_SHOWN_TASKS]
        ]
    if context.awaiting_confirmation:
        lines.append(
            f"The user was just asked to confirm an action: call {_CONFIRM} with their answer."
        )
    return "\n".join(lines)


def localized(arguments: dict[str, Any], timezone: str) -> dict[str, Any]:
    """The arguments with every local moment given an offset in the user's zone."""
    zone = ZoneInfo(timezone)
    fixed = dict(arguments)
    for name in _MOMENTS:
        value = fixed.get(name)
        if isinstance(value, str):
            fixed[name] = _aware(value, zone)
    reminders = fixed.get("reminders")
    if isinstance(reminders, list):
        fixed["reminders"] = [
            {**r, "at": _aware(r["at"], zone)} if isinstance(r, dict) and r.get("at") else r
            for r in reminders
        ]
    return fixed


def _aware(value: str, zone: ZoneInfo) -> str:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value  # the tool's own validation explains what is wrong
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def _found(name: str, arguments: dict[str, Any], context: PlanContext) -> list[dict[str, Any]]:
    """A read answered from the tasks the planner was given (ids, titles, done)."""
    words = str(arguments.get("query") or arguments.get("text") or "").lower().split()
    status = arguments.get("status")
    found: list[KnownTask] = [
        t
        for t in context.tasks
        if all(w in t.title.lower() for w in words)
        and (status is None or (status == "done") == t.done)
    ]
    return [{"id": t.id, "title": t.title, "done": t.done} for t in found]


class LlmPlanner:
    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None,
        timeout: float,
        fallback: Planner,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = timeout
        self._fallback = fallback
        self._transport = transport
        self._tools = tool_definitions()

    async def plan(self, message: str, context: PlanContext) -> Plan:
        try:
            async with asyncio.timeout(self._timeout):
                return await self._plan(message, context)
        except (httpx.HTTPError, TimeoutError, LlmFailed, ValueError, KeyError, TypeError) as exc:
            log.warning(
                "the LLM planner failed (%s: %s); the offline planner answers",
                type(exc).__name__,
                exc,
            )
            return await self._fallback.plan(message, context)

    async def _plan(self, message: str, context: PlanContext) -> Plan:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": system_prompt(context)},
            {"role": "user", "content": message},
        ]
        calls: list[ToolCall] = []
        async with httpx.AsyncClient(
            transport=self._transport, timeout=self._timeout, trust_env=False
        ) as http:
            for _ in range(MAX_STEPS):
                reply = await self._complete(http, messages)
                requested = reply.get("tool_calls") or []
                if not requested:
                    text = (reply.get("content") or "").strip()
                    if calls:
                        return Plan(calls=tuple(calls))
                    return Plan(reply=text or "Sorry, I have no answer to that.")
                messages.append(
                    {"role": "assistant", "content": reply.get("content"), "tool_calls": requested}
                )
                for call in requested:
                    name = call["function"]["name"]
                    arguments = json.loads(call["function"].get("arguments") or "{}")
                    if not isinstance(arguments, dict):
                        raise LlmFailed(f"arguments of {name} are not an object")
                    if name == _ASK:
                        return Plan(
                            question=str(arguments.get("question") or "Could you say more?")
                        )
                    if name == _CONFIRM:
                        return Plan(confirmed=bool(arguments.get("yes")))
                    if name not in SPECS:
                        raise LlmFailed(f"the model called an unknown tool {name!r}")
                    calls.append(ToolCall(name, localized(arguments, context.timezone)))
                    result: Any = (
                        {"tasks": _found(name, arguments, context)}
                        if name in _READS
                        else {"status": "will be done when you finish"}
                    )
                    messages.append(
                        {
                            "role": "tool",
                            "tool_call_id": call.get("id", name),
                            "content": json.dumps(result),
                        }
                    )
        if not calls:
            raise LlmFailed(f"no answer after {MAX_STEPS} steps")
        return Plan(calls=tuple(calls))

    async def _complete(
        self, http: httpx.AsyncClient, messages: list[dict[str, Any]]
    ) -> dict[str, Any]:
        response = await http.post(
            self._url,
            headers=self._headers,
            json={
                "model": self._model,
                "messages": messages,
                "tools": self._tools,
                "tool_choice": "auto",
                "temperature": 0,
            },
        )
        response.raise_for_status()
        body = response.json()
        try:
            reply = body["choices"][0]["message"]
        except (KeyError, IndexError, TypeError) as exc:
            raise LlmFailed(f"not a chat completion: {str(body)[:200]}") from exc
        if not isinstance(reply, dict):
            raise LlmFailed("the completion's message is not an object")
        return reply
