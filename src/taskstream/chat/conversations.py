"""Conversations and their messages: what the chat service keeps between two requests.

The chat endpoint is stateless: everything a next message needs (the last listing shown,
an action waiting for the user's yes or no) is stored with the assistant's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from taskstream.chat.plan import KnownTask, ToolCall


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    user_id: str
    title: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ToolRecord:
    """One tool call made, as the user is shown it: the result, or the error's code."""

    name: str
    arguments: dict[str, Any]
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    conversation_id: str
    role: Role
    content: str
    created_at: datetime
    tool_calls: tuple[ToolRecord, ...] = ()
    listed: tuple[KnownTask, ...] | None = None
    """The tasks this answer listed, in the order shown; None when it listed none."""
    pending: tuple[ToolCall, ...] = ()
    """Calls waiting for the user's confirmation."""


class ConversationStore(Protocol):
    """Every read is scoped to one user: another user's conversation does not exist."""

    async def create(self, conversation: Conversation) -> None: ...

    async def get(self, user_id: str, conversation_id: str) -> Conversation | None: ...

    async def of_user(self, user_id: str, limit: int) -> list[Conversation]:
        """The user's conversations, the most recently active first."""
        ...

    async def messages(self, user_id: str, conversation_id: str, limit: int) -> list[Message]:
        """The last `limit` messages of the conversation, oldest first."""
        ...

    async def append(self, conversation_id: str, messages: list[Message], now: datetime) -> None:
        """Add messages (in order) and mark the conversation active at `now`."""
        ...


def message_data(message: Message) -> dict[str, Any]:
    """The parts of a message stored as JSON."""
    return {
        "tool_calls": [
            {"name": r.name, "arguments": r.arguments, "result": r.result, "error": r.error}
            for r in message.tool_calls
        ],
        "listed": None
        if message.listed is None
        else [{"id": t.id, "title": t.title, "done": t.done} for t in message.listed],
        "pending": [{"name": c.name, "arguments": c.arguments} for c in message.pending],
    }


def message_of(
    *,
    id: str,
    conversation_id: str,
    role: str,
    content: str,
    created_at: datetime,
    data: dict[str, Any],
) -> Message:
    listed = data.get("listed")
    return Message(
        id=id,
        conversation_id=conversation_id,
        role=Role(role),
        content=content,
        created_at=created_at,
        tool_calls=tuple(
            ToolRecord(r["name"], r["arguments"], r.get("result"), r.get("error"))
            for r in data.get("tool_calls", [])
        ),
        listed=None
        if listed is None
        else tuple(KnownTask(t["id"], t["title"], bool(t.get("done"))) for t in listed),
        pending=tuple(ToolCall(c["name"], c["arguments"]) for c in data.get("pending", [])),
    )
