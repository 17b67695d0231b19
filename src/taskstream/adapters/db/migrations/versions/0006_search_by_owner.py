"""The full-text index scoped by owner (see adapters/db/search.py).

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
    else:
        _postgres_upgrade()


def _sqlite_upgrade() -> None:
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER tasks_fts_{trigger}")
    op.execute("DROP TABLE tasks_fts")
    # Contentless, no positions: the index answers "which rows hold these terms", no more.
    op.execute(
        "CREATE VIRTUAL TABLE tasks_fts USING fts5(terms, content='', detail='none', "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks BEGIN "
        "INSERT INTO tasks_fts(rowid, terms) VALUES (new.seq, "
        "taskstream_search_terms(new.owner_id, new.title, new.description)); END"
    )
    op.execute(
        "CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN "
        "INSERT INTO tasks_fts(tasks_fts, rowid, terms) VALUES ('delete', old.seq, "
        "taskstream_search_terms(old.owner_id, old.title, old.description)); END"
    )
    op.execute(
        "CREATE TRIGGER tasks_fts_update AFTER UPDATE OF title, description ON tasks BEGIN "
        "INSERT INTO tasks_fts(tasks_fts, rowid, terms) VALUES ('delete', old.seq, "
        "taskstream_search_terms(old.owner_id, old.title, old.description)); "
        "INSERT INTO tasks_fts(rowid, terms) VALUES (new.seq, "
        "taskstream_search_terms(new.owner_id, new.title, new.description)); END"
    )
    op.execute(
        "INSERT INTO tasks_fts(rowid, terms) "
        "SELECT seq, taskstream_search_terms(owner_id, title, description) FROM tasks"
    )


def _postgres_upgrade() -> None:
    op.execute(
        "CREATE FUNCTION taskstream_search_vector(owner_id text, body text) RETURNS tsvector "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$ "
        "SELECT coalesce(array_to_tsvector(array_agg(left(md5(owner_id), 16) || lexeme)), "
        "''::tsvector) FROM unnest(to_tsvector('simple', taskstream_unaccent(body))) $$"
    )
    # Words of min_prefix characters or more match as prefixes, shorter ones as words.
    op.execute(
        "CREATE FUNCTION taskstream_search_query(owner_id text, phrase text, min_prefix int) "
        "RETURNS tsquery LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$ "
        "SELECT string_agg(quote_literal(left(md5(owner_id), 16) || lexeme) "
        "|| CASE WHEN length(lexeme) >= min_prefix THEN ':*' ELSE '' END, ' & ')::tsquery "
        "FROM unnest(to_tsvector('simple', taskstream_unaccent(phrase))) $$"
    )
    op.execute("ALTER TABLE tasks DROP COLUMN search")  # and its index
    op.execute(
        "ALTER TABLE tasks ADD COLUMN search tsvector GENERATED ALWAYS AS "
        "(taskstream_search_vector(owner_id, title || ' ' || description)) STORED"
    )
    op.execute("CREATE INDEX ix_tasks_search ON tasks USING gin (search)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER tasks_fts_{trigger}")
        op.execute("DROP TABLE tasks_fts")
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
        op.execute("INSERT INTO tasks_fts(tasks_fts) VALUES ('rebuild')")
        return
    op.execute("ALTER TABLE tasks DROP COLUMN search")
    op.execute(
        "ALTER TABLE tasks ADD COLUMN search tsvector GENERATED ALWAYS AS "
        "(to_tsvector('simple', taskstream_unaccent(title || ' ' || description))) STORED"
    )
    op.execute("CREATE INDEX ix_tasks_search ON tasks USING gin (search)")
    op.execute("DROP FUNCTION taskstream_search_query(text, text, int)")
    op.execute("DROP FUNCTION taskstream_search_vector(text, text)")
