"""An index in the due order of a listing: open tasks, soonest due first.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The expression is tables.NO_DUE's, as the listings write it.
    no_due = sa.text("(CASE WHEN due_at IS NULL THEN 1 ELSE 0 END)")
    op.create_index(
        "ix_tasks_owner_status_due_order",
        "tasks",
        ["owner_id", "status", no_due, "due_at", "seq"],
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_owner_status_due_order", "tasks")
