"""post deletions: when the channel deleted a stored post

Revision ID: 0004_post_deletions
Revises: 0003_delivery_ids_missed_by_live
Create Date: 2026-12-04 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_post_deletions"
down_revision: str | None = "0003_delivery_ids_missed_by_live"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
