"""The chat use case: one message in, the plan run through the tools, one answer out.

The service is stateless between requests: the conversation (the last listing shown, an
action waiting for a yes or no) is read from the store and written back with the answer.
A planner only proposes; this service acts, for the calling user only, and asks first
before a delete or a change to more than one task. The answer says exactly what was done,
with dates in the user's time zone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from taskstream.app.ports import Clock, IdFactory, Principal
from taskstream.app.queries import SortKey, TaskQuery
from taskstream.app.tasks import TaskService
from taskstream.chat import answers
from taskstream.chat.conversations import (
    Conversation,
    ConversationStore,
    Message,
    Role,
    ToolRecord,
)
from taskstream.chat.plan import KnownTask, Plan, PlanContext, Planner, ToolCall
from taskstream.chat.tools import SPECS, TaskList, Tools
from taskstream.domain.errors import DomainError, NotFound, ValidationFailed
from taskstream.domain.tasks import Status, zone
from taskstream.domain.text import refuse_nul

log = logging.getLogger(__name__)

HISTORY: Final = 50
"""How many earlier messages a new message is read with."""
KNOWN_TASKS: Final = 200
"""How many of the user's tasks a planner may match words of a title against."""
TITLE_MAX: Final = 60

_READS: Final = frozenset({"list_tasks", "search_tasks"})
_CONFIRM: Final = "Shall I go ahead? (yes / no)"


@dataclass(frozen=True, slots=True)
class ChatTurn:
    """The answer to one message."""

    conversation_id: str
    response: str
    tool_calls: tuple[ToolRecord, ...]
    awaiting_confirmation: bool


@dataclass(slots=True)
class _Outcome:
    sentences: list[str]
    records: list[ToolRecord]
    listed: tuple[KnownTask, ...] | None = None
    pending: tuple[ToolCall, ...] = ()


