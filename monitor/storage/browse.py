"""Read-only queries for people: flagged posts, exports, statistics, delivered alerts.

The daemon never calls these; the CLI (``flagged``, ``export``, ``stats``) and the demo do.
Results are plain values; SQLAlchemy stays inside ``monitor.storage``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, String, and_, cast, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.storage.export import ExportRow, export_columns, export_row, match_cells
from monitor.storage.feedback import latest_labels
from monitor.storage.rows import (
    StoredPost,
    alerts_t,
    channels_t,
    matches_for,
    matches_t,
    posts_query,
    posts_t,
    stored_post,
)


@dataclass(frozen=True)
class PostFilter:
    """Which posts to list: a time window, a category, a channel, a rule, a limit."""

    since: datetime | None = None
    category: str | None = None
    channel: str | None = None
    rule: str | None = None
    flagged_only: bool = True
    limit: int | None = 50


@dataclass(frozen=True)
class StatsRow:
    """Posts and flags of one channel (and category) over a period."""

    channel: str
    category: str | None
    posts: int
    flagged: int


@dataclass(frozen=True)
class DeliveredAlert:
    """An alert row that reached its sink, with its post."""

    alert_id: int
    sink: str
    sent_at: datetime | None
    kind: str
    post: StoredPost | None
    text: str | None


def _listed(names: list[str], most: int = 20) -> str:
    """`` (known: a, b, ...)`` for an error message, or `` (none stored yet)``."""
    if not names:
        return " (none stored yet)"
    more = f", ... ({len(names) - most} more)" if len(names) > most else ""
    return f" (known: {', '.join(names[:most])}{more})"


def _channel_condition(channel: str) -> Any:
    name = channel.strip().lstrip("@").lower()
    conditions = [func.lower(channels_t.c.username) == name, channels_t.c.ref == channel]
    if name.isdigit():
        conditions.append(channels_t.c.telegram_id == int(name))
    return or_(*conditions)


def filtered_query(criteria: PostFilter) -> Select[Any]:
    """Return the query for the posts ``criteria`` names, newest first."""
    query = posts_query(criteria.flagged_only)
    if criteria.since is not None:
        query = query.where(posts_t.c.date >= criteria.since)
    if criteria.channel:
        named = select(channels_t.c.id).where(_channel_condition(criteria.channel))
        query = query.where(posts_t.c.channel_id.in_(named))
    match_conditions = []
    if criteria.category:
        match_conditions.append(matches_t.c.category == criteria.category)
    if criteria.rule:
        match_conditions.append(matches_t.c.rule_id == criteria.rule)
    if match_conditions:
        query = query.where(
            exists().where(and_(matches_t.c.post_id == posts_t.c.id, *match_conditions))
        )
    if criteria.limit:
        query = query.limit(criteria.limit)
    return query


def _label() -> Any:
    """A stored post's channel as people name it: the username, else the id (never a ref,
    which may be an invite link, a secret)."""
    return func.coalesce(channels_t.c.username, cast(channels_t.c.telegram_id, String))


def _totals_query(since: datetime | None) -> Select[Any]:
    """Posts and flags per channel: counted per channel id from the covering index first,
    then named (200 rows joined, not a million)."""
    window = [posts_t.c.date >= since] if since is not None else []
    counts = (
        select(
            posts_t.c.channel_id,
            func.count().label("posts"),
            func.sum(cast(posts_t.c.flagged, Integer)).label("flagged"),
        )
        .where(*window)
        .group_by(posts_t.c.channel_id)
        .subquery()
    )
    label = _label()
    return (
        select(label, func.sum(counts.c.posts), func.sum(counts.c.flagged))
        .join(counts, counts.c.channel_id == channels_t.c.id)
        .group_by(label)
        .order_by(label)
    )


def _per_category_query(since: datetime | None) -> Select[Any]:
    """Flagged posts per channel and category, read from the flagged posts' own index."""
    window = [posts_t.c.date >= since] if since is not None else []
    channel_id = (posts_t.c.channel_id + 0).label("channel_id")  # see overview_query
    counts = (
        select(
            channel_id,
            matches_t.c.category,
            func.count(func.distinct(posts_t.c.id)).label("flagged"),
        )
        .join(matches_t, matches_t.c.post_id == posts_t.c.id)
        .where(posts_t.c.flagged.is_(True), *window)  # only flagged posts have matches
        .group_by(channel_id, matches_t.c.category)
        .subquery()
    )
    label = _label()
    return (
        select(label, counts.c.category, func.sum(counts.c.flagged))
        .join(counts, counts.c.channel_id == channels_t.c.id)
        .group_by(label, counts.c.category)
        .order_by(label, counts.c.category)
    )


def export_page_query(criteria: PostFilter, after_id: int, batch: int) -> Select[Any]:
    """The export's columns of the next ``batch`` posts ``criteria`` names after ``after_id``."""
    query = filtered_query(PostFilter(**{**vars(criteria), "limit": None}))
    query = export_columns(query.where(posts_t.c.id > after_id))
    return query.order_by(None).order_by(posts_t.c.id).limit(batch)


