"""The chat assistant: a message in, an answer and the tool calls made out; the history.

Stateless: the conversation lives in the database, so any `api` process answers any
message, and a conversation resumes after a restart. Another user's conversation answers
404 exactly as a missing one does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from taskstream.chat.conversations import Conversation, Message, Role, ToolRecord
from taskstream.entrypoints.api.deps import ContainerDep, CurrentUser
from taskstream.entrypoints.api.schemas import NO_NUL_PATTERN, NOT_BLANK_PATTERN, Problem

router = APIRouter(tags=["chat"])

CONVERSATIONS_MAX = 100
MESSAGES_MAX = 500
MESSAGE_BOUND = 100_000
"""The most any setting lets a chat message hold; the OpenAPI document states the setting."""

_ConversationId = Annotated[str, Path(max_length=36)]


class ChatIn(BaseModel):
    model_config = {"extra": "forbid"}

    conversation_id: (
        Annotated[str, Field(max_length=36, json_schema_extra={"pattern": NO_NUL_PATTERN})] | None
    ) = Field(default=None, description="Continue this conversation; empty: a new one.")
    message: str = Field(  # the service checks the configured limit; pydantic bounds the work
        max_length=MESSAGE_BOUND,
        examples=["remind me to call mom tomorrow at 6pm"],
        description="What the user says: not blank, at most TASKSTREAM_CHAT_MAX_MESSAGE_CHARS "
        "characters (the schema states this server's setting).",
        json_schema_extra={"pattern": NOT_BLANK_PATTERN},
    )


class ToolCallPublic(BaseModel):
    name: str
    arguments: dict[str, Any]
    result: dict[str, Any] | None = Field(description="The tool's typed result; null on error.")
    error: dict[str, Any] | None = Field(
        default=None, description="`code` and `message` when the call was refused."
    )

    @classmethod
    def of(cls, record: ToolRecord) -> ToolCallPublic:
        return cls(
            name=record.name, arguments=record.arguments, result=record.result, error=record.error
        )


class ChatOut(BaseModel):
    conversation_id: str
    response: str = Field(description="The answer, saying what was done.")
    tool_calls: list[ToolCallPublic]
    awaiting_confirmation: bool = Field(
        description="True when the answer asks the user to confirm an action (yes / no)."
    )


class ConversationPublic(BaseModel):
    id: str
    title: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationPublic:
        return cls(
            id=conversation.id,
            title=conversation.title,
            created_at=conversation.created_at,
            updated_at=conversation.updated_at,
        )


class ConversationsPublic(BaseModel):
    data: list[ConversationPublic] = Field(description="The most recently active first.")


class MessagePublic(BaseModel):
    id: str
    role: Role
    content: str
    created_at: datetime
    tool_calls: list[ToolCallPublic]

    @classmethod
    def of(cls, message: Message) -> MessagePublic:
        return cls(
            id=message.id,
            role=message.role,
            content=message.content,
            created_at=message.created_at,
            tool_calls=[ToolCallPublic.of(r) for r in message.tool_calls],
        )


class MessagesPublic(BaseModel):
    data: list[MessagePublic] = Field(description="Oldest first.")


@router.post(
    "/chat",
    name="send",
    responses={401: {"model": Problem}, 404: {"model": Problem}, 422: {"model": Problem}},
)
async def send(body: ChatIn, principal: CurrentUser, container: ContainerDep) -> ChatOut:
    """Say something to the assistant; it acts on your tasks and says what it did."""
    turn = await container.chat.send(principal, body.message, body.conversation_id)
    return ChatOut(
        conversation_id=turn.conversation_id,
        response=turn.response,
        tool_calls=[ToolCallPublic.of(r) for r in turn.tool_calls],
        awaiting_confirmation=turn.awaiting_confirmation,
    )


@router.get("/conversations", name="list", responses={401: {"model": Problem}})
async def list_conversations(
    principal: CurrentUser,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=CONVERSATIONS_MAX)] = 20,
) -> ConversationsPublic:
    """Your conversations with the assistant."""
    found = await container.chat.conversations(principal.user_id, limit)
    return ConversationsPublic(data=[ConversationPublic.of(c) for c in found])


@router.get(
    "/conversations/{conversation_id}/messages",
    name="messages",
    responses={401: {"model": Problem}, 404: {"model": Problem}},
)
async def list_messages(
    conversation_id: _ConversationId,
    principal: CurrentUser,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=MESSAGES_MAX)] = 100,
) -> MessagesPublic:
    """The last messages of one of your conversations, oldest first."""
    found = await container.chat.messages(principal.user_id, conversation_id, limit)
    return MessagesPublic(data=[MessagePublic.of(m) for m in found])
