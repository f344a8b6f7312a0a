"""Reads for the analyst's desk: flagged posts a page at a time, one post, its story's peers.

The desk lists flagged posts newest first with keyset paging: a page ends at a (date, id)
cursor and the next one starts below it, so page 1000 costs what page 1 costs (an OFFSET would
walk every skipped row). Filters are a category, a channel or the channels of a tag, a time
range and the post's current feedback. Results are plain values; SQLAlchemy stays inside
``monitor.storage``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.storage.browse import _channel_condition
from monitor.storage.feedback import feedback_t
from monitor.storage.retention import EMPTY
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
from monitor.storage.tables import UTCDateTime

FEEDBACK_STATES = ("none", "confirmed", "false_positive", "missed")


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the (date, id) of its last post; the next page starts below."""

    date: datetime
    post_id: int


@dataclass(frozen=True)
class DeskFilter:
    """Which flagged posts a desk page lists."""

    category: str | None = None
    channel: str | None = None
    tagged: tuple[str, ...] | None = None  # the channels (references) of a tag
    since: datetime | None = None
    until: datetime | None = None
    feedback: str | None = None
    after: Cursor | None = None
    limit: int = 50
    flagged: bool = True  # False: the posts the rules did not flag (where missed stories are)


@dataclass(frozen=True)
class DeskPage:
    """One page of posts and the cursor of the next page (None on the last one)."""

    posts: list[StoredPost]
    next: Cursor | None


@dataclass(frozen=True)
class StoryPeer:
    """Another post of the same story: its channel and link."""

    post_id: int
    channel: str
    link: str


def _current_feedback(label: str) -> Any:
    """The post's newest feedback row has ``label``."""
    later = feedback_t.alias("later")
    newer = exists().where(and_(later.c.post_id == posts_t.c.id, later.c.id > feedback_t.c.id))
    return exists().where(
        and_(feedback_t.c.post_id == posts_t.c.id, feedback_t.c.label == label, not_(newer))
    )


def _feedback_condition(state: str) -> Any:
    if state == "none":
        return not_(exists().where(feedback_t.c.post_id == posts_t.c.id))
    return _current_feedback(state)


def _below(cursor: Cursor) -> Any:
    """Posts after ``cursor`` in the list's order, as one row comparison: both databases
    then walk the (date, id) index from the cursor on (an OR of two conditions made
    PostgreSQL filter from the top)."""
    return tuple_(posts_t.c.date, posts_t.c.id) < tuple_(
        literal(cursor.date, UTCDateTime()), literal(cursor.post_id)
    )


def page_query(criteria: DeskFilter, channel_ids: list[int] | None = None) -> Select[Any]:
    """The posts ``criteria`` names, newest first, one more than a page.

    ``channel_ids`` are the channels the channel and tag filters name, looked up beforehand:
    a list of ids lets the planner walk each channel's (channel, date) index, where a
    subquery made SQLite and PostgreSQL walk every post by date and test its channel.
    """
    query = posts_query(flagged_only=criteria.flagged)
    conditions = []
    if not criteria.flagged:  # as ix_posts_unpruned_date has it: unflagged, text kept
        conditions += [posts_t.c.flagged.is_(False), posts_t.c.text != EMPTY]
    if criteria.since is not None:
        conditions.append(posts_t.c.date >= criteria.since)
    if criteria.until is not None:
        conditions.append(posts_t.c.date < criteria.until)
    if criteria.after is not None:
        conditions.append(_below(criteria.after))
    if channel_ids is not None:
        conditions.append(posts_t.c.channel_id.in_(channel_ids))
    if criteria.category:
        conditions.append(
            exists().where(
                and_(matches_t.c.post_id == posts_t.c.id, matches_t.c.category == criteria.category)
            )
        )
    if criteria.feedback in FEEDBACK_STATES:
        conditions.append(_feedback_condition(criteria.feedback))
    return query.where(*conditions).limit(criteria.limit + 1)


def _channels_query(criteria: DeskFilter) -> Select[Any] | None:
    """The ids of the channels the channel and tag filters name (None: no such filter)."""
    conditions = []
    if criteria.channel:
        conditions.append(_channel_condition(criteria.channel))
    if criteria.tagged is not None:
        conditions.append(or_(false(), *(_channel_condition(ref) for ref in criteria.tagged)))
    return select(channels_t.c.id).where(*conditions) if conditions else None


def _peers_query(post_ids: list[int]) -> Select[Any]:
    """The posts whose alerts share a story root with the alerts of ``post_ids``."""
    root = func.coalesce(alerts_t.c.merged_into, alerts_t.c.id)
    roots = select(root).where(alerts_t.c.post_id.in_(post_ids), alerts_t.c.kind == "post")
    mine = select(alerts_t.c.post_id, root.label("root")).where(
        alerts_t.c.post_id.in_(post_ids), alerts_t.c.kind == "post"
    )
    members = (
        select(alerts_t.c.post_id, root.label("root"))
        .where(or_(alerts_t.c.id.in_(roots), alerts_t.c.merged_into.in_(roots)))
        .subquery()
    )
    mine_q = mine.subquery()
    return (
        select(mine_q.c.post_id.label("of"), members.c.post_id.label("peer"))
        .join(members, members.c.root == mine_q.c.root)
        .where(members.c.post_id != mine_q.c.post_id)
        .distinct()
    )


class DeskReader:
    """Read-only access for the web desk."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def flagged_page(self, criteria: DeskFilter) -> DeskPage:
        """Return one page of flagged (or unflagged) posts, newest first, and the next page's
        cursor."""
        async with self.engine.connect() as conn:
            named = _channels_query(criteria)
            ids = None if named is None else list(await conn.scalars(named))
            rows = [] if ids == [] else list(await conn.execute(page_query(criteria, ids)))
            shown = rows[: criteria.limit]
            matches = await matches_for(conn, [row.id for row in shown])
        posts = [stored_post(row, matches.get(row.id, ())) for row in shown]
        last = shown[-1] if len(rows) > criteria.limit else None
        return DeskPage(posts, Cursor(last.date, last.id) if last is not None else None)

    async def posts_by_id(self, post_ids: Iterable[int]) -> list[StoredPost]:
        """Return the stored posts with these ids (any, flagged or not), newest first."""
        ids = sorted(set(post_ids))
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(posts_query().where(posts_t.c.id.in_(ids))))
            matches = await matches_for(conn, ids)
        return [stored_post(row, matches.get(row.id, ())) for row in rows]

    async def story_peers(self, post_ids: Iterable[int]) -> dict[int, list[StoryPeer]]:
        """Return, per post, the other posts its story's alerts were merged with."""
        ids = sorted(set(post_ids))
        if not ids:
            return {}
        async with self.engine.connect() as conn:
            pairs = list(await conn.execute(_peers_query(ids)))
        peers = {p.id: p for p in await self.posts_by_id(pair.peer for pair in pairs)}
        found: dict[int, list[StoryPeer]] = {}
        for pair in pairs:
            peer = peers.get(pair.peer)
            if peer is not None:
                label = peer.post.channel_username or str(peer.post.channel_id)
                found.setdefault(pair.of, []).append(StoryPeer(peer.id, label, peer.post.link))
        return found

    async def channel_names(self) -> list[str]:
        """Return the stored channels' usernames (else Telegram ids), sorted."""
        query = select(channels_t.c.username, channels_t.c.telegram_id)
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(query))
        return sorted(r.username or str(r.telegram_id) for r in rows if r.username or r.telegram_id)