class Browser:
    """Read-only access to what the daemon stored."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def posts(self, criteria: PostFilter) -> list[StoredPost]:
        """Return the posts ``criteria`` names, newest first, with their matches."""
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(filtered_query(criteria)))
            matches = await matches_for(conn, [row.id for row in rows])
            labels = await latest_labels(conn, [row.id for row in rows])
        return [
            replace(stored_post(row, matches.get(row.id, ())), feedback=labels.get(row.id))
            for row in rows
        ]

    async def unknown_filter(self, criteria: PostFilter) -> str | None:
        """Say which ``channel`` or ``rule`` of ``criteria`` the database has never seen.

        A typo would otherwise list nothing and look like "no posts".
        """
        async with self.engine.connect() as conn:
            if criteria.channel:
                found = select(channels_t.c.id).where(_channel_condition(criteria.channel))
                if (await conn.execute(found.limit(1))).first() is None:
                    names = select(func.coalesce(channels_t.c.username, channels_t.c.ref))
                    known = sorted(
                        f"@{n}" if "/" not in n else n for n in await conn.scalars(names)
                    )
                    return f"--channel {criteria.channel!r}: no such channel{_listed(known)}"
            if criteria.rule:
                ids = sorted(await conn.scalars(select(matches_t.c.rule_id).distinct()))
                if criteria.rule not in ids:
                    return f"--rule {criteria.rule!r}: no stored post matched it{_listed(ids)}"
        return None

    async def export_rows(
        self, criteria: PostFilter, batch: int = 2000
    ) -> AsyncIterator[list[ExportRow]]:
        """Yield every post ``criteria`` names as export records, oldest first, per batch.

        Each batch is its own short read, keyed on the row id (flagged posts: from their own
        index), so memory stays one batch whatever the size and no read transaction stays
        open for the whole export (SQLite's WAL could not be checkpointed meanwhile).
        """
        page = await self._export_page(criteria, 0, batch)
        while page:
            # The next batch is read (in the driver's thread, or by the server) while this
            # one is written out: two batches in memory at most.
            following = (
                asyncio.ensure_future(self._export_page(criteria, page[-1][0], batch))
                if len(page) == batch
                else None
            )
            try:
                yield [record for _, record in page]
            except BaseException:  # the reader stopped early: no read left behind
                if following is not None:
                    following.cancel()
                raise
            page = await following if following is not None else []

    async def _export_page(
        self, criteria: PostFilter, after_id: int, batch: int
    ) -> list[tuple[int, ExportRow]]:
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(export_page_query(criteria, after_id, batch)))
            ids = [row[0] for row in rows]
            matches = await match_cells(conn, ids)
            labels = await latest_labels(conn, ids)
        return [
            (row[0], export_row(row, matches.get(row[0], ()), labels.get(row[0]))) for row in rows
        ]

    async def stats(self, since: datetime | None) -> list[StatsRow]:
        """Return posts and flags per channel, and flags per channel and category."""
        async with self.engine.connect() as conn:
            totals = await conn.execute(_totals_query(since))
            rows = [StatsRow(r[0], None, int(r[1]), int(r[2] or 0)) for r in totals]
            per_category = await conn.execute(_per_category_query(since))
            rows += [StatsRow(r[0], r[1], int(r[2]), int(r[2])) for r in per_category]
        return rows

    async def recent_post_dates(self, channel_id: int, limit: int = 50) -> list[datetime]:
        """Return the dates of a channel's newest posts (for its usual gap between posts)."""
        query = (
            select(posts_t.c.date)
            .where(posts_t.c.channel_id == channel_id)
            .order_by(posts_t.c.message_id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [row[0] for row in await conn.execute(query)]

    async def has_alert_key(self, key: str) -> bool:
        """Tell whether an operational alert with ``key`` was already raised."""
        query = select(func.count()).select_from(alerts_t).where(alerts_t.c.story_key == key)
        async with self.engine.connect() as conn:
            return bool((await conn.execute(query)).scalar_one())

    async def latest_alert_key(self, prefix: str) -> str | None:
        """Return the key of the newest operational alert whose key starts with ``prefix``."""
        query = (
            select(alerts_t.c.story_key)
            .where(alerts_t.c.story_key.startswith(prefix, autoescape=True))
            .order_by(alerts_t.c.id.desc())
            .limit(1)
        )
        async with self.engine.connect() as conn:
            return (await conn.execute(query)).scalar_one_or_none()

    async def delivered(self, after_id: int = 0) -> list[DeliveredAlert]:
        """Return alerts delivered (sent) with ids above ``after_id``, oldest first."""
        query = (
            select(alerts_t)
            .where(and_(alerts_t.c.id > after_id, alerts_t.c.state == "sent"))
            .order_by(alerts_t.c.id)
        )
        async with self.engine.connect() as conn:
            alerts = list(await conn.execute(query))
            post_ids = [a.post_id for a in alerts if a.post_id is not None]
            posts_rows = list(
                await conn.execute(posts_query(False).where(posts_t.c.id.in_(post_ids)))
            )
            matches = await matches_for(conn, post_ids)
        posts = {row.id: stored_post(row, matches.get(row.id, ())) for row in posts_rows}
        return [
            DeliveredAlert(
                a.id,
                a.sink,
                a.sent_at,
                a.kind,
                posts.get(a.post_id) if a.post_id is not None else None,
                (a.payload or {}).get("text"),
            )
            for a in alerts
        ]
