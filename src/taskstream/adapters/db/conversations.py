"""Conversations and messages in SQL; every read is scoped to the conversation's owner."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import insert, select, update

from taskstream.adapters.db.tables import conversations, messages
from taskstream.chat.conversations import Conversation, Message, message_data, message_of

if TYPE_CHECKING:
    from sqlalchemy.engine import RowMapping

    from taskstream.adapters.db.database import Database


def _conversation(row: RowMapping) -> Conversation:
    return Conversation(
        id=row["id"],
        user_id=row["user_id"],
        title=row["title"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SqlConversationStore:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def create(self, conversation: Conversation) -> None:
        async with self._database.transaction() as conn:
            await conn.execute(
                insert(conversations).values(
                    id=conversation.id,
                    user_id=conversation.user_id,
                    title=conversation.title,
                    created_at=conversation.created_at,
                    updated_at=conversation.updated_at,
                )
            )

    async def get(self, user_id: str, conversation_id: str) -> Conversation | None:
        async with self._database.read() as conn:
            row = (
                await conn.execute(
                    select(conversations).where(
                        conversations.c.id == conversation_id,
                        conversations.c.user_id == user_id,
                    )
                )
            ).first()
        return None if row is None else _conversation(row._mapping)

    async def of_user(self, user_id: str, limit: int) -> list[Conversation]:
        async with self._database.read() as conn:
            rows = (
                await conn.execute(
                    select(conversations)
                    .where(conversations.c.user_id == user_id)
                    .order_by(conversations.c.updated_at.desc(), conversations.c.id)
                    .limit(limit)
                )
            ).all()
        return [_conversation(row._mapping) for row in rows]

    async def messages(self, user_id: str, conversation_id: str, limit: int) -> list[Message]:
        statement = (
            select(messages)
            .join(conversations, conversations.c.id == messages.c.conversation_id)
            .where(
                messages.c.conversation_id == conversation_id,
                conversations.c.user_id == user_id,
            )
            .order_by(messages.c.seq.desc())
            .limit(limit)
        )
        async with self._database.read() as conn:
            rows = (await conn.execute(statement)).all()
        return [
            message_of(
                id=row.id,
                conversation_id=row.conversation_id,
                role=row.role,
                content=row.content,
                created_at=row.created_at,
                data=row.data,
            )
            for row in reversed(rows)
        ]

    async def append(self, conversation_id: str, new: list[Message], now: datetime) -> None:
        async with self._database.transaction() as conn:
            for message in new:
                await conn.execute(
                    insert(messages).values(
                        id=message.id,
                        conversation_id=conversation_id,
                        role=message.role.value,
                        content=message.content,
                        data=message_data(message),
                        created_at=message.created_at,
                    )
                )
            await conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(updated_at=now)
            )
