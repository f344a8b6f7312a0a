"""The desk's charts: flags per day (by category, by channel), channel health, busiest rules.

Read-only, for the web desk and any command that wants the same figures. Every query starts
from the index of flagged posts (a few percent of the rows, by date) or from the channels
table, never from all posts, so each answers in well under 300 ms at a million posts (see
``benchmarks/bench_desk.py``). Days are UTC days. Rule precision comes from the ``feedback``
table when the store has one (the feedback work adds it): of the posts a rule matched that a
person judged, the share confirmed. Results are plain values; SQLAlchemy stays inside
``monitor.storage``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, Select, cast, column, func, inspect, select, table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.storage.channel_state import overview_query
from monitor.storage.rows import channels_t, flood_t, matches_t, posts_t
from monitor.storage.tables import utcnow

# The feedback table (migration 0006_feedback), named here so these queries need nothing of
# its model: when the store has no such table, precision is simply unknown.
FEEDBACK = table("feedback", column("id"), column("post_id"), column("label"))
JUDGED = ("confirmed", "false_positive")


@dataclass(frozen=True)
class DayCount:
    """Flagged posts of one UTC day and one category or channel."""

    day: dt.date
    key: str
    count: int


@dataclass(frozen=True)
class ChannelHealth:
    """One channel's state as the desk shows it."""

    channel: str
    title: str | None
    status: str
    last_post_at: dt.datetime | None
    last_polled_at: dt.datetime | None
    lag_seconds: float | None  # since the last successful poll (None: never polled)
    last_error: str | None
    failed_cycles: int
    flood_wait_until: dt.datetime | None
    flagged: int
    post_errors: int
    missed_by_live: int


@dataclass(frozen=True)
class Health:
    """Every channel's health and the flood waits Telegram imposed that are still running."""

    channels: list[ChannelHealth]
    flood_waits: dict[str, dt.datetime]


@dataclass(frozen=True)
class RuleActivity:
    """How often a rule fired on posts of a period, and how people judged its posts."""

    rule_id: str
    category: str
    posts: int
    confirmed: int
    false_positives: int

    @property
    def precision(self) -> float | None:
        """Confirmed over judged (None when no post of the rule was judged)."""
        judged = self.confirmed + self.false_positives
        return self.confirmed / judged if judged else None


def _day(engine: AsyncEngine) -> Any:
    if engine.dialect.name == "postgresql":
        return cast(posts_t.c.date, Date).label("day")
    return func.date(posts_t.c.date).label("day")


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _flagged_between(query: Select[Any], since: dt.datetime, until: dt.datetime) -> Select[Any]:
    """Flagged posts of [since, until): the condition the flagged index's rows satisfy."""
    return query.where(posts_t.c.flagged.is_(True), posts_t.c.date >= since, posts_t.c.date < until)


def per_category_query(engine: AsyncEngine, since: dt.datetime, until: dt.datetime) -> Any:
    """Flagged posts per day and category (a post counts once per category it has)."""
    pairs = _flagged_between(
        select(_day(engine), matches_t.c.category, posts_t.c.id)
        .distinct()
        .join(matches_t, matches_t.c.post_id == posts_t.c.id),
        since,
        until,
    ).subquery()
    return (
        select(pairs.c.day, pairs.c.category, func.count())
        .group_by(pairs.c.day, pairs.c.category)
        .order_by(pairs.c.day, pairs.c.category)
    )


def per_channel_query(engine: AsyncEngine, since: dt.datetime, until: dt.datetime) -> Any:
    """Flagged posts per day and channel (read from the flagged posts' index alone)."""
    day = _day(engine)
    query = select(day, posts_t.c.channel_id, func.count()).group_by(day, posts_t.c.channel_id)
    return _flagged_between(query, since, until).order_by(day, posts_t.c.channel_id)


async def _channel_names(conn: AsyncConnection) -> dict[int, str]:
    query = select(channels_t.c.id, channels_t.c.username, channels_t.c.ref)
    return {row.id: row.username or row.ref for row in await conn.execute(query)}