class ChatService:
    def __init__(
        self,
        *,
        store: ConversationStore,
        tools: Tools,
        tasks: TaskService,
        planner: Planner,
        clock: Clock,
        new_id: IdFactory,
        max_message_chars: int,
    ) -> None:
        self._store = store
        self._tools = tools
        self._tasks = tasks
        self._planner = planner
        self._clock = clock
        self._new_id = new_id
        self.max_message_chars = max_message_chars

    # --- reading ------------------------------------------------------------------------

    async def conversations(self, user_id: str, limit: int) -> list[Conversation]:
        return await self._store.of_user(user_id, limit)

    async def messages(self, user_id: str, conversation_id: str, limit: int) -> list[Message]:
        await self._conversation(user_id, conversation_id)
        return await self._store.messages(user_id, conversation_id, limit)

    async def _conversation(self, user_id: str, conversation_id: str) -> Conversation:
        conversation = await self._store.get(user_id, conversation_id)
        if conversation is None:
            raise NotFound(
                f"There is no conversation {conversation_id}.", code="conversation_not_found"
            )
        return conversation

    # --- one message --------------------------------------------------------------------

    async def send(
        self, caller: Principal, message: str, conversation_id: str | None = None
    ) -> ChatTurn:
        text = self._checked(message, conversation_id)
        now = self._clock.now()
        if conversation_id is None:
            conversation = Conversation(
                id=self._new_id(),
                user_id=caller.user_id,
                title=_title(text),
                created_at=now,
                updated_at=now,
            )
            await self._store.create(conversation)
            history: list[Message] = []
        else:
            conversation = await self._conversation(caller.user_id, conversation_id)
            history = await self._store.messages(caller.user_id, conversation.id, HISTORY)
        last = next((m for m in reversed(history) if m.role is Role.ASSISTANT), None)
        pending = last.pending if last is not None else ()
        context = PlanContext(
            now=now,
            timezone=caller.timezone,
            listed=_last_listing(history),
            tasks=await self._known_tasks(caller.user_id),
            awaiting_confirmation=bool(pending),
        )
        plan = await self._planner.plan(text, context)
        outcome = await self._outcome(caller, plan, pending, now)
        response = "\n".join(outcome.sentences)
        answered = self._clock.now()
        await self._store.append(
            conversation.id,
            [
                Message(self._new_id(), conversation.id, Role.USER, text, now),
                Message(
                    self._new_id(),
                    conversation.id,
                    Role.ASSISTANT,
                    response,
                    answered,
                    tool_calls=tuple(outcome.records),
                    listed=outcome.listed,
                    pending=outcome.pending,
                ),
            ],
            answered,
        )
        return ChatTurn(conversation.id, response, tuple(outcome.records), bool(outcome.pending))

    def _checked(self, message: str, conversation_id: str | None) -> str:
        refuse_nul("message", message)
        if conversation_id is not None:
            refuse_nul("conversation_id", conversation_id)
        text = message.strip()
        if not text:
            raise ValidationFailed.of("message", "message_blank", "Say something first.")
        if len(message) > self.max_message_chars:  # as given: the API's schema states it
            raise ValidationFailed.of(
                "message",
                "message_too_long",
                f"A message has at most {self.max_message_chars} characters; "
                f"this one has {len(message)}.",
            )
        return text

    async def _known_tasks(self, user_id: str) -> tuple[KnownTask, ...]:
        known: list[KnownTask] = []
        for status in (Status.OPEN, Status.DONE):
            page = await self._tasks.find(
                user_id,
                TaskQuery(status=status, sort=SortKey.UPDATED, limit=KNOWN_TASKS - len(known)),
            )
            known += [KnownTask(t.id, t.title, t.status is Status.DONE) for t in page.tasks]
            if len(known) >= KNOWN_TASKS:
                break
        return tuple(known)

    async def _outcome(
        self, caller: Principal, plan: Plan, pending: tuple[ToolCall, ...], now: datetime
    ) -> _Outcome:
        tz = zone(caller.timezone)
        if pending and plan.confirmed is True:
            return await self._run(caller, list(pending), tz)
        if pending and plan.confirmed is False:
            return _Outcome(["Okay, I left everything as it was."], [])
        if plan.question:
            return _Outcome([plan.question], [])
        if plan.calls or plan.for_each:
            return await self._act(caller, plan, tz)
        if plan.reply:
            return _Outcome([plan.reply], [])
        return _Outcome(
            [
                "Sorry, I did not understand that. You can say things like "
                "“remind me to call mom tomorrow at 6pm” or “what's overdue?”."
            ],
            [],
        )

    async def _act(self, caller: Principal, plan: Plan, tz: ZoneInfo) -> _Outcome:
        """Run the plan, unless it deletes or changes several tasks: then run only its
        listings and ask first, keeping the changes for the user's answer."""
        calls = list(plan.calls)
        asks_first = plan.for_each is not None or _deletes_or_many(calls)
        if not asks_first:
            return await self._run(caller, calls, tz)
        reads = [c for c in calls if c.name in _READS]
        outcome = await self._run(caller, reads, tz)
        writes = [c for c in calls if c.name not in _READS]
        if plan.for_each is not None:
            found = _last_found(outcome.records)
            if found is None:
                outcome.sentences.append("I need a listing to know which tasks you mean.")
                return outcome
            writes += [
                replace(plan.for_each, arguments={**plan.for_each.arguments, "task_id": task.id})
                for task in found
            ]
        if not writes:
            return outcome
        if not _deletes_or_many(writes):
            done = await self._run(caller, writes, tz)
            outcome.sentences += done.sentences
            outcome.records += done.records
            return outcome
        titles = await self._titles(caller, writes)
        planned = [
            answers.pending_sentence(c.name, c.arguments, titles.get(_task_id(c) or "", "a task"))
            for c in writes
        ]
        outcome.sentences.append(
            "I'm about to " + _joined(planned) + f". {_CONFIRM}"
            if len(planned) < 4
            else "I'm about to:\n" + "\n".join(f"- {p}" for p in planned) + f"\n{_CONFIRM}"
        )
        outcome.pending = tuple(writes)
        return outcome

    async def _titles(self, caller: Principal, calls: list[ToolCall]) -> dict[str, str]:
        titles: dict[str, str] = {}
        for call in calls:
            task_id = _task_id(call)
            if task_id and task_id not in titles:
                try:
                    titles[task_id] = (await self._tasks.get(caller.user_id, task_id)).title
                except DomainError:
                    titles[task_id] = "a task that no longer exists"
        return titles

    async def _run(self, caller: Principal, calls: list[ToolCall], tz: ZoneInfo) -> _Outcome:
        """Make each call in turn; a refused call is reported and the others still run."""
        outcome = _Outcome([], [])
        now = self._clock.now()
        for call in calls:
            try:
                if call.name not in SPECS:
                    raise ValidationFailed.of(
                        "name", "tool_unknown", f"there is no tool '{call.name}'"
                    )
                result = await self._tools.call(caller, call.name, call.arguments)
            except DomainError as exc:
                title = await self._title_of(caller, call)
                outcome.sentences.append(answers.failed_sentence(call.name, title, _said(exc)))
                outcome.records.append(ToolRecord(call.name, call.arguments, error=_error(exc)))
                continue
            outcome.sentences.append(
                answers.done_sentence(call.name, call.arguments, result, tz, now)
            )
            outcome.records.append(
                ToolRecord(call.name, call.arguments, result=result.model_dump(mode="json"))
            )
            if isinstance(result, TaskList):
                outcome.listed = tuple(
                    KnownTask(t.id, t.title, t.status is Status.DONE) for t in result.tasks
                )
        return outcome

    async def _title_of(self, caller: Principal, call: ToolCall) -> str | None:
        task_id = _task_id(call)
        if task_id is None:
            return None
        try:
            return (await self._tasks.get(caller.user_id, task_id)).title
        except DomainError:
            return None


def _title(text: str) -> str:
    first = text.splitlines()[0]
    return first if len(first) <= TITLE_MAX else first[: TITLE_MAX - 1].rstrip() + "…"


def _task_id(call: ToolCall) -> str | None:
    task_id = call.arguments.get("task_id")
    return task_id if isinstance(task_id, str) else None


def _deletes_or_many(calls: list[ToolCall]) -> bool:
    targets = {_task_id(c) for c in calls if SPECS.get(c.name) and SPECS[c.name].changes_a_task}
    return any(c.name == "delete_task" for c in calls) or len(targets) > 1


def _last_found(records: list[ToolRecord]) -> list[KnownTask] | None:
    for record in reversed(records):
        if record.name in _READS and record.result is not None:
            return [KnownTask(t["id"], t["title"]) for t in record.result["tasks"]]
    return None


def _last_listing(history: list[Message]) -> tuple[KnownTask, ...]:
    for message in reversed(history):
        if message.listed is not None:
            return message.listed
    return ()


def _joined(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _said(exc: DomainError) -> str:
    message = exc.message
    if isinstance(exc, ValidationFailed) and len(exc.problems) > 1:
        message = " ".join(p.message.rstrip(".") + "." for p in exc.problems)
    return message if message.endswith((".", "!", "?")) else message + "."


def _error(exc: DomainError) -> dict[str, Any]:
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if isinstance(exc, ValidationFailed):
        error["errors"] = [
            {"field": p.field, "code": p.code, "message": p.message} for p in exc.problems
        ]
    return error
