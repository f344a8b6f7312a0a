"""alert delivery ids (webhook idempotency keys) and each channel's missed-by-live count

Revision ID: 0003_delivery_ids_missed_by_live
Revises: 0002_post_errors
Create Date: 2026-12-04 21:10:00

``alerts.delivery_id`` is a UUID per alert row, unique across databases, that webhooks send
(signed) as ``X-Monitor-Delivery``; rows that exist already get one here. It stays nullable
so SQLite needs no table rebuild; the application always sets it.
``channels.missed_by_live`` counts the posts the sweep found that live updates should have
delivered, for ``monitor channels``.
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_delivery_ids_missed_by_live"
down_revision: str | None = "0002_post_errors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_alerts = sa.table("alerts", sa.column("id", sa.Integer), sa.column("delivery_id", sa.String))


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("alerts", sa.Column("delivery_id", sa.String(length=36), nullable=True))
    connection = op.get_bind()
    ids = [row[0] for row in connection.execute(sa.select(_alerts.c.id))]
    if ids:
        connection.execute(
            _alerts.update()
            .where(_alerts.c.id == sa.bindparam("row_id"))
            .values(delivery_id=sa.bindparam("uuid")),
            [{"row_id": row_id, "uuid": str(uuid.uuid4())} for row_id in ids],
        )
    op.create_index(op.f("ix_alerts_delivery_id"), "alerts", ["delivery_id"], unique=True)
    op.add_column(
        "channels",
        sa.Column("missed_by_live", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("missed_by_live")
    op.drop_index(op.f("ix_alerts_delivery_id"), table_name="alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("delivery_id")
