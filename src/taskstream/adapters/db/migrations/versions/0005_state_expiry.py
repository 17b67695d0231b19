"""State items that expire: a moment after which the state store forgets an item.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from taskstream.adapters.db.tables import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("state", sa.Column("expires_at", UTCDateTime(), nullable=True))
    op.create_index("ix_state_expires_at", "state", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_state_expires_at", "state")
    with op.batch_alter_table("state") as batch:
        batch.drop_column("expires_at")
