"""Feedback: people's judgements of stored posts, and the labelled posts they make for the rules.

Every judgement is a row (who, when, label, category); the newest row of a post is its
current state, the older ones its history. ``labelled_posts`` turns the current states into
examples for ``monitor rules eval --feedback`` and ``rules train --feedback``. Mutes live in
``mutes`` and are reached through the same ``FeedbackStore``. Values in and out are plain
dataclasses; SQLAlchemy does not leak out of this package.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import String, Table, func, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.errors import FeedbackError
from monitor.rules.schema import CATEGORIES
from monitor.storage.mutes import Mute, MuteStore, channel_named
from monitor.storage.rows import CHUNK, alerts_t, channels_t, matches_for, posts_t
from monitor.storage.tables import FeedbackRow, utcnow

__all__ = [
    "LABELS",
    "AlertOrigin",
    "Feedback",
    "FeedbackStore",
    "LabelledPost",
    "Mute",
    "check_feedback",
]

feedback_t = cast(Table, FeedbackRow.__table__)

LABELS: tuple[str, ...] = ("confirmed", "false_positive", "missed")


@dataclass(frozen=True)
class Feedback:
    """One judgement of a post: ``label`` with its ``category`` (for confirmed and missed)."""

    id: int
    post_id: int
    label: str
    category: str | None
    who: str
    at: datetime
    note: str | None = None


@dataclass(frozen=True)
class AlertOrigin:
    """What an alert (outbox row) was about: its sink, the sink's reference, the post and
    the post's channel as a mute names it (username, else Telegram id)."""

    alert_id: int
    sink: str
    external_id: str | None
    post_id: int
    channel: str


class LabelledPost(NamedTuple):
    """A judged post as an example for the rules: its text, whether it is a story, which."""

    text: str
    positive: bool
    category: str | None
    language: str | None
    post_id: int = 0


def check_feedback(label: str, category: str | None) -> str | None:
    """Validate a label and its category; return the category to store (None for none).

    ``missed`` needs a category; ``confirmed`` may correct the post's category;
    ``false_positive`` takes none.

    Raises:
        FeedbackError: the label or category is unknown, or the pair does not fit.
    """
    if label not in LABELS:
        raise FeedbackError(f"unknown feedback label {label!r}; use one of {', '.join(LABELS)}")
    category = category.strip().lower() if category and category.strip() else None
    if category is not None and category not in CATEGORIES:
        raise FeedbackError(f"unknown category {category!r}; use one of {', '.join(CATEGORIES)}")
    if label == "missed" and category is None:
        raise FeedbackError(
            f"a missed story needs its category; give one of {', '.join(CATEGORIES)}"
        )
    if label == "false_positive" and category is not None:
        raise FeedbackError("a false positive takes no category; leave it out")
    return category


def cast_text(column: Any) -> Any:
    """``column`` as text (a Telegram id as a mute names the channel)."""
    return sql_cast(column, String)


def _feedback(row: Any) -> Feedback:
    return Feedback(row.id, row.post_id, row.label, row.category, row.who, row.at, row.note)


def _latest_ids(post_ids: list[int] | None = None) -> Any:
    """The id of each post's newest feedback row (of ``post_ids``, or of every post)."""
    query = select(func.max(feedback_t.c.id)).group_by(feedback_t.c.post_id)
    if post_ids is not None:
        query = query.where(feedback_t.c.post_id.in_(post_ids))
    return query


async def latest_labels(conn: AsyncConnection, post_ids: Iterable[int]) -> dict[int, str]:
    """Return the current feedback label of each of ``post_ids`` that has one."""
    ids = sorted(set(post_ids))
    found: dict[int, str] = {}
    for start in range(0, len(ids), CHUNK):
        latest = _latest_ids(ids[start : start + CHUNK])
        query = select(feedback_t.c.post_id, feedback_t.c.label).where(feedback_t.c.id.in_(latest))
        found.update((row.post_id, row.label) for row in await conn.execute(query))
    return found


