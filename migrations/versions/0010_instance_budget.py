"""instance budget: how many resolves each cluster instance could make at its last renewal

Revision ID: 0010_instance_budget
Revises: 0009_rescan_progress
Create Date: 2026-12-05 07:25:00

Channels an instance would have to resolve before reading them go to the instances whose
account has resolves left; each instance publishes its count with its heartbeat.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_instance_budget"
down_revision: str | None = "0009_rescan_progress"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("instances", sa.Column("resolves_ready", sa.Float(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("resolves_ready")
