"""Alembic environment: runs on the connection the caller hands over (see migrate.py)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from taskstream.adapters.db.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("Run migrations through `taskstream migrate`, which provides a connection.")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
