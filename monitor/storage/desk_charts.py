"""Reads for the desk's charts: flags per day by category and channel, rules and their precision.

Counts come from the flagged posts' own index (``ix_posts_flagged_recent``, a few percent of
the posts) and the matches' (post, category) index, so a month of flags costs the same at a
million stored posts as at a thousand. Results are plain values; SQLAlchemy stays inside
``monitor.storage``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Select, String, and_, cast, exists, func, not_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.storage.feedback import feedback_t
from monitor.storage.rows import channels_t, matches_t, posts_t

POSITIVE = ("confirmed", "missed")


OTHERS = "others"


@dataclass(frozen=True)
class DailyFlags:
    """Flagged posts of one UTC day in one series (a category, a channel or ``others``)."""

    day: date
    series: str
    posts: int


@dataclass(frozen=True)
class RuleFigures:
    """How often a rule fired, and what people said of the posts it flagged."""

    rule_id: str
    fired: int
    confirmed: int
    false_positive: int

    @property
    def precision(self) -> float | None:
        """Confirmed over judged, or None before any judgement."""
        judged = self.confirmed + self.false_positive
        return self.confirmed / judged if judged else None


def _day(engine: AsyncEngine) -> Any:
    """The post's UTC day: SQLite keeps times as text, PostgreSQL as timestamps."""
    if engine.dialect.name == "postgresql":
        return cast(posts_t.c.date, Date)
    return func.date(posts_t.c.date)


def _flagged_since(since: datetime) -> list[Any]:
    return [posts_t.c.flagged.is_(True), posts_t.c.date >= since]


def _by_category_query(day: Any, since: datetime) -> Select[Any]:
    """Flagged posts per day and category (a post counts once per category)."""
    return (
        select(day, matches_t.c.category, func.count(func.distinct(posts_t.c.id)))
        .join(matches_t, matches_t.c.post_id == posts_t.c.id)
        .where(*_flagged_since(since))
        .group_by(day, matches_t.c.category)
    )


def _per_day_query(day: Any, since: datetime, channel_ids: list[int] | None) -> Select[Any]:
    """Flagged posts per day (and channel, for ``channel_ids``), from the flagged index."""
    if channel_ids is None:
        return select(day, func.count()).where(*_flagged_since(since)).group_by(day)
    return (
        select(day, posts_t.c.channel_id, func.count())
        .where(*_flagged_since(since), posts_t.c.channel_id.in_(channel_ids))
        .group_by(day, posts_t.c.channel_id)
    )


def _busiest_query(since: datetime, top: int) -> Select[Any]:
    """The ``top`` channels with the most flagged posts since ``since``, and their names."""
    label = func.coalesce(channels_t.c.username, cast(channels_t.c.telegram_id, String))
    counts = (
        select(posts_t.c.channel_id, func.count().label("posts"))
        .where(*_flagged_since(since))
        .group_by(posts_t.c.channel_id)
        .order_by(func.count().desc(), posts_t.c.channel_id)
        .limit(top)
        .subquery()
    )
    return select(counts.c.channel_id, label).join(
        channels_t, channels_t.c.id == counts.c.channel_id
    )


def _fired_query() -> Select[Any]:
    """Matches per rule, counted from the rule index."""
    fired = func.count().label("fired")
    return select(matches_t.c.rule_id, fired).group_by(matches_t.c.rule_id)


def _judged_query() -> Select[Any]:
    """Per rule and label, the posts it flagged whose current feedback has that label.

    Driven from the feedback (a few judged posts) to their matches, never the other way.
    """
    later = feedback_t.alias("later")
    newer = exists().where(
        and_(later.c.post_id == feedback_t.c.post_id, later.c.id > feedback_t.c.id)
    )
    return (
        select(matches_t.c.rule_id, feedback_t.c.label, func.count())
        .select_from(feedback_t)
        .join(matches_t, matches_t.c.post_id == feedback_t.c.post_id)
        .where(not_(newer))
        .group_by(matches_t.c.rule_id, feedback_t.c.label)
    )


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class DeskCharts:
    """Read-only figures for the desk's charts page."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def by_category(self, since: datetime) -> list[DailyFlags]:
        """Return flagged posts per UTC day and category since ``since``."""
        query = _by_category_query(_day(self.engine), since)
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(query))
        return [DailyFlags(_as_date(day), category, int(n)) for day, category, n in rows]

    async def by_channel(self, since: datetime, top: int = 6) -> list[DailyFlags]:
        """Return flagged posts per UTC day for the ``top`` busiest channels (``@name``) and
        for all the others together (``others``)."""
        day = _day(self.engine)
        async with self.engine.connect() as conn:
            names = {row[0]: f"@{row[1]}" for row in await conn.execute(_busiest_query(since, top))}
            busiest = list(await conn.execute(_per_day_query(day, since, list(names))))
            totals = list(await conn.execute(_per_day_query(day, since, None)))
        found = [DailyFlags(_as_date(d), names[c], int(n)) for d, c, n in busiest]
        shown: dict[date, int] = {}
        for flags in found:
            shown[flags.day] = shown.get(flags.day, 0) + flags.posts
        for d, n in totals:
            rest = int(n) - shown.get(_as_date(d), 0)
            if rest:
                found.append(DailyFlags(_as_date(d), OTHERS, rest))
        return found

    async def rule_figures(self) -> list[RuleFigures]:
        """Return each rule's matches and the feedback on the posts it flagged, most first."""
        async with self.engine.connect() as conn:
            fired = {r[0]: int(r[1]) for r in await conn.execute(_fired_query())}
            judged = list(await conn.execute(_judged_query()))
        said: dict[tuple[str, bool], int] = {}
        for rule_id, label, count in judged:
            key = (rule_id, label in POSITIVE)
            said[key] = said.get(key, 0) + int(count)
        figures = [
            RuleFigures(rule, n, said.get((rule, True), 0), said.get((rule, False), 0))
            for rule, n in fired.items()
        ]
        return sorted(figures, key=lambda f: (-f.fired, f.rule_id))
