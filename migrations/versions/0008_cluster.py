"""cluster: instances and channel leases, for several instances over one PostgreSQL

Revision ID: 0008_cluster
Revises: 0007_search
Create Date: 2026-12-04 23:50:00

``instances`` registers each ``monitor run`` (account, host, pid, version, heartbeat);
``channel_leases`` says which instance watches each channel until when; ``account_channels``
keeps each account's own access hash and membership. Only new tables: an
older instance still running ignores them, so ``monitor db upgrade`` is safe under it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_cluster"
down_revision: str | None = "0007_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "instances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
    )
    op.create_table(
        "channel_leases",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=True),
        sa.Column("acquired_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_channel_leases_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["instances.id"],
            name=op.f("fk_channel_leases_holder_id_instances"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_channel_leases")),
    )
    op.create_index(
        op.f("ix_channel_leases_holder_id"), "channel_leases", ["holder_id"], unique=False
    )
    op.create_table(
        "account_channels",
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("access_hash", sa.BigInteger(), nullable=True),
        sa.Column("joined", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_account_channels_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account", "channel_id", name=op.f("pk_account_channels")),
    )
    op.create_index(
        op.f("ix_account_channels_channel_id"), "account_channels", ["channel_id"], unique=False
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_account_channels_channel_id"), table_name="account_channels")
    op.drop_table("account_channels")
    op.drop_index(op.f("ix_channel_leases_holder_id"), table_name="channel_leases")
    op.drop_table("channel_leases")
    op.drop_table("instances")
