"""storage speed: covering and partial indexes for the read commands and retention

Revision ID: 0005_storage_speed
Revises: 0004_post_deletions
Create Date: 2026-12-04 21:30:00

``channels``, ``stats``, ``flagged`` and ``export`` read indexes instead of the posts table:
posts by channel and date with their flag (covering), flagged posts only (a few percent of
the rows, two orders), and the unflagged posts that still have their text (what retention
prunes next). The old ``(flagged, date)`` index, which every read ignored or misused, goes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_storage_speed"
down_revision: str | None = "0004_post_deletions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAGGED_ONLY = {
    "sqlite_where": sa.text("flagged IS 1"),
    "postgresql_where": sa.text("flagged IS true"),
}
UNPRUNED_ONLY = {
    "sqlite_where": sa.text("flagged IS 0 AND text != ''"),
    "postgresql_where": sa.text("flagged IS false AND text <> ''"),
}


def upgrade() -> None:
    """Apply this revision."""
    op.drop_index("ix_posts_flagged_date", table_name="posts")
    op.drop_index("ix_posts_channel_date", table_name="posts")
    op.create_index(
        "ix_posts_channel_date_flagged", "posts", ["channel_id", "date", "flagged"], unique=False
    )
    op.create_index(
        "ix_posts_flagged_recent", "posts", ["date", "id", "channel_id", "flagged"], **FLAGGED_ONLY
    )
    op.create_index("ix_posts_flagged_id", "posts", ["id", "channel_id", "flagged"], **FLAGGED_ONLY)
    op.create_index("ix_posts_unpruned_date", "posts", ["date"], **UNPRUNED_ONLY)
    op.create_index("ix_matches_post_id_category", "matches", ["post_id", "category"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_matches_post_id_category", table_name="matches")
    op.drop_index("ix_posts_unpruned_date", table_name="posts")
    op.drop_index("ix_posts_flagged_id", table_name="posts")
    op.drop_index("ix_posts_flagged_recent", table_name="posts")
    op.drop_index("ix_posts_channel_date_flagged", table_name="posts")
    op.create_index("ix_posts_channel_date", "posts", ["channel_id", "date"], unique=False)
    op.create_index("ix_posts_flagged_date", "posts", ["flagged", "date"], unique=False)
