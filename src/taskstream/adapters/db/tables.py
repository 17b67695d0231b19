"""The SQL schema, shared by SQLite and PostgreSQL; Alembic migrations create it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    TypeDecorator,
    case,
    literal_column,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> Callable[[Any], datetime | None] | None:
        # SQLite hands back the text written by process_bind_param: read it in one step,
        # not as a naive datetime first (a quarter of the cost of reading a task).
        if dialect.name == "sqlite":
            return _utc_from_sqlite
        return super().result_processor(dialect, coltype)


def _utc_from_sqlite(value: str | None) -> datetime | None:
    """A UTC moment stored by SQLite as ISO 8601 text without an offset."""
    return None if value is None else datetime.fromisoformat(value + "+00:00")


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("family", String(36), nullable=False, index=True),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
)

tasks = Table(
    "tasks",
    metadata,
    # An integer key gives SQLite's FTS5 index a stable rowid and keyset pages a tie-break.
    Column(
        "seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("id", String(36), nullable=False, unique=True),
    Column("owner_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text(), nullable=False),
    Column("status", String(8), nullable=False),
    Column("priority", SmallInteger(), nullable=False),
    Column("tags", JSON(), nullable=False),
    Column("due_date", Date(), nullable=True),
    Column("due_time", Time(), nullable=True),
    Column("due_at", UTCDateTime(), nullable=True),
    Column("timezone", String(64), nullable=False),
    Column("reminders", JSON(), nullable=False),
    Column("recurrence_rule", String(500), nullable=True),
    Column("recurrence_anchor", String(16), nullable=True),
    Column("recurrence_start", DateTime(timezone=False), nullable=True),
    Column("series_id", String(36), nullable=True),
    Column("occurrence", Integer(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("completed_at", UTCDateTime(), nullable=True),
    Column("version", Integer(), nullable=False),
    Index("ix_tasks_owner_status_due", "owner_id", "status", "due_at"),
    Index("ix_tasks_owner_created", "owner_id", "created_at"),
    Index("ix_tasks_owner_updated", "owner_id", "updated_at"),
    Index("ix_tasks_owner_series", "owner_id", "series_id"),
    # One task per occurrence of a series: a redelivered completion cannot make two.
    Index("uq_tasks_series_occurrence", "series_id", "occurrence", unique=True),
)

NO_DUE: Final = case(
    (tasks.c.due_at.is_(None), literal_column("1", Integer())), else_=literal_column("0", Integer())
)
"""1 for a task without a due moment, else 0: the first key of the due order, so that those
come last. Written with literals, not bound values, to be the expression of the index below."""

# The order of the web app's default listing (open tasks, soonest due first): a page is
# read from the index and stops at its last row, where the index above gives every open
# task of the owner to sort.
Index(
    "ix_tasks_owner_status_due_order",
    tasks.c.owner_id,
    tasks.c.status,
    NO_DUE,
    tasks.c.due_at,
    tasks.c.seq,
)

task_tags = Table(
    "task_tags",
    metadata,
    Column(
        "task_seq",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("tasks.seq", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tag", String(40), primary_key=True),
    Column("owner_id", String(36), nullable=False),
    Index("ix_task_tags_owner_tag", "owner_id", "tag"),
)

# --- the event backbone ------------------------------------------------------------------

_SEQ = BigInteger().with_variant(Integer(), "sqlite")

outbox = Table(
    "outbox",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("topic", String(40), nullable=False),
    Column("partition_key", String(36), nullable=False),
    Column("payload", JSON(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    Index("ix_outbox_sent_at_seq", "sent_at", "seq"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("subscription", String(80), nullable=False),
    Column("topic", String(40), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("payload", JSON(), nullable=False),
    Column("error", Text(), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("failed_at", UTCDateTime(), nullable=False),
    Column("replayed_at", UTCDateTime(), nullable=True),
    Index("ix_dead_letters_failed_at", "failed_at"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("payload", JSON(), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Index("ix_jobs_due_at", "due_at"),
)

state = Table(
    "state",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("value", JSON(), nullable=False),
    Column("etag", Integer(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=True),
    Index("ix_state_expires_at", "expires_at"),
)

activity = Table(
    "activity",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("user_id", String(36), nullable=False),
    Column("task_id", String(36), nullable=True),
    Column("type", String(40), nullable=False),
    Column("time", UTCDateTime(), nullable=False),
    Column("data", JSON(), nullable=False),
    Index("ix_activity_user_time", "user_id", "time", "seq"),
    Index("ix_activity_user_task", "user_id", "task_id", "seq"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_webhooks_user_id", "user_id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_conversations_user_updated", "user_id", "updated_at"),
)

messages = Table(
    "messages",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column(
        "conversation_id",
        String(36),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("role", String(16), nullable=False),
    Column("content", Text(), nullable=False),
    Column("data", JSON(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_messages_conversation_seq", "conversation_id", "seq"),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_used_at", UTCDateTime(), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Index("ix_access_tokens_user_id", "user_id"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("task_id", String(36), nullable=True),
    Column("title", String(200), nullable=False),
    Column("data", JSON(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("read_at", UTCDateTime(), nullable=True),
    Index("ix_notifications_user_created", "user_id", "created_at", "seq"),
    Index("ix_notifications_user_read", "user_id", "read_at"),
)
