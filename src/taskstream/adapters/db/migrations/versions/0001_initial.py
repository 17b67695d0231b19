"""Users, refresh tokens, tasks, tags and full-text search.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from taskstream.adapters.db.tables import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_refresh_tokens_user_id_users"),
            nullable=False,
        ),
        sa.Column("family", sa.String(36), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_refresh_tokens_family", "refresh_tokens", ["family"])
    op.create_table(
        "tasks",
        sa.Column("seq", _BIGINT, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column(
            "owner_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_tasks_owner_id_users"),
            nullable=False,
        ),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("due_time", sa.Time(), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("reminders", sa.JSON(), nullable=False),
        sa.Column("recurrence_rule", sa.String(500), nullable=True),
        sa.Column("recurrence_anchor", sa.String(16), nullable=True),
        sa.Column("recurrence_start", sa.DateTime(timezone=False), nullable=True),
        sa.Column("series_id", sa.String(36), nullable=True),
        sa.Column("occurrence", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("id", name="uq_tasks_id"),
    )
    op.create_index("ix_tasks_owner_status_due", "tasks", ["owner_id", "status", "due_at"])
    op.create_index("ix_tasks_owner_created", "tasks", ["owner_id", "created_at"])
    op.create_index("ix_tasks_owner_updated", "tasks", ["owner_id", "updated_at"])
    op.create_index("ix_tasks_owner_series", "tasks", ["owner_id", "series_id"])
    op.create_table(
        "task_tags",
        sa.Column(
            "task_seq",
            _BIGINT,
            sa.ForeignKey("tasks.seq", ondelete="CASCADE", name="fk_task_tags_task_seq_tasks"),
            primary_key=True,
        ),
        sa.Column("tag", sa.String(40), primary_key=True),
        sa.Column("owner_id", sa.String(36), nullable=False),
    )
    op.create_index("ix_task_tags_owner_tag", "task_tags", ["owner_id", "tag"])

    if op.get_bind().dialect.name == "sqlite":
        _sqlite_fts()
    else:
        _postgres_search()


def _sqlite_fts() -> None:
    # An external-content FTS5 index over tasks, kept in step by triggers.
    op.execute(
        "CREATE VIRTUAL TABLE tasks_fts USING fts5("
        "title, description, content='tasks', content_rowid='seq', "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks BEGIN "
        "INSERT INTO tasks_fts(rowid, title, description) "
        "VALUES (new.seq, new.title, new.description); END"
    )
    op.execute(
        "CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN "
        "INSERT INTO tasks_fts(tasks_fts, rowid, title, description) "
        "VALUES ('delete', old.seq, old.title, old.description); END"
    )
    op.execute(
        "CREATE TRIGGER tasks_fts_update AFTER UPDATE OF title, description ON tasks BEGIN "
        "INSERT INTO tasks_fts(tasks_fts, rowid, title, description) "
        "VALUES ('delete', old.seq, old.title, old.description); "
        "INSERT INTO tasks_fts(rowid, title, description) "
        "VALUES (new.seq, new.title, new.description); END"
    )


def _postgres_search() -> None:
    # Accents fold away as in SQLite's index ("creme" finds "Crème"); unaccent() is only
    # STABLE, so a generated column needs this IMMUTABLE wrapper with its dictionary pinned.
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute(
        "CREATE FUNCTION taskstream_unaccent(text) RETURNS text "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT "
        "AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$"
    )
    op.execute(
        "ALTER TABLE tasks ADD COLUMN search tsvector GENERATED ALWAYS AS "
        "(to_tsvector('simple', taskstream_unaccent(title || ' ' || description))) STORED"
    )
    op.execute("CREATE INDEX ix_tasks_search ON tasks USING gin (search)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE tasks_fts")
    op.drop_table("task_tags")
    op.drop_table("tasks")
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION taskstream_unaccent(text)")
    op.drop_table("refresh_tokens")
    op.drop_table("users")
