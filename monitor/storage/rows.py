"""What every query module shares: the typed tables, and stored rows turned into values.

``posts_query`` joins a post with its channel; ``post_from_row`` and ``matches_for`` turn the
rows into ``Post`` and ``Match`` values. The repository, the outbox and the browser all read
posts through these, so a post looks the same whichever of them loaded it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Row, Select, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.models import Hit, Match, Post
from monitor.storage.tables import (
    AlertRow,
    ChannelRow,
    FloodWaitRow,
    MatchRow,
    PostRow,
    RescanProgressRow,
)

channels_t = cast(Table, ChannelRow.__table__)
posts_t = cast(Table, PostRow.__table__)
matches_t = cast(Table, MatchRow.__table__)
alerts_t = cast(Table, AlertRow.__table__)
flood_t = cast(Table, FloodWaitRow.__table__)
rescan_progress_t = cast(Table, RescanProgressRow.__table__)

CHUNK = 500


class StoreBase:
    """One async engine and the dialect's INSERT (for ON CONFLICT), shared by the stores."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._insert: Any = dialect.insert


@dataclass(frozen=True)
class StoredPost:
    """A stored post with its channel and matches (best first), for browsing and export.

    ``feedback`` is the label of its current feedback (confirmed, false_positive, missed),
    where the reader asked for it.
    """

    id: int
    post: Post
    flagged: bool
    language: str | None
    matches: tuple[Match, ...]
    feedback: str | None = None


def _channel_column(column: Any) -> Any:
    """One column of the post's channel, looked up per post row.

    A lookup rather than a join: a planner may then never start from the channels and walk
    every post of each (as SQLite did at a million posts), whatever its statistics say.
    """
    found = select(column).where(channels_t.c.id == posts_t.c.channel_id)
    return found.scalar_subquery().label(column.name)


def posts_query(flagged_only: bool = False) -> Select[Any]:
    """Posts with their channel's identity, newest first."""
    query = select(
        posts_t,
        _channel_column(channels_t.c.telegram_id),
        _channel_column(channels_t.c.username),
        _channel_column(channels_t.c.title),
    ).order_by(posts_t.c.date.desc(), posts_t.c.id.desc())
    if flagged_only:
        query = query.where(posts_t.c.flagged.is_(True))
    return query


def post_from_row(row: Row[Any]) -> Post:
    """Turn a ``posts_query`` row into a ``Post``."""
    return Post(
        channel_id=row.telegram_id or 0,
        message_id=row.message_id,
        date=row.date,
        text=row.text,
        edit_date=row.edit_date,
        views=row.views,
        forwards=row.forwards,
        grouped_id=row.grouped_id,
        forward_from=row.forward_from,
        channel_username=row.username,
        channel_title=row.title,
        deleted_at=row.deleted_at,
    )


def stored_post(row: Row[Any], matches: tuple[Match, ...]) -> StoredPost:
    """Turn a ``posts_query`` row and its matches into a ``StoredPost``."""
    return StoredPost(row.id, post_from_row(row), row.flagged, row.language, matches)


async def matches_for(
    conn: AsyncConnection, post_ids: Iterable[int], *, best_first: bool = True
) -> dict[int, tuple[Match, ...]]:
    """Return each post's matches, best score first (or in the order they were stored)."""
    ids = sorted(set(post_ids))
    found: dict[int, list[Match]] = {}
    for start in range(0, len(ids), CHUNK):
        query = (
            select(matches_t)
            .where(matches_t.c.post_id.in_(ids[start : start + CHUNK]))
            .order_by(matches_t.c.id)
        )
        for row in await conn.execute(query):
            hits = tuple(
                Hit(term, span[0], span[1])
                for term, span in zip(row.terms, row.spans, strict=False)
            )
            found.setdefault(row.post_id, []).append(
                Match(row.rule_id, row.category, row.score, hits)
            )
    if best_first:
        return {key: tuple(sorted(value, key=lambda m: -m.score)) for key, value in found.items()}
    return {key: tuple(value) for key, value in found.items()}
