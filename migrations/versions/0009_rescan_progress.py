"""rescan progress: where an interrupted `monitor rescan` stands, so it can resume

Revision ID: 0009_rescan_progress
Revises: 0008_cluster
Create Date: 2026-12-05 00:50:00

One row per rules version a rescan ran with: the last post id it recorded, what it counted so
far and whether it finished. A rescan stopped with Ctrl-C resumes after that post when it is
run again with the same rules.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_rescan_progress"
down_revision: str | None = "0008_cluster"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "rescan_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ruleset_version", sa.String(length=64), nullable=False),
        sa.Column("after_post_id", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("scanned", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.Column("matches", sa.Integer(), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ruleset_version"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("rescan_progress")