async def flags_per_day(
    engine: AsyncEngine,
    since: dt.datetime,
    until: dt.datetime | None = None,
    *,
    by: str = "category",
) -> list[DayCount]:
    """Return flagged posts per UTC day in [since, until) by ``category`` or ``channel``.

    Days without flags are absent (a chart fills them with zero).

    Raises:
        ValueError: ``by`` is neither ``category`` nor ``channel``.
    """
    end = until or utcnow()
    if by not in ("category", "channel"):
        raise ValueError(f"flags_per_day: by must be category or channel, not {by!r}")
    async with engine.connect() as conn:
        if by == "category":
            rows = list(await conn.execute(per_category_query(engine, since, end)))
            return [DayCount(_as_date(day), key, count) for day, key, count in rows]
        rows = list(await conn.execute(per_channel_query(engine, since, end)))
        names = await _channel_names(conn)
    return [DayCount(_as_date(day), names.get(key, str(key)), count) for day, key, count in rows]


def _health(row: Any, now: dt.datetime) -> ChannelHealth:
    polled = row.last_polled_at
    return ChannelHealth(
        channel=row.username or row.ref,
        title=row.title,
        status=row.status,
        last_post_at=row.last_post_at,
        last_polled_at=polled,
        lag_seconds=None if polled is None else max((now - polled).total_seconds(), 0.0),
        last_error=row.last_error,
        failed_cycles=int(row.failed_cycles or 0),
        flood_wait_until=row.flood_wait_until,
        flagged=int(row.flagged or 0),
        post_errors=int(row.post_errors or 0),
        missed_by_live=int(row.missed_by_live or 0),
    )


async def channel_health(engine: AsyncEngine, now: dt.datetime | None = None) -> Health:
    """Return every channel's health (as ``monitor channels`` counts it) and the flood waits
    still in force at ``now``."""
    moment = now or utcnow()
    async with engine.connect() as conn:
        rows = list(await conn.execute(overview_query()))
        waits = select(flood_t.c.method, flood_t.c.until).where(flood_t.c.until > moment)
        floods = {row.method: row.until for row in await conn.execute(waits)}
    return Health([_health(row, moment) for row in rows], floods)


def rule_posts_query(since: dt.datetime, until: dt.datetime, limit: int) -> Any:
    """The rules that matched the most flagged posts of [since, until), busiest first."""
    posts = func.count().label("posts")
    query = (
        select(matches_t.c.rule_id, func.max(matches_t.c.category).label("category"), posts)
        .join(posts_t, posts_t.c.id == matches_t.c.post_id)
        .group_by(matches_t.c.rule_id)
        .order_by(posts.desc(), matches_t.c.rule_id)
        .limit(limit)
    )
    return _flagged_between(query, since, until)


def judged_query(rule_ids: list[str]) -> Any:
    """Each rule's matched posts by their current feedback label (the post's newest row)."""
    newest = select(func.max(FEEDBACK.c.id).label("id")).group_by(FEEDBACK.c.post_id).subquery()
    current = (
        select(FEEDBACK.c.post_id, FEEDBACK.c.label)
        .join(newest, newest.c.id == FEEDBACK.c.id)
        .where(FEEDBACK.c.label.in_(JUDGED))
        .subquery()
    )
    return (
        select(matches_t.c.rule_id, current.c.label, func.count())
        .join(current, current.c.post_id == matches_t.c.post_id)
        .where(matches_t.c.rule_id.in_(rule_ids))
        .group_by(matches_t.c.rule_id, current.c.label)
    )


async def _has_feedback(conn: AsyncConnection) -> bool:
    return bool(await conn.run_sync(lambda sync: inspect(sync).has_table("feedback")))


async def _judged(conn: AsyncConnection, rule_ids: list[str]) -> dict[tuple[str, str], int]:
    if not rule_ids or not await _has_feedback(conn):
        return {}
    return {
        (rule, label): count for rule, label, count in await conn.execute(judged_query(rule_ids))
    }


async def top_rules(
    engine: AsyncEngine,
    since: dt.datetime,
    until: dt.datetime | None = None,
    *,
    limit: int = 20,
) -> list[RuleActivity]:
    """Return the rules that flagged the most posts of [since, until), with their feedback
    counts (all time: judgements are few) for precision."""
    async with engine.connect() as conn:
        rows = list(await conn.execute(rule_posts_query(since, until or utcnow(), limit)))
        judged = await _judged(conn, [row.rule_id for row in rows])
    return [
        RuleActivity(
            row.rule_id,
            row.category,
            int(row.posts),
            judged.get((row.rule_id, "confirmed"), 0),
            judged.get((row.rule_id, "false_positive"), 0),
        )
        for row in rows
    ]
