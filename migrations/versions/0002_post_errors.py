"""post errors and the end of a channel's first walk

Revision ID: 0002_post_errors
Revises: 0001
Create Date: 2026-12-04 21:00:00

A post that cannot be stored is recorded in ``post_errors`` and the channel moves on. A
channel's first walk now ends with ``walked_at`` set, even when the channel was empty; a
channel with a cursor was walked already. ``failed_cycles`` counts a channel's cycles failed
in a row, so `run --once` from cron sees a channel failing too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_post_errors"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "post_errors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_post_errors_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_errors")),
        sa.UniqueConstraint("channel_id", "message_id", name="uq_post_errors_channel_message"),
    )
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("walked_at", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column("failed_cycles", sa.Integer(), server_default="0", nullable=False)
        )
    op.execute(
        "UPDATE channels SET walked_at = COALESCE(last_polled_at, created_at)"
        " WHERE last_message_id > 0"
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("failed_cycles")
        batch.drop_column("walked_at")
    op.drop_table("post_errors")
