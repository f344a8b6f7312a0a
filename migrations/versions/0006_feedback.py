"""feedback and mutes: people's judgements of posts, and channels or rules held back from alerts

Revision ID: 0006_feedback
Revises: 0005_storage_speed
Create Date: 2026-12-04 23:45:00

``feedback`` keeps every judgement of a post (confirmed, false positive, missed story); the
newest row of a post is its current state. ``mutes`` holds the channels and rules whose flags
raise no alert for a while (or until undone); undone mutes keep their row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_feedback"
down_revision: str | None = "0005_storage_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("who", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_feedback_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    op.create_index("ix_feedback_post_id_id", "feedback", ["post_id", "id"])
    op.create_table(
        "mutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("who", sa.String(length=255), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mutes")),
    )
    op.create_index("ix_mutes_undone_at_until", "mutes", ["undone_at", "until"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_mutes_undone_at_until", table_name="mutes")
    op.drop_table("mutes")
    op.drop_index("ix_feedback_post_id_id", table_name="feedback")
    op.drop_table("feedback")