class FeedbackStore(MuteStore):
    """Recording and reading feedback, and the mutes (see ``MuteStore``)."""

    async def record_feedback(
        self,
        post_id: int,
        label: str,
        category: str | None = None,
        who: str = "api",
        *,
        note: str | None = None,
        now: datetime | None = None,
    ) -> Feedback:
        """Record a judgement of a stored post; it becomes the post's current feedback.

        Raises:
            FeedbackError: bad label or category (see ``check_feedback``), or no such post.
        """
        stored_category = check_feedback(label, category)
        moment = now or utcnow()
        values: dict[str, Any] = {
            "post_id": post_id,
            "label": label,
            "category": stored_category,
            "who": who[:255],
            "at": moment,
            "note": note,
        }
        async with self.engine.begin() as conn:
            found = await conn.execute(select(posts_t.c.id).where(posts_t.c.id == post_id))
            if found.first() is None:
                raise FeedbackError(f"no stored post with id {post_id}")
            inserted = await conn.execute(
                feedback_t.insert().values(**values).returning(feedback_t.c.id)
            )
            feedback_id = int(inserted.scalar_one())
        return Feedback(feedback_id, **values)

    async def feedback_for(self, post_ids: Iterable[int]) -> dict[int, Feedback]:
        """Return the current feedback of each of ``post_ids`` that has any."""
        ids = sorted(set(post_ids))
        found: dict[int, Feedback] = {}
        async with self.engine.connect() as conn:
            for start in range(0, len(ids), CHUNK):
                latest = _latest_ids(ids[start : start + CHUNK])
                query = select(feedback_t).where(feedback_t.c.id.in_(latest))
                found.update((row.post_id, _feedback(row)) for row in await conn.execute(query))
        return found

    async def feedback_history(self, post_id: int) -> list[Feedback]:
        """Return every judgement of a post, oldest first (the last is its current state)."""
        query = select(feedback_t).where(feedback_t.c.post_id == post_id).order_by(feedback_t.c.id)
        async with self.engine.connect() as conn:
            return [_feedback(row) for row in await conn.execute(query)]

    async def alert_origin(self, alert_id: int) -> AlertOrigin | None:
        """Return what alert ``alert_id`` was about (None: no such alert about a post)."""
        channel = func.coalesce(channels_t.c.username, cast_text(channels_t.c.telegram_id))
        query = (
            select(alerts_t.c.sink, alerts_t.c.external_id, alerts_t.c.post_id, channel)
            .join(posts_t, posts_t.c.id == alerts_t.c.post_id)
            .join(channels_t, channels_t.c.id == posts_t.c.channel_id)
            .where(alerts_t.c.id == alert_id)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return AlertOrigin(alert_id, row[0], row[1], int(row[2]), str(row[3]).lower())

    async def post_id_of(self, channel: str, message_id: int) -> int | None:
        """Return the row id of a channel's stored post (``@name``, name or id), if stored."""
        query = select(posts_t.c.id).where(
            posts_t.c.message_id == message_id,
            posts_t.c.channel_id.in_(select(channels_t.c.id).where(channel_named(channel))),
        )
        async with self.engine.connect() as conn:
            return (await conn.execute(query.limit(1))).scalar_one_or_none()

    async def labelled_posts(self, batch: int = CHUNK) -> AsyncIterator[LabelledPost]:
        """Yield each judged post, by post id, as an example for evaluation and training.

        Confirmed is a positive of the category given, else the post's best match's; missed
        is a positive of its category; false positive is a negative. Posts whose text
        retention removed are left out (nothing to learn from).
        """
        after = 0
        while True:
            async with self.engine.connect() as conn:
                page = await _labelled_page(conn, after, batch)
            for example in page[1]:
                yield example
            if page[0] is None:
                return
            after = page[0]


async def _labelled_page(
    conn: AsyncConnection, after: int, batch: int
) -> tuple[int | None, list[LabelledPost]]:
    """One page of ``labelled_posts``: the last post id read (None at the end) and examples."""
    query = (
        select(feedback_t.c.post_id, feedback_t.c.label, feedback_t.c.category)
        .add_columns(posts_t.c.text, posts_t.c.language)
        .join(posts_t, posts_t.c.id == feedback_t.c.post_id)
        .where(feedback_t.c.id.in_(_latest_ids()), feedback_t.c.post_id > after)
        .order_by(feedback_t.c.post_id)
        .limit(batch)
    )
    rows = list(await conn.execute(query))
    confirmed = [row.post_id for row in rows if row.label == "confirmed" and not row.category]
    matches = await matches_for(conn, confirmed)
    examples = [
        LabelledPost(
            row.text,
            row.label != "false_positive",
            row.category or next((m.category for m in matches.get(row.post_id, ())), None),
            row.language,
            row.post_id,
        )
        for row in rows
        if row.text
    ]
    last = rows[-1].post_id if len(rows) == batch else None
    return last, examples
