"""Deleted posts: recording that a channel deleted stored posts, and what was alerted of them.

A deleted post stays stored, with ``deleted_at`` set (``monitor flagged`` and ``export`` mark
it). Recording a deletion is idempotent: the live update and the sweep's re-read may both
report it, and only the first write queues, for every alert already delivered about the post,
one ``deletion`` outbox row (the dispatcher then edits or follows up that alert). An alert
still waiting needs none: it is rendered with the deletion when it goes out.
SQLAlchemy does not leak out of this package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.models import Channel, Post
from monitor.storage.rows import StoreBase, alerts_t, posts_t
from monitor.storage.tables import utcnow

DELETION = "deletion"
# Alerts that went out and can be corrected: sent alone (editable) or inside a digest.
_DELIVERED = ("sent", "digested")


@dataclass
class DeletionResult:
    """What one ``record_deletions`` changed: posts newly marked, and deletion rows queued."""

    message_ids: list[int] = field(default_factory=list)
    flagged_message_ids: list[int] = field(default_factory=list)
    notices: int = 0


class Deletions(StoreBase):
    """Reads and writes about posts a channel deleted."""

    async def stored_dates(self, channel_id: int, low: int, high: int) -> dict[int, datetime]:
        """Return the dates of the stored, not deleted posts with ``low <= message id < high``."""
        query = select(posts_t.c.message_id, posts_t.c.date).where(
            posts_t.c.channel_id == channel_id,
            posts_t.c.message_id >= low,
            posts_t.c.message_id < high,
            posts_t.c.deleted_at.is_(None),
        )
        async with self.engine.connect() as conn:
            return {row.message_id: row.date for row in await conn.execute(query)}

    async def record_deletions(
        self, channel: Channel, message_ids: Sequence[int], *, now: datetime | None = None
    ) -> DeletionResult:
        """Mark the channel's stored posts among ``message_ids`` deleted, in one transaction.

        Ids that are not stored, or already marked, change nothing. For each alert already
        delivered about a newly deleted post, one ``deletion`` row is queued for its sink.
        """
        result = DeletionResult()
        if not message_ids:
            return result
        moment = now or utcnow()
        async with self.engine.begin() as conn:
            marked = await conn.execute(
                update(posts_t)
                .where(
                    posts_t.c.channel_id == channel.id,
                    posts_t.c.message_id.in_(sorted(set(message_ids))),
                    posts_t.c.deleted_at.is_(None),
                )
                .values(deleted_at=moment)
                .returning(posts_t.c.id, posts_t.c.message_id, posts_t.c.flagged)
            )
            rows = list(marked)
            result.message_ids = sorted(row.message_id for row in rows)
            flagged = {row.id: row.message_id for row in rows if row.flagged}
            result.flagged_message_ids = sorted(flagged.values())
            result.notices = await self._queue_notices(conn, channel, flagged, moment)
        return result

    async def _queue_notices(
        self, conn: AsyncConnection, channel: Channel, flagged: dict[int, int], now: datetime
    ) -> int:
        if not flagged:
            return 0
        delivered = await conn.execute(
            select(alerts_t.c.id, alerts_t.c.sink, alerts_t.c.post_id).where(
                and_(
                    alerts_t.c.post_id.in_(sorted(flagged)),
                    alerts_t.c.kind == "post",
                    alerts_t.c.state.in_(_DELIVERED),
                )
            )
        )
        rows = [_notice_row(channel, row, flagged[row.post_id], now) for row in delivered]
        if rows:
            await conn.execute(alerts_t.insert(), rows)
        return len(rows)


def _notice_row(channel: Channel, alert: Any, message_id: int, now: datetime) -> dict[str, Any]:
    link = Post(channel.telegram_id or 0, message_id, now, "", channel_username=channel.username)
    text = f"The channel {channel.label} deleted the post {link.link} (alert {alert.id})."
    return {
        "post_id": None,  # the alert row holds the post; (post, sink) is unique
        "sink": alert.sink,
        "kind": DELETION,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "story_key": f"deleted:{alert.post_id}",
        "payload": {"text": text, "alert_id": alert.id, "post_id": alert.post_id},
        "created_at": now,
    }
